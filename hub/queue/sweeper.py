"""The periodic jobs that make the database, not the broker, the queue of record.

* ``requeue_due``: hint the broker about every due row (``queued``/``retry_wait`` → deliver,
  ``unknown`` → reconcile, ``submitted`` → confirm) that was not hinted recently. After a
  broker restart without persistence, or a crash of the embedded process, this is what
  picks the work up again (F5).
* ``sweep_leases``: ``sending`` rows whose lease ran out belong to a dead worker: ``unknown``
  for reconciliation, never straight back to ``queued`` (F2); a row that killed its worker
  ``max_redeliveries`` times is ``failed`` (F10).
* ``expire_stale``: rows past ``not_after`` that were never sent become ``expired`` (F11).
* ``replay_journal``: results the database refused after a successful send (F14).
* ``watchdog``: rows older than their state's limit, for ``hub status`` and alerts (F6).

Every step is a set of conditional updates, so running it in several processes at
once is safe (at worst a duplicate hint, which the claim turns into a no-op).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from hub.queue import ledger
from hub.queue.context import Deps
from hub.queue.deliver import receipt_from_json, record_decision, record_receipt
from hub.queue.policy import Action, Decision
from hub.queue.queues import deliver_actor
from hub.queue.states import State
from hub.store.models import DeliveryRow

log = logging.getLogger("hub.queue.sweeper")

#: (actor name, delivery id, delay seconds or None) → a broker message
Hint = Callable[[str, int, float | None], None]

ACTOR_FOR_STATE = {State.QUEUED: "deliver", State.RETRY_WAIT: "deliver", State.UNKNOWN: "reconcile",
                   State.SUBMITTED: "confirm"}
#: rows per pass (F20: due rows are selected with a LIMIT and an order, never all at once)
BATCH = 1000


def requeue_due(hint: Hint, *, deps: Deps | None = None, grace: float | None = None, limit: int = BATCH) -> int:
    """Hint every due row not hinted within ``grace`` seconds; returns how many were hinted."""
    d = deps or Deps()
    now = d.clock()
    grace_s = d.settings.hint_grace if grace is None else grace
    cutoff = now - timedelta(seconds=grace_s)
    with d.sessions() as s:
        rows = s.execute(
            select(DeliveryRow.id, DeliveryRow.state, DeliveryRow.channel, DeliveryRow.purpose)
            .where(DeliveryRow.state.in_(list(ACTOR_FOR_STATE)),
                   DeliveryRow.needs_attention.is_(False),
                   or_(DeliveryRow.next_attempt_at.is_(None), DeliveryRow.next_attempt_at <= now),
                   or_(DeliveryRow.hinted_at.is_(None), DeliveryRow.hinted_at <= cutoff))
            .order_by(DeliveryRow.next_attempt_at, DeliveryRow.id).limit(limit)).all()
        ids = [r.id for r in rows]
        if ids:
            from sqlalchemy import update

            s.execute(update(DeliveryRow).where(DeliveryRow.id.in_(ids)).values(hinted_at=now)
                      .execution_options(synchronize_session=False))
    for delivery_id, state, channel, purpose in rows:
        actor = ACTOR_FOR_STATE[State(state)]
        if actor == "deliver":  # the send goes on the queue of its kind of work (a video render on its own)
            actor = deliver_actor(channel, purpose)
        hint(actor, delivery_id, None)
    return len(rows)


def sweep_leases(*, deps: Deps | None = None) -> int:
    """``sending`` rows past their lease → ``unknown`` (or ``failed`` after too many dead workers)."""
    d = deps or Deps()
    now = d.clock()
    moved = 0
    with d.sessions() as s:
        rows = s.execute(select(DeliveryRow.id, DeliveryRow.attempts, DeliveryRow.redeliveries)
                         .where(DeliveryRow.state == State.SENDING, DeliveryRow.lease_expires_at <= now)
                         .limit(BATCH)).all()
    for delivery_id, attempts, redeliveries in rows:
        with d.sessions() as s:
            if redeliveries + 1 >= d.settings.max_redeliveries:
                ok = ledger.move(s, delivery_id, State.SENDING, State.FAILED, actor="sweeper", now=now,
                                 attempts=attempts, error_class="WorkerLost",
                                 message=f"the worker died {redeliveries + 1} times holding this delivery; "
                                         "it may have been sent: check the platform before publishing again",
                                 values={"redeliveries": redeliveries + 1, "lease_expires_at": None,
                                         "needs_attention": True})
            else:
                due = now
                ok = ledger.move(s, delivery_id, State.SENDING, State.UNKNOWN, actor="sweeper", now=now,
                                 attempts=attempts, error_class="WorkerLost",
                                 message="lease expired: the worker died during the attempt; reconciling",
                                 values={"redeliveries": redeliveries + 1, "lease_expires_at": None,
                                         "next_attempt_at": due})
        moved += int(ok)
    return moved


def expire_stale(*, deps: Deps | None = None) -> int:
    """Unsent rows past ``not_after`` → ``expired`` (never sent late)."""
    d = deps or Deps()
    now = d.clock()
    n = 0
    with d.sessions() as s:
        rows = s.execute(select(DeliveryRow.id, DeliveryRow.state, DeliveryRow.not_after)
                         .where(DeliveryRow.state.in_([State.QUEUED, State.RETRY_WAIT, State.UNKNOWN,
                                                       State.SUBMITTED]),
                                DeliveryRow.not_after.is_not(None), DeliveryRow.not_after <= now)
                         .limit(BATCH)).all()
    for delivery_id, state, not_after in rows:
        if state == State.UNKNOWN:
            continue  # may have been sent: a person or the reconciler decides, not the clock
        with d.sessions() as s:
            n += int(ledger.move(s, delivery_id, state, State.EXPIRED, actor="sweeper", now=now,
                                 error_class="Expired",
                                 message=f"past its not_after {not_after}; not sent late",
                                 values={"next_attempt_at": None}))
    return n


def replay_journal(*, deps: Deps | None = None) -> int:
    """Record results that were journalled because the database refused them after a send."""
    d = deps or Deps()
    n = 0
    for path, entry in ledger.journal_entries():
        delivery_id = int(path.stem.split("-")[0])
        attempt = int(entry["attempt"])
        at = datetime.fromisoformat(entry["at"])
        with d.sessions() as s:
            if "receipt" in entry:
                record_receipt(s, delivery_id, attempt, receipt_from_json(entry["receipt"]),
                               actor=str(entry.get("actor", "journal")), now=at, settings=d.settings,
                               note="recorded from the journal")
            else:
                dec = entry["decision"]
                record_decision(s, delivery_id, attempt,
                                Decision(Action(dec["action"]), dec.get("delay"), dec["reason"], dec.get("flag")),
                                error_class=str(entry["error_class"]), actor=str(entry.get("actor", "journal")),
                                now=at, settings=d.settings, account="")
        path.unlink(missing_ok=True)
        n += 1
    return n


@dataclass(frozen=True, slots=True)
class Stuck:
    id: int
    state: str
    age_s: float
    reason: str


def watchdog(s: Session, *, now: datetime, deps: Deps | None = None) -> list[Stuck]:
    """Rows older than their state's limit (or waiting for a person), oldest first."""
    st = (deps or Deps()).settings
    out: list[Stuck] = []
    rows = s.execute(select(DeliveryRow.id, DeliveryRow.state, DeliveryRow.updated_at, DeliveryRow.next_attempt_at,
                            DeliveryRow.lease_expires_at, DeliveryRow.needs_attention, DeliveryRow.receipt,
                            DeliveryRow.last_error_class, DeliveryRow.last_error_msg)
                     .where(DeliveryRow.state.not_in([State.CONFIRMED, State.FAILED, State.EXPIRED,
                                                      State.CANCELLED]))).all()
    for r in rows:
        age = (now - r.updated_at).total_seconds()
        reason = ""
        if r.needs_attention:
            reason = "waiting for a person"
        elif r.state == State.UNKNOWN:
            reason = "outcome unknown: reconciling"
        elif r.state == State.SENDING and r.lease_expires_at is not None and r.lease_expires_at <= now:
            reason = "sending past its lease"
        elif r.state in (State.QUEUED, State.RETRY_WAIT):
            due = r.next_attempt_at or r.updated_at
            if (now - due).total_seconds() > st.queued_stuck:
                reason = f"due for more than {st.queued_stuck:.0f} s"
        elif r.state == State.SUBMITTED:
            # every status poll touches updated_at: the age that matters is since the platform accepted
            age = (now - _accepted_at(r.receipt, r.updated_at)).total_seconds()
            if r.last_error_class:
                # the last status poll could not call it fine (e.g. SMS numbers without any report)
                reason = f"status poll: {r.last_error_msg or r.last_error_class}"[:300]
            elif age > st.submitted_stuck:
                reason = f"not confirmed within {st.submitted_stuck:.0f} s"
        if reason:
            out.append(Stuck(r.id, r.state, age, reason))
    out.sort(key=lambda x: -x.age_s)
    return out


def _accepted_at(receipt: Any, fallback: datetime) -> datetime:
    """When the platform accepted a ``submitted`` row (its receipt), else ``fallback``."""
    try:
        at = datetime.fromisoformat(str((receipt or {})["accepted_at"]))
    except (KeyError, TypeError, ValueError):
        return fallback
    return at if at.tzinfo is not None else fallback


#: channel_state key of the engine's heartbeat (the last maintenance pass of any process)
HEARTBEAT_KEY = "engine-heartbeat"
#: a maintenance pass older than this means no worker is running (plan H.2)
HEALTHY_WITHIN_S = 120.0


def tick(hint: Hint, *, deps: Deps | None = None, grace: float | None = None) -> dict[str, Any]:
    """One maintenance pass: journal, leases, expiry, hints for everything due, then the heartbeat."""
    d = deps or Deps()
    counts = {"journal": replay_journal(deps=d), "leases": sweep_leases(deps=d), "expired": expire_stale(deps=d)}
    counts["hinted"] = requeue_due(hint, deps=d, grace=grace)
    now = d.clock()
    with d.sessions() as s:
        ledger.set_flag(s, HEARTBEAT_KEY, {"by": ledger.worker_name(), "at": now.isoformat(), **counts},
                        now=now, until=None)
    return counts


def health(s: Session, *, now: datetime) -> dict[str, Any]:
    """Is a worker running? ``ok`` is False when no maintenance pass ran within ``HEALTHY_WITHIN_S``."""
    from hub.store.models import ChannelStateRow

    row = s.get(ChannelStateRow, HEARTBEAT_KEY)
    if row is None:
        return {"ok": False, "last_pass": None, "by": None, "reason": "no worker has run yet"}
    age = (now - row.updated_at).total_seconds()
    ok = age <= HEALTHY_WITHIN_S
    return {"ok": ok, "last_pass": row.updated_at.isoformat(), "by": (row.value or {}).get("by"),
            "reason": None if ok else f"no maintenance pass for {age:.0f} s: is a worker running?"}
