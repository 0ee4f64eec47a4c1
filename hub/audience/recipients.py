"""The recipient ledger: one ``sms_recipients`` row per number per delivery, and its states.

Why a ledger below the delivery ledger: a bulk message is one delivery row but
100,000 results, and partial failure is normal (one number refused, one rate
limited, a batch whose answer was lost). Each number keeps its own state, so a
number that got ``Ok`` is never sent again, whatever happens to the delivery:

``pending`` → ``sending`` (claimed before any request leaves) → ``sent`` (the
vendor accepted it, with its serial) → ``delivered`` / ``undelivered`` (the
report); or ``rejected`` (refused for good, or invalid at send), ``skipped``
(opted out) and ``unknown`` (the batch may have landed: never resent, settled by
a report or by asking the platform). Rows left ``sending`` by a crashed attempt
become ``unknown`` at the next attempt.

The engine (``hub.audience.engine``) is the only writer of these states apart
from delivery reports (``hub.audience.reports``), which only move a row forward.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from sqlalchemy import Table, bindparam, func, select, update
from sqlalchemy.orm import Session

from hub.store.models import ChannelStateRow, SmsRecipientRow, SubscriberRow

#: recipient states: final ones never go out again
PENDING, SENDING, SENT, UNKNOWN = "pending", "sending", "sent", "unknown"
DELIVERED, UNDELIVERED, REJECTED, SKIPPED = "delivered", "undelivered", "rejected", "skipped"
#: states whose number may have got the message and still waits for a delivery report
AWAITING_REPORT = (SENT, UNKNOWN, SENDING)
#: states a delivery report may still move (forward only)
OPEN_STATES = (SENT, UNKNOWN, SENDING, PENDING)

#: ``channel_state`` key prefix of the marker that a delivery's audience was expanded (once, ever)
MARKER_PREFIX = "sms-audience:"

#: one per-number result: (state, code, serial_no, sms_recipients.id), the ``write_results`` parameter order
Result = tuple[str, str, str | None, int]

_T: Table = SmsRecipientRow.__table__  # type: ignore[assignment]

# The fan-out's three per-wave statements, built once (Core, bound parameters): building them
# anew each wave cost more CPU than SQLite spent running them.
#: the next ``n`` pending rows of delivery ``did`` after row ``after``, with the opt-out as a flag
#: (no datetime to convert per row); PostgreSQL: two senders of one delivery never claim the
#: same rows (SQLite: BEGIN IMMEDIATE holds the write lock)
CLAIM = (select(SmsRecipientRow.id, SubscriberRow.phone_enc, SubscriberRow.opted_out_at.is_not(None))
         .join(SubscriberRow, SubscriberRow.id == SmsRecipientRow.subscriber_id)
         .where(SmsRecipientRow.delivery_id == bindparam("did"), SmsRecipientRow.state == PENDING,
                SmsRecipientRow.id > bindparam("after"))
         .order_by(SmsRecipientRow.id).limit(bindparam("n"))
         .with_for_update(skip_locked=True, of=SmsRecipientRow))
#: an opted-out subscriber's row (executemany over ``rid``)
SKIP = (update(_T).where(_T.c.id == bindparam("rid"))
        .values(state=SKIPPED, code="OptedOut", updated_at=bindparam("now")))
#: the claimed rows: the pending ones of delivery ``did`` in (``first``, ``after``]
MARK_SENDING = (update(_T)
                .where(_T.c.delivery_id == bindparam("did"), _T.c.state == PENDING,
                       _T.c.id > bindparam("first"), _T.c.id <= bindparam("after"))
                .values(state=SENDING, updated_at=bindparam("now")))


def marker_key(delivery_id: int) -> str:
    return f"{MARKER_PREFIX}{delivery_id}"


def expanded(session: Session, delivery_id: int) -> dict[str, Any] | None:
    """The expansion marker's value (``recipients``, ``target``, ``at``), or None before the first expansion."""
    row = session.get(ChannelStateRow, marker_key(delivery_id))
    return None if row is None else dict(row.value or {})


def write_results(s: Session, values: list[Result], now: datetime) -> None:
    """Per-number results as one DBAPI ``executemany`` by primary key, all stamped ``now``, only on ``sending`` rows.

    The fan-out's hottest write: SQLAlchemy's per-row parameter processing cost more
    than SQLite itself, so the timestamp is bound once through the column's own type
    and the rows go to the driver as plain tuples (SQLite ``?`` / psycopg ``%s``).
    """
    if not values:
        return
    conn = s.connection()
    dialect = conn.dialect
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    proc = _T.c.updated_at.type.dialect_impl(dialect).bind_processor(dialect)
    stamp = proc(now) if proc else now
    # conditional on the row still being ``sending`` (issue 18): a delivery report pulled by another
    # delivery's poll may have marked the number delivered while this write waited for the database;
    # an unconditional write would put it back to ``sent`` and the report, handed out once, is gone
    conn.exec_driver_sql(f"UPDATE sms_recipients SET state={mark}, code={mark}, serial_no={mark}, "  # noqa: S608
                         f"updated_at={mark} WHERE id={mark} AND state='{SENDING}'",
                         [(st, cd, sn, stamp, rid) for st, cd, sn, rid in values])


def crashed_to_unknown(s: Session, delivery_id: int, now: datetime) -> None:
    """Rows left ``sending`` by a crashed attempt may have gone out: ``unknown``, never resent blindly."""
    s.execute(update(SmsRecipientRow).where(SmsRecipientRow.delivery_id == delivery_id,
                                            SmsRecipientRow.state == SENDING)
              .values(state=UNKNOWN, code="CrashedWhileSending", updated_at=now))


def recipient_counts(session: Session, delivery_id: int) -> Counter[str]:
    """How many numbers of a delivery are in each state (for status pages and receipts)."""
    rows = session.execute(select(SmsRecipientRow.state, func.count()).where(SmsRecipientRow.delivery_id == delivery_id)
                           .group_by(SmsRecipientRow.state)).all()
    return Counter({state: int(n) for state, n in rows})


def pending_codes(session: Session, delivery_id: int) -> set[str]:
    """The codes that left numbers ``pending`` (a frequency limit keeps its code on the row)."""
    return {str(c) for c in session.scalars(select(SmsRecipientRow.code).where(
        SmsRecipientRow.delivery_id == delivery_id, SmsRecipientRow.state == PENDING).distinct()) if c}


def awaiting(session: Session, delivery_id: int, states: tuple[str, ...], *, older_than: datetime | None,
             limit: int | None) -> list[tuple[int, bytes, str | None]]:
    """(row id, encrypted number, serial) of the delivery's rows in ``states`` (oldest first)."""
    q = (select(SmsRecipientRow.id, SubscriberRow.phone_enc, SmsRecipientRow.serial_no)
         .join(SubscriberRow, SubscriberRow.id == SmsRecipientRow.subscriber_id)
         .where(SmsRecipientRow.delivery_id == delivery_id, SmsRecipientRow.state.in_(states))
         .order_by(SmsRecipientRow.updated_at, SmsRecipientRow.id))
    if older_than is not None:
        q = q.where(SmsRecipientRow.updated_at <= older_than)
    if limit is not None:
        q = q.limit(limit)
    return [(int(rid), bytes(enc), serial) for rid, enc, serial in session.execute(q).all()]
