"""The precompiled hot-path statements write and read exactly what the Core path does, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from hub.queue import ledger
from hub.queue.deliver import _SNAPSHOT
from hub.store import db
from hub.store.models import ChannelStateRow, DeliveryEventRow, DeliveryRow
from hub.store.precompiled import precompiled

NOW = datetime(2026, 12, 3, 8, 30, 15, 123456, tzinfo=UTC)


def _row(n: int) -> DeliveryRow:
    return DeliveryRow(record_id="r", version=f"{n:064d}", channel="sms", target="sms-main",
                       idempotency_key=ledger.idempotency_key("r", str(n), "sms", "main"), state="queued",
                       attempts=0, redeliveries=0, needs_attention=False, created_at=NOW, updated_at=NOW,
                       next_attempt_at=NOW)


def _moves_and_snapshots() -> None:
    with db.session_scope() as s:
        rows = [_row(1), _row(2)]
        s.add_all(rows)
        s.add(ChannelStateRow(key="auth-expired:acct", value={}, updated_at=NOW))
        s.flush()
        ids = [r.id for r in rows]
    lease = NOW + timedelta(minutes=5)
    receipt: dict[str, Any] = {"provider_ref": "m-1", "raw": {"说明": "已受理"}, "confirmed": False}
    with db.connection_scope() as conn:
        assert ledger.move(conn, ids[0], "queued", "sending", actor="worker:t", now=NOW, attempts=0,
                           values={"attempts": 1, "lease_expires_at": lease, "needs_attention": True,
                                   "receipt": receipt}, message="发送中")
        # fenced: a stale attempt count or state writes nothing
        assert not ledger.move(conn, ids[0], "queued", "sending", actor="worker:t", now=NOW, attempts=0)
        assert not ledger.move(conn, ids[1], "queued", "sending", actor="worker:t", now=NOW, attempts=3)

    with db.session_scope() as s:
        row = s.get(DeliveryRow, ids[0])
        assert row is not None
        assert (row.state, row.attempts, row.lease_expires_at, row.needs_attention, row.receipt, row.updated_at) == (
            "sending", 1, lease, True, receipt, NOW)
        events = s.scalars(select(DeliveryEventRow).where(DeliveryEventRow.delivery_id == ids[0])).all()
        assert [(e.from_state, e.to_state, e.actor, e.at, e.message) for e in events] == [
            ("queued", "sending", "worker:t", NOW, "发送中")]
        untouched = s.get(DeliveryRow, ids[1])
        assert untouched is not None and untouched.state == "queued"

    with db.read_scope() as conn:
        for rid in ids:
            core = conn.execute(_SNAPSHOT, {"id": rid}).first()
            assert core is not None
            fast = precompiled(_SNAPSHOT, conn.dialect).first(conn, {"id": rid})
            assert fast == core._asdict()
            assert fast["flags"] == 1 and isinstance(fast["needs_attention"], bool)
            assert fast["next_attempt_at"] == NOW and fast["next_attempt_at"].tzinfo is not None
        assert precompiled(_SNAPSHOT, conn.dialect).first(conn, {"id": 10_000}) is None


def test_ledger_moves_and_the_snapshot_match_core_on_sqlite() -> None:
    _moves_and_snapshots()


@pytest.mark.postgres
def test_ledger_moves_and_the_snapshot_match_core_on_postgresql(pg_database: str) -> None:
    _moves_and_snapshots()
