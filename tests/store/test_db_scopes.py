"""The store's transaction scopes: reads beside a writer, and the ledger's Core writes that match the ORM's."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from hub.queue import ledger
from hub.settings import get_settings
from hub.store.db import connection_scope, read_scope, session_scope
from hub.store.models import DeliveryEventRow, DeliveryRow


def _row(now: datetime) -> int:
    with session_scope() as s:
        row = DeliveryRow(record_id="r", version="v" * 64, channel="sms", target="t", idempotency_key="k" * 64,
                          state="queued", attempts=0, redeliveries=0, needs_attention=False, created_at=now,
                          updated_at=now)
        s.add(row)
        s.flush()
        return row.id


def test_a_read_scope_reads_while_another_process_holds_the_write_lock() -> None:
    now = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
    rid = _row(now)
    other = sqlite3.connect(get_settings().var_dir / "hub.db", isolation_level=None, timeout=0)
    other.execute("BEGIN IMMEDIATE")  # a writer elsewhere holds SQLite's only write lock
    try:
        with read_scope() as s:
            assert s.scalar(select(DeliveryRow.state).where(DeliveryRow.id == rid)) == "queued"
    finally:
        other.execute("ROLLBACK")
        other.close()


def test_a_ledger_move_writes_what_the_orm_reads_back() -> None:
    """The ledger's Core statements convert values with the columns' own types (aware UTC in and out)."""
    now = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
    rid = _row(now)
    later = now + timedelta(minutes=5)
    lease = datetime(2026, 11, 25, 16, 10, tzinfo=UTC).astimezone(UTC)
    with connection_scope() as conn:
        assert ledger.move(conn, rid, "queued", "sending", actor="worker:test", now=later, attempts=0,
                           values={"attempts": 1, "lease_expires_at": lease, "needs_attention": False,
                                   "receipt": {"raw": {"短信": "已受理"}}})
        assert not ledger.move(conn, rid, "queued", "sending", actor="worker:test", now=later, attempts=0)
    with session_scope() as s:
        row = s.get(DeliveryRow, rid)
        assert row is not None
        assert (row.state, row.attempts, row.lease_expires_at, row.updated_at) == ("sending", 1, lease, later)
        assert row.receipt == {"raw": {"短信": "已受理"}}
        events = s.scalars(select(DeliveryEventRow).where(DeliveryEventRow.delivery_id == rid)).all()
        assert [(e.from_state, e.to_state, e.at, e.actor) for e in events] == [
            ("queued", "sending", later, "worker:test")]
