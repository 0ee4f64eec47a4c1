"""Poll ``submitted`` deliveries until the platform says delivered or failed.

Some acceptances are not final: a WeChat publish job runs for minutes, SMS receipts
arrive later, the TV package counts only when the station collected it. The
confirm step asks ``channel.status(receipt, target)`` on a growing schedule
(``confirm_first`` doubling up to ``confirm_max``); past the rendition's
``not_after`` an unconfirmed delivery is ``expired`` (e.g. never collected).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.deliverables import DeliveryStatus
from hub.errors import ChannelError
from hub.queue import ledger
from hub.queue.context import Deps
from hub.queue.deliver import Outcome, receipt_from_json
from hub.queue.states import State
from hub.store.models import DeliveryRow
from hub.timeutil import utcnow


def confirm_one(delivery_id: int, *, deps: Deps | None = None, **overrides: Any) -> Outcome:
    """One status poll of a ``submitted`` row (a no-op for any other state or when not due)."""
    d = Deps.of(deps, overrides)
    actor = d.actor or ledger.worker_name()
    now = d.clock()
    with d.sessions() as s:
        row = s.get(DeliveryRow, delivery_id)
        if row is None:
            return Outcome(delivery_id, None, note="no such delivery")
        if row.state != State.SUBMITTED:
            return Outcome(delivery_id, row.state, note="nothing to confirm")
        if row.next_attempt_at is not None and row.next_attempt_at > now:
            return Outcome(delivery_id, row.state, note="not due yet")
        data = dict(row.receipt or {})
        name, target_name, not_after = row.channel, row.target, row.not_after
    if not data.get("provider_ref"):
        data = {"provider_ref": "", "accepted_at": now.isoformat()}
    polls = int(data.get("polls", 0)) + 1
    data["polls"] = polls
    if not_after is not None and not_after <= now:
        with d.sessions() as s:
            ledger.move(s, delivery_id, State.SUBMITTED, State.EXPIRED, actor=actor, now=now, error_class="Expired",
                        message=f"not confirmed before its not_after {not_after.isoformat()}",
                        values={"next_attempt_at": None})
        return Outcome(delivery_id, State.EXPIRED)
    channel = d.channels(name)
    delay = min(d.settings.confirm_max, d.settings.confirm_first * (2 ** min(polls, 20)))
    try:
        status = channel.status(receipt_from_json(data), d.targets(target_name))
    except ChannelError as exc:
        now = d.clock()  # the poll may have taken a while: stamp what happened when it happened
        with d.sessions() as s:
            r = s.get(DeliveryRow, delivery_id)
            if r is not None and r.state == State.SUBMITTED:
                r.receipt = data
                r.next_attempt_at = r.hinted_at = now + timedelta(seconds=delay)
                r.last_error_class, r.last_error_msg = type(exc).__name__, ledger.clean(f"status poll: {exc.message}")
                r.updated_at = now
        return Outcome(delivery_id, State.SUBMITTED, then="confirm", delay=delay, note="poll failed")
    now = d.clock()  # after the poll (SMS report pulls, WeChat): the transition is stamped when it happened
    with d.sessions() as s:
        if status == DeliveryStatus.DELIVERED:
            ok = ledger.move(s, delivery_id, State.SUBMITTED, State.CONFIRMED, actor=actor, now=now,
                             message=f"{name} confirmed after {polls} poll(s)",
                             values={"receipt": data, "next_attempt_at": None, "last_error_class": None,
                                     "last_error_msg": None})
            return Outcome(delivery_id, State.CONFIRMED if ok else None)
        if status == DeliveryStatus.FAILED:
            ok = ledger.move(s, delivery_id, State.SUBMITTED, State.FAILED, actor=actor, now=now,
                             error_class="Failed", message=f"{name} accepted it but then reported failure",
                             values={"receipt": data, "next_attempt_at": None})
            return Outcome(delivery_id, State.FAILED if ok else None)
        r = s.get(DeliveryRow, delivery_id)
        if r is not None and r.state == State.SUBMITTED:
            r.receipt = data
            r.next_attempt_at = r.hinted_at = now + timedelta(seconds=delay)
            r.last_error_class = r.last_error_msg = None  # a clean poll: the watchdog's flag goes away
            r.updated_at = now
    return Outcome(delivery_id, State.SUBMITTED, then="confirm", delay=delay, note="pending")


def poll_now(session: Session, *, provider_ref: str | None = None, delivery_id: int | None = None) -> list[int]:
    """Make matching ``submitted`` rows due for a status poll now (e.g. the TV station just collected).

    Returns their ids; the caller hints ``confirm`` for each after committing (or lets the
    maintenance loop find them).
    """
    query = select(DeliveryRow).where(DeliveryRow.state == State.SUBMITTED)
    if provider_ref is not None:
        query = query.where(DeliveryRow.provider_ref == provider_ref)
    if delivery_id is not None:
        query = query.where(DeliveryRow.id == delivery_id)
    rows = list(session.scalars(query))
    now = utcnow()
    for row in rows:
        row.next_attempt_at = now
        row.hinted_at = None
    return [r.id for r in rows]
