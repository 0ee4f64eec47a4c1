"""Withdrawal (撤回) of the sample through the real adapters and the sandbox, on every channel.

One ledger step per post, each confirmed: the WeChat article and the Weibo post deleted once,
the withdrawal notice once to each number that got the record, a 撤稿 mail to the desk, the
portal's static copy gone with a feed tombstone; also with faults on (drops, 5xx).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from sandbox_world import CHANNELS, Clock, approved_sample, drain, rows_of

from hub.queue.states import State

pytestmark = pytest.mark.slow


def deletes(sandbox: Any) -> Counter[str]:
    return Counter(m["channel"] for m in sandbox.messages() if m["kind"] == "delete")


def sms_texts(sandbox: Any) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for m in sandbox.messages("sms", "sms"):
        out.setdefault(str(m["content"]["phone"]), []).append(str(m["content"]["text"]))
    return out


def check_withdrawn(sandbox: Any, version: str, wids: list[int]) -> None:
    from hub.settings import get_settings

    rows = rows_of(wids)
    assert {r.channel: r.state for r in rows.values()} == {c: State.CONFIRMED for c in CHANNELS}
    assert {r.purpose for r in rows.values()} == {"withdraw"}
    assert deletes(sandbox) == Counter({"wechat": 1, "weibo": 1})
    # the inbox shows the article and the post as deleted
    assert all(m["content"].get("deleted_at") for m in sandbox.messages("wechat", "article"))
    assert all(m["content"].get("deleted_at") for m in sandbox.messages("weibo", "status"))
    texts = sms_texts(sandbox)
    assert len(texts) == 5  # the five demo subscribers
    for phone, got in texts.items():
        notices = [t for t in got if "已撤回" in t]
        assert len(got) == 2 and len(notices) == 1, (phone[-4:], got)
    mails = [m["content"] for m in sandbox.messages("newspaper")]
    assert sum(1 for c in mails if str(c.get("subject", "")).startswith("[撤稿]")) == 1
    site = get_settings().site_dir
    record_id = rows[wids[0]].record_id
    # the static page keeps its address and says it was withdrawn (as the live portal's 410), nothing else is left
    assert [p.name for p in (site / "records" / record_id).iterdir()] == ["index.html"]
    notice = (site / "records" / record_id / "index.html").read_text("utf-8")
    assert "该信息已撤回" in notice and "doc-body" not in notice
    assert f'href="/records/{record_id}"' not in (site / "index.html").read_text("utf-8")
    feed = (site / "feed.xml").read_text("utf-8")
    assert f'<at:deleted-entry ref="http://127.0.0.1:8000/records/{record_id}"' in feed or \
        f'/records/{record_id}" when=' in feed


def test_withdrawing_the_sample_confirms_every_channel_with_one_delete_per_post_and_one_notice_per_number(
        published: tuple[str, list[int]], sandbox: Any) -> None:
    from hub.app import lifecycle
    from hub.errors import WorkflowError
    from hub.queue.status import status_json
    from hub.store.db import session_scope

    version, ids = published
    with pytest.raises(WorkflowError, match="原因"):
        lifecycle.withdraw(version, actor="office", reason=" ")
    done = lifecycle.withdraw(version, actor="office", reason="数据有误，需重新核实")
    assert len(done.ids) == len(CHANNELS) and not done.cancelled
    drain(done.ids, clock=Clock())
    check_withdrawn(sandbox, version, done.ids)
    with session_scope() as s:
        data = status_json(s, done.record_id)
    purposes = Counter(d["purpose"] for d in data["deliveries"])
    assert purposes == Counter({"publish": len(CHANNELS), "withdraw": len(CHANNELS)})
    origins = {d["origin_id"] for d in data["deliveries"] if d["purpose"] == "withdraw"}
    assert origins == set(ids)
    with pytest.raises(WorkflowError):  # withdrawn already: nothing left to withdraw
        lifecycle.withdraw(version, actor="office", reason="again")


@pytest.mark.parametrize("fault", ["drop", "5xx"])
def test_withdrawal_with_faults_still_deletes_each_post_once(published: tuple[str, list[int]], sandbox: Any,
                                                             fault: str) -> None:
    from hub.app import lifecycle

    version, _ = published
    for channel in ("wechat", "weibo", "sms"):
        if fault == "drop":
            sandbox.set_faults(channel, drop_rate=1.0)
        else:
            sandbox.set_faults(channel, error_5xx_rate=1.0, retry_after=1)
    done = lifecycle.withdraw(version, actor="office", reason="撤回测试")
    drain(done.ids, clock=Clock(), between=lambda step: sandbox.clear_faults() if step >= 2 else None)
    check_withdrawn(sandbox, version, done.ids)


def test_a_scheduled_publication_is_cancelled_by_a_withdrawal_and_nothing_is_sent(world: None, sandbox: Any) -> None:
    from datetime import timedelta

    from hub.app import deliveries, lifecycle
    from hub.timeutil import utcnow

    version = approved_sample(kinds=())
    pub = deliveries.publish(version, actor="office", channels=CHANNELS, at=utcnow() + timedelta(hours=1))
    done = lifecycle.withdraw(version, actor="office", reason="暂缓公开")
    assert done.ids == [] and sorted(done.cancelled) == sorted(pub.ids)
    assert {r.state for r in rows_of(pub.ids).values()} == {State.CANCELLED}
    assert not sandbox.messages()
