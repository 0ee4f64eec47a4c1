"""Correction (更正) of the published sample through the real adapters and the sandbox.

The new version replaces the portal page, WeChat and Weibo get the corrected post and the
old one is deleted once (after the new one settled), SMS subscribers hear of it only when the
change is material; the reviewer sees the difference of the two versions.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from sandbox_world import Clock, drain, posts

from hub.queue.states import State

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("material", [False, True])
def test_a_correction_replaces_each_post_once_and_tells_sms_only_when_material(published: tuple[str, list[int]],
                                                                               sandbox: Any,
                                                                               material: bool) -> None:
    from hub.app import deliveries
    from hub.app.lifecycle import version_diff
    from hub.queue.demo import CORRECTION_TEXT, corrected_sample
    from hub.store.db import session_scope
    from hub.store.models import VersionRow
    from hub.web import queries

    first, _ = published
    new = corrected_sample(first, echo=lambda _m: None)
    with session_scope() as s:
        row = s.get(VersionRow, new)
        assert row is not None
        diff = version_diff(s, row)
    assert any(line.startswith("+") and CORRECTION_TEXT in line for line in diff)
    done = deliveries.publish(new, actor="office", material=material)
    rows = drain(done.ids, clock=Clock())
    by = Counter((r.purpose, r.channel) for r in rows.values())
    expected = {("correct", "web"), ("correct", "wechat"), ("correct", "weibo"), ("withdraw", "wechat"),
                ("withdraw", "weibo")} | ({("correct", "sms"), ("correct", "newspaper")} if material else set())
    assert set(by) == expected and set(by.values()) == {1}
    assert {r.state for r in rows.values()} == {State.CONFIRMED}, \
        {(r.purpose, r.channel): (r.state, r.last_error_msg) for r in rows.values()}
    deleted = Counter(m["channel"] for m in sandbox.messages() if m["kind"] == "delete")
    assert deleted == Counter({"wechat": 1, "weibo": 1})
    counts = posts(sandbox)
    assert Counter(c for c, _, _ in counts.elements() if c in ("wechat", "weibo")) == Counter({"wechat": 2, "weibo": 2})
    sms_per_number = Counter(p for c, _, p in counts.elements() if c == "sms")
    assert set(sms_per_number.values()) == ({2} if material else {1})
    corrected = [m for m in sandbox.messages("sms", "sms") if "已更正" in str(m["content"]["text"])]
    assert len(corrected) == (len(sms_per_number) if material else 0)  # the correction notice, once a number
    with session_scope() as s:
        shown = queries.published_version(s, row.record_id)
        assert shown is not None and shown.version == new


def test_the_portal_shows_the_correction_note_and_links_the_earlier_version(published: tuple[str, list[int]]) -> None:
    import warnings

    from hub.app import deliveries
    from hub.queue.demo import CORRECTION_TEXT, corrected_sample
    from hub.web.app import create_app

    first, _ = published
    new = corrected_sample(first, echo=lambda _m: None)
    done = deliveries.publish(new, actor="office")
    drain(done.ids, clock=Clock())
    with warnings.catch_warnings():  # starlette warns that its TestClient moves to httpx2 (as tests/web does)
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient
    client = TestClient(create_app(warm_search=False), base_url="http://127.0.0.1")
    page = client.get(f"/records/{done.record_id}")
    assert page.status_code == 200 and "更正说明" in page.text and CORRECTION_TEXT in page.text
    from hub.settings import get_settings

    static = (get_settings().site_dir / "records" / done.record_id / "index.html").read_text("utf-8")
    assert "更正说明：本信息已于" in static and CORRECTION_TEXT in static  # the static site's copy says so too
    assert f"/records/{done.record_id}?v={first[:12]}" in static
    old = client.get(f"/records/{done.record_id}", params={"v": first[:12]})
    assert old.status_code == 200 and "此为更正前的版本" in old.text and CORRECTION_TEXT not in old.text
