"""Resolve an ``unknown`` delivery without ever resending blindly (reliability.md F1, F2, F13).

``unknown`` means the platform may have the post (a timeout after sending, a dropped
connection, a duplicate rejection, a worker that died holding the row). So:

* an idempotent channel (web upsert, TV replace-by-id) may simply be sent again;
* a channel that can look up asks the platform by the idempotency key: found →
  ``submitted``/``confirmed``; not found → ``queued`` (only then is it sent again);
  a lookup that cannot tell (it raises) keeps the row ``unknown`` and asks again
  later, and after ``unknown_hold`` seconds of that the row waits for a person;
  a row the platform refused as a repeat (``DuplicateRejected``) that the lookup
  still cannot find waits for a person too: resending would only be refused
  again, in a loop (issue 18);
* any other channel waits for a person: ``needs_attention`` and listed first by ``hub status``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hub.deliverables import Receipt
from hub.errors import ChannelError
from hub.queue import ledger
from hub.queue.context import Deps
from hub.queue.deliver import Outcome, receipt_json
from hub.queue.policy import backoff
from hub.queue.states import State
from hub.store.models import DeliveryEventRow, DeliveryRow


def reconcile_one(delivery_id: int, *, deps: Deps | None = None, **overrides: Any) -> Outcome:
    """One reconciliation step for an ``unknown`` row (a no-op for any other state)."""
    d = Deps.of(deps, overrides)
    actor = d.actor or ledger.worker_name()
    now = d.clock()
    with d.sessions() as s:
        row = s.get(DeliveryRow, delivery_id)
        if row is None:
            return Outcome(delivery_id, None, note="no such delivery")
        if row.state != State.UNKNOWN or row.needs_attention:
            return Outcome(delivery_id, row.state, note="nothing to reconcile")
        if row.next_attempt_at is not None and row.next_attempt_at > now:
            return Outcome(delivery_id, row.state, note="not due yet")
        name, target_name, key, attempts = row.channel, row.target, row.idempotency_key, row.attempts
        withdrawing = row.purpose == "withdraw"
        refused_as_repeat = row.last_error_class == "DuplicateRejected"
    channel = d.channels(name)
    target = d.targets(target_name)

    # a withdrawal step is idempotent on every channel: a delete of what is already gone succeeds
    # (each adapter's ``withdraw`` says so), and an SMS notice never goes twice to a number whose
    # result is known (the per-recipient ledger), so an unknown one is simply run again
    if getattr(channel, "idempotent_upsert", False) or withdrawing:
        with d.sessions() as s:
            ok = ledger.move(s, delivery_id, State.UNKNOWN, State.QUEUED, actor=actor, now=now, attempts=attempts,
                             message="idempotent step: running it again replaces, never duplicates",
                             values={"next_attempt_at": now, "hinted_at": now})
        return Outcome(delivery_id, State.QUEUED if ok else None, then="deliver" if ok else None, delay=0)

    if not getattr(channel, "can_lookup", False):
        with d.sessions() as s:
            hold(s, delivery_id, now=now, reason=f"{name} cannot tell whether the post landed: a person must check "
                 "the platform, then retry or cancel")
        return Outcome(delivery_id, State.UNKNOWN, note="needs attention")

    try:
        found: Receipt | None = channel.lookup(target, key)
    except ChannelError as exc:
        now = d.clock()  # a lookup pages the platform: stamp what happened when it happened
        delay = backoff(2, d.settings)
        with d.sessions() as s:
            since = unknown_since(s, delivery_id)
            if since is not None and (now - since).total_seconds() >= d.settings.unknown_hold:
                hold(s, delivery_id, now=now, reason=f"the platform could not say for {d.settings.unknown_hold:.0f} s "
                     f"whether the post landed ({ledger.clean(exc.message)}): a person must check, then retry "
                     "or cancel")
                return Outcome(delivery_id, State.UNKNOWN, note="needs attention: lookup inconclusive")
            r = s.get(DeliveryRow, delivery_id)
            if r is not None and r.state == State.UNKNOWN:
                r.next_attempt_at = r.hinted_at = now + timedelta(seconds=delay)
                r.last_error_class, r.last_error_msg = type(exc).__name__, ledger.clean(f"lookup failed: {exc.message}")
                r.updated_at = now
        return Outcome(delivery_id, State.UNKNOWN, then="reconcile", delay=delay, note="lookup failed")

    now = d.clock()  # after the lookup (a Weibo timeline read back page by page can take a while)
    with d.sessions() as s:
        if found is None and refused_as_repeat:
            hold(s, delivery_id, now=now, reason=f"{name} refused the post as a repeat, yet the lookup cannot find "
                 "it: a person must check the platform, then retry or cancel")
            return Outcome(delivery_id, State.UNKNOWN, note="needs attention: refused as a repeat, not found")
        if found is None:
            ok = ledger.move(s, delivery_id, State.UNKNOWN, State.QUEUED, actor=actor, now=now, attempts=attempts,
                             message="lookup: the platform does not have it; sending again",
                             values={"next_attempt_at": now, "hinted_at": now})
            return Outcome(delivery_id, State.QUEUED if ok else None, then="deliver" if ok else None, delay=0)
        dst = State.CONFIRMED if found.confirmed else State.SUBMITTED
        due = None if found.confirmed else now + timedelta(seconds=d.settings.confirm_first)
        ok = ledger.move(s, delivery_id, State.UNKNOWN, dst, actor=actor, now=now, attempts=attempts,
                         message="lookup: the platform has it (no resend)",
                         values={"provider_ref": found.provider_ref[:200], "receipt": receipt_json(found),
                                 "next_attempt_at": due, "hinted_at": due, "lease_expires_at": None,
                                 "last_error_class": None, "last_error_msg": None})
    if not ok:
        return Outcome(delivery_id, None, note="moved meanwhile")
    return Outcome(delivery_id, dst, then="confirm" if dst == State.SUBMITTED else None,
                   delay=d.settings.confirm_first if dst == State.SUBMITTED else None)


def unknown_since(s: Session, delivery_id: int) -> datetime | None:
    """When the row last became ``unknown`` (its latest event into that state)."""
    at = s.scalar(select(func.max(DeliveryEventRow.at)).where(DeliveryEventRow.delivery_id == delivery_id,
                                                              DeliveryEventRow.to_state == State.UNKNOWN))
    if at is not None and at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at


def hold(s: Session, delivery_id: int, *, now: Any, reason: str) -> None:
    """Mark an unknown row as waiting for a person (no state change: it is still unknown)."""
    row = s.get(DeliveryRow, delivery_id)
    if row is None or row.state != State.UNKNOWN:
        return
    row.needs_attention = True
    row.next_attempt_at = None
    row.last_error_msg = ledger.clean(f"{row.last_error_msg or ''} — {reason}".strip(" —"))
    row.updated_at = now
