"""The delivery ledger: the queue of record. Every state change goes through ``move``.

Why conditional updates: several workers, the sweeper and a person may touch
the same row at once. Each change is ``UPDATE … WHERE id = ? AND state = ?``
(plus the attempt number where a claim is involved, as a fencing token), so
exactly one writer wins and the loser learns it from the row count; the winner
appends one ``delivery_events`` row in the same short transaction. Broker
messages never carry state: they are hints that a row may be due.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
from collections.abc import Mapping
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Connection, Row, Table, Update, bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from hub.errors import NotFound, WorkflowError
from hub.queue.states import State, check, is_terminal
from hub.redact import redact
from hub.settings import get_settings
from hub.store.groupcommit import defer
from hub.store.models import ChannelStateRow, DeliveryEventRow, DeliveryRow
from hub.store.precompiled import precompiled
from hub.timeutil import utcnow

#: longest error message kept on a row or an event (redacted first)
MAX_MESSAGE = 2000


def idempotency_key(record_id: str, version: str, channel: str, target: str, purpose: str = "publish",
                    extra: str = "") -> str:
    """sha256 over (record id, version, channel, target[, purpose, extra]): one delivery per step, ever.

    A first publication keeps the original four-part key (rows already in ledgers keep theirs);
    a withdrawal or correction step adds its purpose, and a re-send of a failed row the
    failed row's id, so each is its own delivery with its own exactly-once guarantee.
    """
    parts = [record_id, version, channel, target]
    if purpose != "publish" or extra:
        parts += [purpose, extra]
    raw = "\x1f".join(parts)
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def worker_name() -> str:
    """Who a worker is in the event log: host and pid (never a person)."""
    return f"worker:{socket.gethostname()}:{os.getpid()}"


def clean(message: str | None) -> str | None:
    """Redact secrets and phone numbers, and bound the length, before anything is stored."""
    if message is None:
        return None
    return redact(message)[:MAX_MESSAGE]


def move(session: Session | Connection, delivery_id: int, src: str, dst: str, *, actor: str, now: datetime,
         error_class: str | None = None, message: str | None = None, attempts: int | None = None,
         values: Mapping[str, Any] | None = None) -> bool:
    """Move ``delivery_id`` from ``src`` to ``dst`` if it is still in ``src`` (and at ``attempts``).

    Returns False (and writes nothing) when another writer got there first. The
    caller commits; the event and the update are in the same transaction.
    """
    check(src, dst)
    msg = clean(message)
    vals: dict[str, Any] = {"state": dst, "updated_at": now, **(values or {})}
    if error_class is not None or msg is not None:
        vals.setdefault("last_error_class", error_class)
        vals.setdefault("last_error_msg", msg)
    params = {f"v_{k}": v for k, v in vals.items()}
    params.update(w_id=delivery_id, w_state=src)
    if attempts is not None:
        params["w_attempts"] = attempts
    conn = session.connection() if isinstance(session, Session) else session
    dialect = conn.dialect
    if precompiled(_update_for(tuple(sorted(vals)), attempts is not None), dialect).run(conn, params).rowcount != 1:
        return False
    event = {"delivery_id": delivery_id, "at": now, "actor": actor, "from_state": src, "to_state": dst,
             "error_class": error_class, "message": msg}
    insert_event = precompiled(_EVENT_INSERT, dialect, _EVENT_KEYS)
    if not defer(conn, insert_event, event):  # in a group-committed batch: one executemany before its commit
        insert_event.run(conn, event)
    return True


_DELIVERIES = cast(Table, DeliveryRow.__table__)
#: one Core INSERT: no unit-of-work bookkeeping on the hot path (the repo's append-only guard is for ORM edits);
#: compiled once per dialect for these keys (``hub.store.precompiled``)
_EVENT_INSERT = insert(cast(Table, DeliveryEventRow.__table__))
_EVENT_KEYS = ("delivery_id", "at", "actor", "from_state", "to_state", "error_class", "message")


@lru_cache(maxsize=256)
def _update_for(keys: tuple[str, ...], fenced: bool) -> Update:
    """The conditional UPDATE for one set of columns, built once with named binds.

    Why: one statement object per column set keeps the construction off the hot path, and
    ``hub.store.precompiled`` compiles it once per dialect; see
    docs/decisions/2026-12-03-precompiled-ledger-writes.md for the measured cost.
    """
    c = _DELIVERIES.c
    cond = [c.id == bindparam("w_id"), c.state == bindparam("w_state")]
    if fenced:
        cond.append(c.attempts == bindparam("w_attempts"))
    return update(_DELIVERIES).where(*cond).values({k: bindparam(f"v_{k}", type_=c[k].type) for k in keys})


def created_event(session: Session, row: DeliveryRow, *, actor: str, now: datetime,
                  message: str | None = None) -> None:
    session.add(DeliveryEventRow(delivery_id=row.id, at=now, actor=actor, from_state=None,
                                 to_state=State.QUEUED, error_class=None, message=clean(message)))


def get(session: Session, delivery_id: int) -> DeliveryRow:
    row = session.get(DeliveryRow, delivery_id)
    if row is None:
        raise NotFound(f"delivery {delivery_id}: no such delivery")
    return row


def events(session: Session, delivery_id: int) -> list[DeliveryEventRow]:
    return list(session.scalars(select(DeliveryEventRow).where(DeliveryEventRow.delivery_id == delivery_id)
                                .order_by(DeliveryEventRow.id)))


# --- a person's actions ------------------------------------------------------------------------


def retry(session: Session, delivery_id: int, actor: str, *, now: datetime | None = None) -> DeliveryRow:
    """Send again now: a row waiting to retry, held for a person, or ``unknown`` after a person checked.

    Terminal rows are write-once (``hub.app.deliveries.retry`` re-sends a failed row as a new
    delivery when its cause allows). Re-sending an ``unknown`` row on a non-idempotent channel
    is a person's decision that the platform does not have it; the event log names who decided.
    """
    now = now or utcnow()
    row = get(session, delivery_id)
    if is_terminal(row.state):
        raise WorkflowError(f"投递 {delivery_id} 已是最终状态（{row.state}），不能原样重试")
    if row.state not in (State.RETRY_WAIT, State.UNKNOWN):
        raise WorkflowError(f"投递 {delivery_id} 当前为 {row.state}，只有“等待重试”或“结果不明”的投递可以重试")
    clear_flag(session, f"auth-expired:{account_of(row)}")
    ok = move(session, delivery_id, row.state, State.QUEUED, actor=actor, now=now,
              message=f"retry requested by {actor}",
              values={"next_attempt_at": now, "needs_attention": False, "hinted_at": None})
    if not ok:
        raise WorkflowError(f"投递 {delivery_id} 刚被其他操作改变，请刷新后再试")
    session.refresh(row)
    return row


def cancel(session: Session, delivery_id: int, actor: str, *, now: datetime | None = None) -> DeliveryRow:
    """Stop a delivery that has not been sent (or whose outcome a person judged): ``cancelled``."""
    now = now or utcnow()
    row = get(session, delivery_id)
    if row.state == State.SENDING:
        raise WorkflowError(f"投递 {delivery_id} 正在发送，请等结果出来后再操作")
    if row.state not in (State.QUEUED, State.RETRY_WAIT, State.UNKNOWN):
        raise WorkflowError(f"投递 {delivery_id} 当前为 {row.state}，不能取消")
    ok = move(session, delivery_id, row.state, State.CANCELLED, actor=actor, now=now,
              message=f"cancelled by {actor}", values={"needs_attention": False, "next_attempt_at": None})
    if not ok:
        raise WorkflowError(f"投递 {delivery_id} 刚被其他操作改变，请刷新后再试")
    session.refresh(row)
    return row


#: states a person may mark delivered: the platform accepted it (awaiting a receipt that will
#: not come), the outcome is unknown, or it waits to retry (the desk confirmed it by phone)
MARKABLE = (State.SUBMITTED, State.UNKNOWN, State.RETRY_WAIT)


def mark_delivered(session: Session, delivery_id: int, actor: str, note: str, *,
                   now: datetime | None = None) -> DeliveryRow:
    """A person confirmed the delivery outside any API (a phone call to the newspaper desk): ``confirmed``.

    The note (who confirmed, how) is kept on the event and in the receipt, so the ledger
    says why this row counts as delivered without a platform's word for it.
    """
    now = now or utcnow()
    note = (note or "").strip()
    if not note:
        raise WorkflowError("标记已送达需要写明说明（谁确认的、通过什么方式）")
    row = get(session, delivery_id)
    if row.state == State.SENDING:
        raise WorkflowError(f"投递 {delivery_id} 正在发送，请等结果出来后再操作")
    if row.state not in MARKABLE:
        raise WorkflowError(f"投递 {delivery_id} 当前为 {row.state}，不能标记为已送达")
    receipt = dict(row.receipt or {})
    receipt.setdefault("provider_ref", row.provider_ref or "")
    receipt.setdefault("accepted_at", now.isoformat())
    receipt.update(confirmed=True, confirmed_by=actor, note=clean(note))
    ok = move(session, delivery_id, row.state, State.CONFIRMED, actor=actor, now=now,
              message=f"marked delivered by {actor}: {note}",
              values={"receipt": receipt, "needs_attention": False, "next_attempt_at": None,
                      "lease_expires_at": None, "last_error_class": None, "last_error_msg": None})
    if not ok:
        raise WorkflowError(f"投递 {delivery_id} 刚被其他操作改变，请刷新后再试")
    session.refresh(row)
    return row


def reschedule(session: Session, delivery_id: int, at: datetime | None, actor: str, *,
               now: datetime | None = None) -> bool:
    """Move a scheduled (定时) row's time; ``at=None`` sends it now. False when it is no longer queued.

    Not a state change (queued stays queued), so it bypasses ``move``'s table but is still a
    conditional update with its own event row.
    """
    now = now or utcnow()
    due = at or now
    result = session.execute(update(DeliveryRow).where(DeliveryRow.id == delivery_id,
                                                        DeliveryRow.state == State.QUEUED)
                             .values(scheduled_at=at, next_attempt_at=due, hinted_at=None, updated_at=now)
                             .execution_options(synchronize_session=False))
    if getattr(result, "rowcount", 0) != 1:
        return False
    when = "now" if at is None else at.isoformat()
    session.add(DeliveryEventRow(delivery_id=delivery_id, at=now, actor=actor, from_state=State.QUEUED,
                                 to_state=State.QUEUED, error_class=None, message=f"rescheduled to {when}"))
    return True


# --- channel flags (quota exhausted, auth expired) -----------------------------------------------


def account_of(row: DeliveryRow) -> str:
    """The account a delivery uses (from config; the target name when the config no longer has it)."""
    from hub.config import get_config

    target = get_config().targets.get(row.target)
    return target.account if target is not None else row.target


def set_flag(session: Session, key: str, value: dict[str, Any], *, now: datetime, until: datetime | None) -> None:
    row = session.get(ChannelStateRow, key)
    if row is None:
        session.add(ChannelStateRow(key=key, value=value, expires_at=until, updated_at=now))
    else:
        row.value, row.expires_at, row.updated_at = value, until, now


def get_flag(session: Session, key: str, *, now: datetime) -> ChannelStateRow | None:
    """The flag if set and not expired."""
    row = session.get(ChannelStateRow, key)
    if row is None or (row.expires_at is not None and row.expires_at <= now):
        return None
    return row


def clear_flag(session: Session, key: str) -> None:
    row = session.get(ChannelStateRow, key)
    if row is not None:
        session.delete(row)


def flags(session: Session | Connection, *, now: datetime) -> list[Row[Any]]:
    """Account flags currently in force (quota-exhausted:*, auth-expired:*): rows with key, value, expires_at.

    Read on every delivery attempt, hence one prebuilt Core statement rather than an ORM query.
    """
    conn = session.connection() if isinstance(session, Session) else session
    rows = conn.execute(_FLAGS).all()
    return [r for r in rows if r.expires_at is None or r.expires_at > now]


_FLAG_KEYS = ChannelStateRow.key.like("quota-exhausted:%") | ChannelStateRow.key.like("auth-expired:%")
_FLAGS = select(ChannelStateRow.__table__).where(_FLAG_KEYS)
#: how many account flags exist, expired or not (a scalar subquery the engine's snapshot carries)
FLAG_COUNT = select(func.count()).select_from(ChannelStateRow.__table__).where(_FLAG_KEYS).scalar_subquery()


# --- the write journal (F14: the send succeeded but the database would not take the result) ------


def journal_dir() -> Path:
    return get_settings().var_dir / "queue-journal"


def journal_write(delivery_id: int, entry: dict[str, Any]) -> Path:
    """Keep a result the database refused, so the sweeper can record it later (never resend)."""
    d = journal_dir()
    d.mkdir(parents=True, exist_ok=True)
    path = d / f"{delivery_id}-{entry['attempt']}.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(entry, ensure_ascii=False), "utf-8")
    os.replace(tmp, path)
    return path


def journal_entries() -> list[tuple[Path, dict[str, Any]]]:
    d = journal_dir()
    if not d.exists():
        return []
    out = []
    for path in sorted(d.glob("*.json")):
        try:
            out.append((path, json.loads(path.read_text("utf-8"))))
        except (OSError, ValueError):
            continue
    return out
