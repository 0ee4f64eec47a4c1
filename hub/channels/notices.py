"""What a withdrawal step tells people: the record, the reason and the time, found from the step's key.

Why here: the adapters' ``withdraw(receipt, target, key)`` gets the receipt of what it undoes
and its own idempotency key, nothing else (the Channel protocol). The newspaper's 撤稿 mail,
the TV station's recall notice and the SMS withdrawal notice all need the record's title and
the office's reason: one place reads them from the ledger and the workflow history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from hub.channels.sessions import SessionFactory, scope
from hub.errors import Permanent
from hub.store.models import DeliveryRow, VersionRow, WorkflowEventRow


@dataclass(frozen=True, slots=True)
class Notice:
    """A withdrawal step's context: the delivery, what it undoes, and what to tell people."""

    delivery_id: int
    origin_id: int | None
    record_id: str
    version: str
    title: str
    department: str | None
    reason: str
    at: datetime


def withdrawal_notice(sessions: SessionFactory | None, key: str) -> Notice:
    """The notice of the withdrawal step whose idempotency key is ``key`` (Permanent when there is none)."""
    with scope(sessions) as s:
        row = s.scalar(select(DeliveryRow).where(DeliveryRow.idempotency_key == key))
        if row is None or row.purpose != "withdraw":
            raise Permanent("withdraw: no withdrawal delivery for this key")
        version = s.get(VersionRow, row.version)
        event = s.scalars(select(WorkflowEventRow).where(WorkflowEventRow.version == row.version,
                                                         WorkflowEventRow.to_state == "withdrawn")
                          .order_by(WorkflowEventRow.id.desc())).first()
        return Notice(delivery_id=row.id, origin_id=row.origin_id, record_id=row.record_id, version=row.version,
                      title=version.title if version is not None else row.record_id,
                      department=version.department if version is not None else None,
                      reason=(event.comment or "") if event is not None else "已更正，由新版本替换",
                      at=event.at if event is not None else row.created_at)


# --- the feeds' deleted-entry tombstones (RFC 6721) ---------------------------------------------

TOMBSTONE_NS = "http://purl.org/atompub/tombstones/1.0"


@dataclass(frozen=True, slots=True)
class Withdrawn:
    """A withdrawn record as the feeds announce it."""

    record_id: str
    version: str
    title: str
    at: datetime


def withdrawn_records(sessions: SessionFactory | None, *, limit: int = 50) -> list[Withdrawn]:
    """Records whose latest public version was withdrawn (and nothing of them is published), newest first."""
    with scope(sessions) as s:
        rows = s.execute(select(WorkflowEventRow.at, VersionRow.record_id, VersionRow.version, VersionRow.title)
                         .join(VersionRow, VersionRow.version == WorkflowEventRow.version)
                         .where(WorkflowEventRow.to_state == "withdrawn", VersionRow.state == "withdrawn")
                         .order_by(WorkflowEventRow.at.desc()).limit(limit * 2)).all()
        public = set(s.scalars(select(VersionRow.record_id).where(VersionRow.state == "published",
                                                                 VersionRow.record_id.in_([r[1] for r in rows]))))
    out: list[Withdrawn] = []
    seen: set[str] = set()
    for at, record_id, version, title in rows:
        if record_id in seen or record_id in public:
            continue
        seen.add(record_id)
        out.append(Withdrawn(record_id, version, title, at))
    return out[:limit]


def with_tombstones(feed: bytes, items: list[tuple[str, datetime]]) -> bytes:
    """``feed`` (an Atom document) with one ``at:deleted-entry`` per (entry id, when) before ``</feed>``."""
    from xml.sax.saxutils import quoteattr

    if not items:
        return feed
    text = feed.decode("utf-8")
    if f'xmlns:at="{TOMBSTONE_NS}"' not in text:
        text = text.replace('<feed xmlns="http://www.w3.org/2005/Atom"',
                            f'<feed xmlns="http://www.w3.org/2005/Atom" xmlns:at="{TOMBSTONE_NS}"', 1)
    marks = "".join(f'  <at:deleted-entry ref={quoteattr(ref)} when="{when.isoformat()}"/>\n' for ref, when in items)
    head, sep, tail = text.rpartition("</feed>")
    return (head + marks + sep + tail).encode("utf-8") if sep else feed


def withdrawal_of(sessions: SessionFactory | None, record_id: str) -> Withdrawn | None:
    """The record's latest withdrawal when nothing of it is published (what the portal's 410 page names)."""
    with scope(sessions) as s:
        if s.scalar(select(VersionRow.version).where(VersionRow.record_id == record_id,
                                                     VersionRow.state == "published").limit(1)) is not None:
            return None
        row = s.execute(select(WorkflowEventRow.at, VersionRow.version, VersionRow.title)
                        .join(VersionRow, VersionRow.version == WorkflowEventRow.version)
                        .where(VersionRow.record_id == record_id, VersionRow.state == "withdrawn",
                               WorkflowEventRow.to_state == "withdrawn")
                        .order_by(WorkflowEventRow.at.desc()).limit(1)).first()
    return None if row is None else Withdrawn(record_id, row[1], row[2], row[0])
