"""汇总短信 under worker kills: ``hub worker`` on a real Redis, SIGKILLed while the digest goes out.

The first worker dies right after a member handed itself to the digest; the second right
after the digest's SMS left, before its result was recorded. A fresh worker then finishes:
each subscriber has exactly one SMS, and every delivery is confirmed (SQLite and PostgreSQL).
"""

from __future__ import annotations

import subprocess
from typing import Any

import pytest
from crashkit import WorkerProcess, check, run_until_settled
from sandbox_world import approved_copies
from sqlalchemy import select

from hub.queue.publish import publish_and_enqueue
from hub.queue.states import State
from hub.store.db import session_scope
from hub.store.models import DeliveryEventRow, DeliveryRow
from hub.testing.caches import clear_caches

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _killed(world: dict[str, Any], timeout: float) -> None:
    """A worker that SIGKILLs itself right after an SMS send returns (or is stopped if it never gets there)."""
    worker = WorkerProcess(world["log"], {"HUB_FAULT": "after_send:kill:sms"})
    try:
        assert worker.wait_exit(timeout) != 0
    except subprocess.TimeoutExpired:
        worker.stop()


def test_a_worker_killed_while_the_digest_goes_out_sends_each_subscriber_one_sms(
        crash_world: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUB_SMS_DIGEST_WINDOW", "2s")
    clear_caches()
    versions = [crash_world["version"], *approved_copies(crash_world["version"], 2)]
    ids = [publish_and_enqueue(v, actor="office", channels=["sms"])[0] for v in versions]

    _killed(crash_world, 60)  # dies after a member's send handed it to the digest
    with session_scope() as s:
        digest_id = s.scalar(select(DeliveryRow.id).where(DeliveryRow.purpose == "digest"))
    assert digest_id is not None
    _killed(crash_world, 45)  # dies after the digest's SMS left, before its result was written

    rows = run_until_settled(crash_world, [*ids, digest_id], timeout=90)
    check(crash_world, rows)
    sms = [m for m in crash_world["sandbox"].messages("sms") if m["kind"] == "sms"]
    assert len(sms) == 5 and all("3条政务公开信息已发布" in m["content"]["text"] for m in sms)
    assert all(r.state == State.CONFIRMED for r in rows.values()), {i: (r.state, r.last_error_msg)
                                                                    for i, r in rows.items()}
    with session_scope() as s:
        lost = s.scalars(select(DeliveryEventRow.error_class).where(DeliveryEventRow.delivery_id == digest_id)).all()
    assert "WorkerLost" in lost  # the kill hit the digest's own send: reconciled, not resent
