"""Withdrawal (撤回) of a published record on every channel, as one action.

``withdraw`` marks the version ``withdrawn`` (the workflow writes the one audit row, with the
reason), cancels what has not been sent yet (a 定时 publication included), and adds one
ledger row with purpose ``withdraw`` per delivery that reached a platform: the engine then
runs each adapter's ``withdraw(receipt, target, key)`` with the same exactly-once, retry and
unknown/reconcile rules as a publication. The live portal answers 410 at once and the record
leaves search and the portal's counts in the withdrawal's own transaction (``hub.workflow.transition``);
the static site (a withdrawal notice at the page's address), WeChat, Weibo, SMS, newspaper and TV
follow through the ledger.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

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
        # earlier versions a correction superseded are public too (linked from the 更正说明): each is
        # withdrawn with it (the workflow writes each version's own row)
        earlier = list(s.scalars(select(VersionRow).where(VersionRow.record_id == row.record_id,
                                                          VersionRow.state == "published")))
        for v in earlier:
            workflow.withdraw(s, v, who, comment=reason)
        versions = [row.version, *(v.version for v in earlier)]
        ids: list[int] = []
        cancelled: list[int] = []
        origins = list(s.scalars(select(DeliveryRow).where(DeliveryRow.version.in_(versions),
                                                           DeliveryRow.purpose != "withdraw")
                                 .order_by(DeliveryRow.id)))
        # a post a correction replaced is withdrawn through its replacement (one notice per number)
        replaced = {o.origin_id for o in origins if o.purpose == "correct"}
        for origin in origins:
            if origin.id in replaced:
                continue
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
            ids.append(_step(s, origin, version=origin.version, key=key, purpose="withdraw", not_after=None,
                             now=now, actor=f"user:{name}", message=f"withdraw delivery {origin.id}: {reason}"))
        result = Withdrawal(row.record_id, row.version, ids, cancelled)
    wake(ids)
    return result


# --- correction (更正) -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Correction:
    """What ``correct`` did: the new version's correction deliveries and the old posts' take-down steps."""

    record_id: str
    old_version: str
    version: str
    ids: list[int]
    takedowns: list[int]


def previous_published(s: Session, row: VersionRow) -> VersionRow | None:
    """The record's published version other than ``row`` (what a publication of ``row`` corrects)."""
    return s.scalars(select(VersionRow).where(VersionRow.record_id == row.record_id,
                                              VersionRow.state == "published",
                                              VersionRow.version != row.version)
                     .order_by(VersionRow.created_at.desc())).first()


def version_diff(s: Session, row: VersionRow) -> list[str]:
    """A unified diff (difflib) of the published version and ``row``, line by line of the record's text."""
    import difflib

    from hub.checks.text import record_lines
    from hub.store.repo import record_of

    old = previous_published(s, row)
    if old is None:
        return []
    a, b = record_lines(record_of(old)), record_lines(record_of(row))
    return list(difflib.unified_diff(a, b, fromfile=f"已发布 {old.version[:12]}", tofile=f"本版本 {row.version[:12]}",
                                     lineterm="", n=1))


def _step(s: Session, origin: DeliveryRow, *, version: str, key: str, purpose: str, not_after: datetime | None,
          now: datetime, actor: str, message: str) -> int:
    """A queued ledger row that corrects or undoes ``origin`` (same channel and target), with its event; its id."""
    from hub.queue import ledger

    step = DeliveryRow(record_id=origin.record_id, version=version, channel=origin.channel, target=origin.target,
                       idempotency_key=key, state="queued", attempts=0, redeliveries=0, next_attempt_at=now,
                       not_after=not_after, needs_attention=False, created_at=now, updated_at=now, hinted_at=now,
                       purpose=purpose, origin_id=origin.id)
    s.add(step)
    s.flush()
    ledger.created_event(s, step, actor=actor, now=now, message=message)
    return int(step.id)


def correct(ref: str, *, actor: Actor, material: bool = False, via: str = "cli") -> Correction:
    """Publish an approved new version of a published record as a correction (更正).

    Each channel updates as it allows: a channel that replaces in place (the portal) gets the
    new version; a Correctable channel (WeChat, Weibo, TV) gets the corrected post and a
    take-down step for the old one, run once the new one has settled; a channel that can only
    notify people again (SMS, the newspaper desk) gets the correction only when the editor
    marks the change ``material``. The workflow's ``record.publish`` row (with the comment
    naming the replaced version) is the one audit row.
    """
    from hub import workflow
    from hub.auth import get_user
    from hub.channels.base import Capability
    from hub.channels.registry import declaration
    from hub.queue import ledger
    from hub.queue.publish import _not_after, planned_targets
    from hub.store import repo
    from hub.store.db import session_scope

    now = utcnow()
    name = actor_name(actor)
    with session_scope() as s:
        who: Actor = actor
        if isinstance(actor, str):
            who = get_user(s, actor) or actor
        row, record = repo.get_version(s, ref)
        if row.state != "approved":
            raise WorkflowError(f"版本 {row.version[:12]} 当前为 {row.state}，只有审核通过的新版本才能作为更正发布")
        old = previous_published(s, row)
        if old is None:
            raise WorkflowError(f"{row.record_id} 没有已发布的版本，这是首次发布，不是更正")
        note = f"更正：替换已发布版本 {old.version[:12]}" + ("（重大更正，通知短信和报社）" if material else "")
        workflow.publish(s, row, who, comment=note)
        wanted = set(planned_targets(row, record))
        ids: list[int] = []
        takedowns: list[int] = []
        olds = list(s.scalars(select(DeliveryRow).where(DeliveryRow.version == old.version,
                                                        DeliveryRow.purpose != "withdraw")
                              .order_by(DeliveryRow.id)))
        for origin in olds:
            if origin.target not in wanted or (origin.state not in REACHED and not origin.provider_ref):
                continue
            decl = declaration(origin.channel)
            replaces = Capability.CORRECT in decl.capabilities()
            if not replaces and not decl.idempotent_upsert and not material:
                continue  # a notice to people again: only for a material change
            key = ledger.idempotency_key(row.record_id, row.version, origin.channel, origin.target)
            if s.scalar(select(DeliveryRow.id).where(DeliveryRow.idempotency_key == key)) is None:
                ids.append(_step(s, origin, version=row.version, key=key, purpose="correct",
                                 not_after=_not_after(origin.channel, now), now=now, actor=f"user:{name}",
                                 message=f"correct delivery {origin.id} with version {row.version[:12]}"))
            if replaces:
                tkey = ledger.idempotency_key(origin.record_id, origin.version, origin.channel, origin.target,
                                              "withdraw", str(origin.id))
                if s.scalar(select(DeliveryRow.id).where(DeliveryRow.idempotency_key == tkey)) is None:
                    takedowns.append(_step(s, origin, version=origin.version, key=tkey, purpose="withdraw",
                                           not_after=None, now=now, actor=f"user:{name}",
                                           message=f"take down delivery {origin.id}: replaced by {row.version[:12]}"))
        result = Correction(row.record_id, old.version, row.version, ids, takedowns)
    wake(ids + takedowns)
    return result
