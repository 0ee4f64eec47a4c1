"""/tv offers only packages of live versions; withdrawn and superseded ones are shown as such."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
from videokit import small_station_env

with warnings.catch_warnings():  # starlette warns that its TestClient will move to httpx2 (as tests/web does)
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from hub.store.db import session_scope
from hub.store.models import DeliveryRow

DEPT = "汉阴县人民政府办公室"
TOKEN = "tv-pickup-token-for-tests"


def _publish(text: str) -> tuple[str, int]:
    """A version saved, approved and published to tv, its delivery sent (the package rendered)."""
    from hub import workflow
    from hub.queue.deliver import deliver_one
    from hub.queue.publish import publish
    from hub.record import Paragraph, Record, Stage

    record = Record(id="t-tv-live", title="关于调整城乡低保标准的通知", department=DEPT, stage=Stage.DECISION,
                    body=[Paragraph(text=text)])
    with session_scope() as s:
        row = workflow.save_draft(s, record, actor="system")
        workflow.submit(s, row, "system")
        workflow.approve(s, row, "reviewer")
        version = row.version
    with session_scope() as s:
        (delivery,) = publish(s, version, actor="system", channels=["tv"])
        delivery_id = delivery.id
    deliver_one(delivery_id)
    with session_scope() as s:
        d = s.get(DeliveryRow, delivery_id)
        assert d is not None and d.state == "submitted", (d and d.state, d and d.last_error_msg)
    return version, delivery_id


@pytest.mark.slow
def test_only_live_packages_are_offered_and_retired_ones_say_why(
        tmp_path: Path, hub_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from hub import auth, workflow
    from hub.web.app import create_app
    from hub.web.tv import RETIRED_WORDS

    small_station_env(tmp_path, hub_home, monkeypatch)
    monkeypatch.setenv("HUB_TV_PICKUP_TOKEN", TOKEN)
    with session_scope() as s:
        auth.add_user(s, "reviewer", "reviewer", DEPT, "video-reviewer")
        auth.add_user(s, "clerk", "office", DEPT, "video-clerk")
    old, old_id = _publish("城市低保标准提高到每人每月720元。")
    new, new_id = _publish("城市低保标准提高到每人每月760元。")
    client = TestClient(create_app(warm_search=False), base_url="http://127.0.0.1")
    head = {"Authorization": f"Bearer {TOKEN}"}

    page = client.get("/tv", headers=head).text
    live, _, retired = page.partition("已撤回或已被新版本替代")
    assert f"/tv/{new_id}/download" in live and f"/tv/{old_id}/download" not in page
    assert RETIRED_WORDS["superseded"] in retired
    assert client.get(f"/tv/{old_id}/download", headers=head).status_code == 404
    assert client.get(f"/tv/{new_id}/download", headers=head).status_code == 200

    with session_scope() as s:
        workflow.withdraw(s, new, "clerk", "发文有误")
    page = client.get("/tv", headers=head).text
    assert f"/tv/{new_id}/download" not in page and RETIRED_WORDS["withdrawn"] in page
    assert client.get(f"/tv/{new_id}/download", headers=head).status_code == 404
    assert client.get(f"/tv/{new_id}/media/video.mp4", headers=head).status_code == 404
