"""The application layer (``hub.app.deliveries``) through the real adapters and the sandbox.

定时发布 with a controlled clock (nothing sent before its time, everything after), one audit
row per action, 人工确认送达 with a note, and retry refusals in Chinese.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sandbox_world import Clock, approved_sample, drain, fast_config, posts, rows_of

from hub.queue.states import State
from hub.store.db import session_scope
from hub.store.models import AuditRow, DeliveryRow

CHANNELS = ("web", "wechat", "weibo", "sms", "newspaper")


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, int]]]:
    """The sample approved in a sandbox world; hints are collected instead of sent (the test drives the engine)."""
    from hub.queue import actors

    fast_config(tmp_path, monkeypatch)
    sent: list[tuple[str, int]] = []
    monkeypatch.setattr(actors, "hint", lambda a, i, d: sent.append((a, i)))
    yield sent


@pytest.fixture
def version(world: Any, sandbox: Any) -> str:
    return approved_sample(kinds=())


def audits(action: str) -> list[AuditRow]:
    with session_scope() as s:
        return list(s.scalars(AuditRow.__table__.select().where(AuditRow.action == action)))  # type: ignore[arg-type]


@pytest.mark.slow
def test_a_scheduled_publish_sends_nothing_before_its_time_and_everything_after(version: str, sandbox: Any,
                                                                                  world: list[tuple[str, int]]) -> None:
    from hub.app import deliveries
    from hub.queue.context import Deps
    from hub.queue.deliver import deliver_one
    from hub.queue.sweeper import requeue_due
    from hub.web import board, queries

    clock = Clock()
    at = clock.now + timedelta(hours=2)
    done = deliveries.publish(version, actor="office", channels=CHANNELS, at=at)
    assert done.scheduled_at == at and len(done.ids) == len(CHANNELS)
    assert world == []  # nothing hinted: nothing is due

    # an hour and 59 minutes later: the sweeper hints nothing, a stray hint sends nothing
    deps = Deps(clock=clock, actor="test")
    clock.now = at - timedelta(minutes=1)
    hinted: list[int] = []
    assert requeue_due(lambda a, i, d: hinted.append(i), deps=deps, grace=0) == 0
    for i in done.ids:
        assert deliver_one(i, deps=deps).sent is False
    assert not posts(sandbox)
    assert {r.state for r in rows_of(done.ids).values()} == {State.QUEUED}
    with session_scope() as s:
        names = {ln.state_name for ln in board.lines(s, version=version)}
    assert names == {f"定时 {(at + timedelta(hours=8)).strftime('%Y-%m-%d %H:%M')}"}
    with session_scope() as s:
        assert queries.published_version(s, done.record_id) is None  # not on the portal before its time

    # at its time: every channel, once
    clock.now = at + timedelta(seconds=1)
    assert requeue_due(lambda a, i, d: hinted.append(i), deps=deps, grace=0) == len(CHANNELS)
    rows = drain(done.ids, clock=clock)
    assert {r.channel: r.state for r in rows.values()} == {c: State.CONFIRMED for c in CHANNELS}
    assert max(posts(sandbox).values()) == 1
    assert len(audits("delivery.schedule")) == 1 and len(audits("record.publish")) == 1
    with session_scope() as s:
        assert queries.published_version(s, done.record_id) is not None


def test_publish_writes_one_audit_row_and_publish_now_makes_a_schedule_due(version: str,
                                                                         world: list[tuple[str, int]]) -> None:
    from hub.app import deliveries
    from hub.timeutil import utcnow

    done = deliveries.publish(version, actor="office", channels=("web",), at=utcnow() + timedelta(days=1))
    assert len(audits("record.publish")) == 1 and not audits("web.publish")
    ids = deliveries.publish_now(version, actor="office")
    assert ids == done.ids and ("deliver", ids[0]) in world
    row = rows_of(ids)[ids[0]]
    assert row.scheduled_at is None and row.next_attempt_at is not None and row.next_attempt_at <= utcnow()
    assert len(audits("delivery.publish_now")) == 1
    with pytest.raises(Exception, match="没有等待定时发布的投递"):
        deliveries.cancel_schedule(version, actor="office")


def test_a_past_time_is_refused_in_chinese(version: str) -> None:
    from hub.app import deliveries
    from hub.errors import WorkflowError
    from hub.timeutil import utcnow

    with pytest.raises(WorkflowError, match="已过"):
        deliveries.publish(version, actor="office", at=utcnow() - timedelta(minutes=5))
    assert deliveries.parse_local_time("2026-12-24 09:30").isoformat() == "2026-12-24T01:30:00+00:00"


def _set(delivery_id: int, **values: Any) -> None:
    with session_scope() as s:
        row = s.get(DeliveryRow, delivery_id)
        assert row is not None
        for k, v in values.items():
            setattr(row, k, v)


def test_a_person_marks_a_newspaper_mail_delivered_with_a_note_and_the_history_says_so(
        version: str, world: list[tuple[str, int]]) -> None:
    from hub.app import deliveries
    from hub.errors import WorkflowError

    (d,) = deliveries.publish(version, actor="office", channels=("newspaper",)).ids
    _set(d, state=State.UNKNOWN, needs_attention=True, last_error_class="Ambiguous")
    with pytest.raises(WorkflowError, match="说明"):
        deliveries.mark_delivered(d, actor="office", note="  ")
    row = deliveries.mark_delivered(d, actor="office", note="报社编辑部王某 12月3日电话确认已收稿")
    assert row.state == State.CONFIRMED and row.receipt and row.receipt["confirmed_by"] == "office"
    _, evs = deliveries.events(d)
    assert evs[-1].to_state == State.CONFIRMED and "电话确认" in (evs[-1].message or "")
    assert len(audits("delivery.mark_delivered")) == 1
    with pytest.raises(WorkflowError, match="不能标记"):
        deliveries.mark_delivered(d, actor="office", note="again")


def test_a_failed_delivery_is_resent_once_its_cause_is_fixed_or_refused_in_chinese(
        version: str, world: list[tuple[str, int]]) -> None:
    from hub.app import deliveries
    from hub.errors import WorkflowError

    web, paper = deliveries.publish(version, actor="office", channels=("web", "newspaper")).ids
    _set(web, state=State.FAILED, last_error_class="Permanent", last_error_msg="rejected")
    with pytest.raises(WorkflowError, match="请修改记录"):
        deliveries.retry(web, actor="office")
    _set(paper, state=State.FAILED, last_error_class="WorkerLost", last_error_msg="worker died")
    again = deliveries.retry(paper, actor="office")
    assert again.id != paper and again.state == State.QUEUED and again.channel == "newspaper"
    assert deliveries.retry(paper, actor="office").id == again.id  # a second click makes no third row
    assert ("deliver", again.id) in world
    assert len(audits("delivery.retry")) == 1
    with pytest.raises(WorkflowError, match="已在排队"):
        deliveries.retry(again.id, actor="office")
