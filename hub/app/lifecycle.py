"""Withdrawal (撤回) of a published record on every channel, as one action.

``withdraw`` marks the version ``withdrawn`` (the workflow writes the one audit row, with the
reason), cancels what has not been sent yet (a 定时 publication included), and adds one
ledger row with purpose ``withdraw`` per delivery that reached a platform: the engine then
runs each adapter's ``withdraw(receipt, target, key)`` with the same exactly-once, retry and
unknown/reconcile rules as a publication. The live portal answers 410 at once and the record
leaves search (which indexes only published versions, synced on every query); the static site, WeChat, Weibo, SMS, newspaper and TV
follow through the ledger.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.app.deliveries import Actor, actor_name, wake
from hub.errors import WorkflowError
from hub.store.models import DeliveryRow, VersionRow
from hub.timeutil import utcnow

#: origin states that may have put something on a platform: each gets a withdrawal step
REACHED = ("confirmed", "submitted", "unknown", "sending")
#: origin states not sent yet: cancelled instead
UNSENT = ("queued", "retry_wait")


@dataclass(frozen=True, slots=True)
class Withdrawal:
    """What ``withdraw`` did: the withdrawn version, the new withdrawal steps, and the cancelled sends."""

    record_id: str
    version: str
    ids: list[int]
    cancelled: list[int]


def _published(s: Session, ref: str) -> VersionRow:
    """The version to withdraw: ``ref`` itself when published, else the record's published version."""
    from hub.store import repo

    row, _ = repo.get_version(s, ref)
    if row.state == "published":
        return row
    found = s.scalars(select(VersionRow).where(VersionRow.record_id == row.record_id,
                                               VersionRow.state == "published")
                      .order_by(VersionRow.created_at.desc())).first()
    if found is None:
        if row.state == "approved":  # approved, never published: the workflow step alone
            return row
        raise WorkflowError(f"{row.record_id} 没有已发布的版本，无需撤回")
    return found


def withdraw(ref: str, *, actor: Actor, reason: str, via: str = "cli") -> Withdrawal:
    """Withdraw a published record everywhere it went (office role; the reason is required)."""
    from hub import workflow
    from hub.auth import get_user
    from hub.queue import ledger
    from hub.store.db import session_scope

    reason = (reason or "").strip()
    if not reason:
        raise WorkflowError("撤回必须写明原因")
    now = utcnow()
    name = actor_name(actor)
    with session_scope() as s:
        who: Actor = actor
        if isinstance(actor, str):
            who = get_user(s, actor) or actor
        row = _published(s, ref)
        workflow.withdraw(s, row, who, comment=reason)  # checks the role; the one audit row
        ids: list[int] = []
        cancelled: list[int] = []
        origins = list(s.scalars(select(DeliveryRow).where(DeliveryRow.version == row.version,
                                                           DeliveryRow.purpose != "withdraw")
                                 .order_by(DeliveryRow.id)))
        for origin in origins:
            if origin.state in UNSENT:
                ledger.cancel(s, origin.id, name, now=now)
                cancelled.append(origin.id)
                continue
            if origin.state not in REACHED and not origin.provider_ref:
                continue  # failed, expired or cancelled before reaching the platform: nothing to undo
            key = ledger.idempotency_key(origin.record_id, origin.version, origin.channel, origin.target,
                                         "withdraw", str(origin.id))
            existing = s.scalar(select(DeliveryRow.id).where(DeliveryRow.idempotency_key == key))
            if existing is not None:
                ids.append(existing)
                continue
            step = DeliveryRow(record_id=origin.record_id, version=origin.version, channel=origin.channel,
                               target=origin.target, idempotency_key=key, state="queued", attempts=0,
                               redeliveries=0, next_attempt_at=now, not_after=None, needs_attention=False,
                               created_at=now, updated_at=now, hinted_at=now, purpose="withdraw",
                               origin_id=origin.id)
            s.add(step)
            s.flush()
            ledger.created_event(s, step, actor=f"user:{name}", now=now,
                                 message=f"withdraw delivery {origin.id}: {reason}")
            ids.append(step.id)
        result = Withdrawal(row.record_id, row.version, ids, cancelled)
    wake(ids)
    return result
