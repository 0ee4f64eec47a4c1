"""Helpers of the office tests: records of catalog items and their deliveries through the real ledger.

(Not in conftest.py: test modules import these, and ``import conftest`` is ambiguous across directories.)
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from hub.queue import ledger
from hub.record import Paragraph, Record
from hub.store import repo
from hub.store.models import DeliveryRow

DEPT = "汉阴县人民政府办公室"
OTHER = "汉阴县财政局"


def record(record_id: str = "rec-1", **changes: Any) -> Record:
    fields: dict[str, Any] = {
        "id": record_id,
        "title": "关于调整2026年度扶贫政策的通知",
        "department": DEPT,
        "domain": "扶贫救灾",
        "item": "扶贫政策",
        "written_on": dt.date(2026, 9, 1),
        "body": [Paragraph(text="现将有关事项通知如下。")],
    }
    fields.update(changes)
    return Record(**fields)


def save(session: Session, rec: Record, *, state: str = "draft", actor: str = "author") -> str:
    row = repo.save_version(session, rec, findings=[], warnings=[], actor=actor)
    row.state = state
    session.flush()
    return row.version


def confirm(session: Session, record_id: str, version: str, channel: str, at: dt.datetime) -> int:
    """One delivery of ``channel`` moved queued → sending → confirmed at ``at`` (the ledger's own moves)."""
    row = DeliveryRow(record_id=record_id, version=version, channel=channel, target=f"{channel}-t",
                      idempotency_key=ledger.idempotency_key(record_id, version, channel, f"{channel}-t"),
                      state="queued", attempts=0, redeliveries=0, created_at=at, updated_at=at)
    session.add(row)
    session.flush()
    ledger.created_event(session, row, actor="test", now=at)
    assert ledger.move(session, row.id, "queued", "sending", actor="test", now=at)
    assert ledger.move(session, row.id, "sending", "confirmed", actor="test", now=at)
    return row.id
