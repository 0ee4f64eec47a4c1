"""Delivery reports: what the operator says became of each number, applied to the recipient ledger.

Why here: a report is about a recipient, not about a vendor call. Reports come
pulled (a queue shared by every delivery of the app, each handed out once),
pushed (a callback) or asked for by number; the channel turns each into a
``Report`` and this module applies it to whichever row it belongs to, forward
only (a report never moves a final row). A report that arrives before its row
knows its serial is kept (``sms-report:<serial>``) and applied later, because
the platform will not hand it out again (issue 18).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from time import monotonic, sleep

from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from hub.audience.recipients import DELIVERED, OPEN_STATES, UNDELIVERED
from hub.audience.subscribers import get_vault
from hub.channels.sessions import SessionFactory, scope
from hub.store.models import ChannelStateRow, DeliveryRow, SmsRecipientRow, SubscriberRow
from hub.timeutil import utcnow

log = logging.getLogger(__name__)

#: how long pulled reports wait for a database that refuses them (they cannot be pulled again)
APPLY_RETRY_SECONDS = 60.0
#: channel_state prefix of a report that arrived before its row knew its serial number
KEPT_PREFIX = "sms-report:"
#: how long such a report is kept (the by-number query reaches 7 days back; nothing older matters)
KEPT_DAYS = 7


@dataclass(frozen=True, slots=True)
class Report:
    """One number's delivery report: the vendor's serial, delivered or not, and how it was described."""

    serial_no: str
    ok: bool
    description: str
    phone: str = ""
    session_context: str = ""


def e164(number: str) -> str:
    """A mainland number as vendors write it (``138…``, ``86138…``, ``+86138…``) in E.164."""
    n = number.strip()
    if n.startswith("+"):
        return n
    if n.startswith("86") and len(n) == 13:
        return "+" + n
    return "+86" + n if len(n) == 11 else n


def apply_reports(session: Session, reports: Iterable[Report], *, now: datetime | None = None,
                  keep: bool = True) -> int:
    """Set ``delivered``/``undelivered`` on the rows the reports name; returns how many rows changed.

    Joined on ``SerialNo``; a report for a number whose batch was ambiguous (no
    serial known) is joined on its SessionContext (the delivery key) and the
    number's HMAC, which is how an ``unknown`` row learns it did go out. A report
    that matches no row yet (its send's result write has not committed: the
    report queue is shared by every delivery) is kept in ``channel_state`` under
    ``sms-report:<serial>`` and applied by ``apply_kept_reports`` once the row
    has its serial (issue 18): the platform hands each report out only once.
    """
    now = now or utcnow()
    reports = [r for r in reports if r.serial_no or (r.session_context and r.phone)]
    if not reports:
        return 0
    changed = 0
    by_serial = {r.serial_no: r for r in reports if r.serial_no}
    open_states = OPEN_STATES
    matched: set[str] = set()
    serials = list(by_serial)
    for i in range(0, len(serials), 500):
        rows = session.scalars(select(SmsRecipientRow).where(SmsRecipientRow.serial_no.in_(serials[i:i + 500]))).all()
        for row in rows:
            rep = by_serial[row.serial_no or ""]
            matched.add(rep.serial_no)
            if row.state in open_states:
                row.state, row.code, row.updated_at = (DELIVERED if rep.ok else UNDELIVERED), rep.description[:100], now
                changed += 1
    rest = [r for r in reports if r.serial_no not in matched and r.session_context and r.phone]
    if rest:
        vault = get_vault()
        for rep in rest:
            found = session.scalar(
                select(SmsRecipientRow)
                .join(DeliveryRow, DeliveryRow.id == SmsRecipientRow.delivery_id)
                .join(SubscriberRow, SubscriberRow.id == SmsRecipientRow.subscriber_id)
                .where(DeliveryRow.idempotency_key == rep.session_context,
                       SubscriberRow.phone_hash == vault.hash(e164(rep.phone)),
                       SmsRecipientRow.state.in_(open_states)))
            if found is not None:
                found.state, found.code = (DELIVERED if rep.ok else UNDELIVERED), rep.description[:100]
                found.updated_at, found.serial_no = now, rep.serial_no or found.serial_no
                changed += 1
                matched.add(rep.serial_no)
    if keep:
        for rep in reports:
            if rep.serial_no and rep.serial_no not in matched:
                key = f"{KEPT_PREFIX}{rep.serial_no}"[:200]
                if session.get(ChannelStateRow, key) is None:
                    session.add(ChannelStateRow(key=key, value={"ok": rep.ok, "description": rep.description[:100]},
                                                expires_at=now + timedelta(days=KEPT_DAYS), updated_at=now))
    return changed


def apply_kept_reports(session: Session, *, now: datetime | None = None, limit: int = 5000) -> int:
    """Apply kept reports whose rows now carry their serial; drop those applied or expired."""
    now = now or utcnow()
    kept = session.scalars(select(ChannelStateRow).where(ChannelStateRow.key.like(f"{KEPT_PREFIX}%"))
                           .limit(limit)).all()
    if not kept:
        return 0
    by_serial = {row.key[len(KEPT_PREFIX):]: row for row in kept}
    changed = 0
    serials = list(by_serial)
    for i in range(0, len(serials), 500):
        rows = session.scalars(select(SmsRecipientRow).where(SmsRecipientRow.serial_no.in_(serials[i:i + 500]))).all()
        for row in rows:
            note = by_serial.pop(row.serial_no or "")
            value = dict(note.value or {})
            if row.state in OPEN_STATES:
                row.state = DELIVERED if value.get("ok") else UNDELIVERED
                row.code, row.updated_at = str(value.get("description") or "")[:100], now
                changed += 1
            session.delete(note)
    for note in by_serial.values():
        if note.expires_at is not None and note.expires_at <= now:
            session.delete(note)
    return changed


def apply_with_retry(sessions: SessionFactory | None, reports: list[Report], *, clock: Callable[[], datetime],
                     keep: bool = True) -> int:
    """Record reports just pulled, retrying while the database refuses (bounded: a minute).

    The platform hands each report out once (PullSmsSendStatus removes what it returns),
    so raising here would lose them and leave the delivery ``submitted`` until
    ``receipt_timeout_hours``; a locked or restarting database is waited out instead.
    """
    deadline, pause = monotonic() + APPLY_RETRY_SECONDS, 0.05
    while True:
        try:
            with scope(sessions) as s:
                return apply_reports(s, reports, now=clock(), keep=keep)
        except OperationalError:
            if monotonic() >= deadline:
                log.error("sms: %d pulled delivery reports could not be recorded (database unavailable); "
                          "their numbers stay awaiting a report until receipt_timeout_hours", len(reports))
                raise
            sleep(pause)
            pause = min(pause * 2, 1.0)


def apply_kept_best_effort(sessions: SessionFactory | None, now: datetime) -> int:
    """Apply reports kept because their row had no serial yet (best effort: a later poll tries again)."""
    try:
        with scope(sessions) as s:
            return apply_kept_reports(s, now=now)
    except OperationalError:
        return 0
