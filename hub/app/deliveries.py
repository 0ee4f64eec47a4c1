"""Publishing and a person's actions on single deliveries (see ``hub.app``).

Every function takes ``actor`` as a ``UserRow`` (the console, signed in) or a user name
(the CLI's ``--as``, trusted on the server as before); ``via`` (``cli``/``console``) goes into
the audit row. Errors an editor may read are ``WorkflowError``/``NotFound`` in Chinese.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.errors import InputError, NotFound, WorkflowError
from hub.store.models import DeliveryEventRow, DeliveryRow, UserRow
from hub.timeutil import SHANGHAI, to_local, utcnow

Actor = UserRow | str

#: error classes whose failed delivery a re-send cannot fix: the content itself must change
CONTENT_ERRORS = {"Permanent": "平台拒绝了这条内容", "RenderError": "内容不符合该渠道的规则",
                  "QCFailed": "视频包质量检查未通过"}


def actor_name(actor: Actor) -> str:
    return actor if isinstance(actor, str) else actor.name


def _audit(s: Session, actor: Actor, action: str, subject: str, **detail: Any) -> None:
    from hub.store import repo

    repo.audit(s, actor_name(actor), action, subject, **detail)


def wake(ids: Iterable[int] = ()) -> None:
    """After a commit: hint the engine for ``ids`` and run a maintenance pass now (best effort).

    Hints are only hints (the sweeper would find due rows anyway), so a broker that is
    not reachable right now is not an error for the person who clicked.
    """
    from hub.queue.actors import hint
    from hub.queue.runtime import kick

    for delivery_id in ids:
        try:
            hint("deliver", delivery_id, None)
        except Exception:  # noqa: BLE001 - a lost hint is recovered by requeue_due
            break
    kick()


def parse_local_time(text: str) -> datetime:
    """``YYYY-MM-DD hh:mm`` (Asia/Shanghai, as the office reads a clock) → an aware UTC instant."""
    value = text.strip().replace("T", " ")
    for fmt in ("%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"):
        try:
            return datetime.strptime(value, fmt).replace(tzinfo=SHANGHAI).astimezone(UTC)
        except ValueError:
            continue
    raise InputError(f"--at: 时间格式应为 YYYY-MM-DD hh:mm（北京时间），收到 {text!r}")


@dataclass(frozen=True, slots=True)
class Published:
    """What a publish did: the version, its delivery ids, and when they are due (None = now)."""

    record_id: str
    version: str
    ids: list[int]
    scheduled_at: datetime | None


def proposed_time(ref: str) -> datetime | None:
    """The record's own 公开日期 when it lies in the future: what the console proposes for 定时发布."""
    from hub.store import repo
    from hub.store.db import session_scope

    with session_scope() as s:
        _, record = repo.get_version(s, ref)
    when = record.published_at
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=SHANGHAI)
    return when if when > utcnow() else None


def publish(ref: str, *, actor: Actor, channels: Iterable[str] | None = None, at: datetime | None = None,
            via: str = "cli", material: bool = False) -> Published:
    """Publish an approved version to every routed target, now or at ``at`` (定时发布); idempotent.

    The workflow transition writes the ``record.publish`` audit row; a schedule adds one
    ``delivery.schedule`` row (the time is a decision of its own). Rows due now are hinted.
    An approved new version of a record that is already published is a correction
    (``hub.app.lifecycle.correct``; ``material`` decides whether SMS and the desk hear of it).
    """
    from hub.auth import get_user
    from hub.queue.publish import publish as create
    from hub.queue.states import State
    from hub.store import repo
    from hub.store.db import session_scope

    now = utcnow()
    if at is None and channels is None:
        from hub.app.lifecycle import correct, previous_published

        with session_scope() as s:
            row, _ = repo.get_version(s, ref)
            corrects = row.state == "approved" and previous_published(s, row) is not None
        if corrects:
            done = correct(ref, actor=actor, material=material, via=via)
            return Published(done.record_id, done.version, done.ids + done.takedowns, None)
    if at is not None and at <= now:
        raise WorkflowError(f"定时发布时间 {to_local(at):%Y-%m-%d %H:%M} 已过，请选择将来的时间或立即发布")
    with session_scope() as s:
        who: Actor = actor
        if isinstance(actor, str):
            who = get_user(s, actor) or actor
        rows = create(s, ref, actor=who, channels=channels, now=now, at=at)
        if not rows:
            raise WorkflowError("路由配置没有为这条记录选出任何发布渠道，请检查 channels.toml 的 routes")
        record_id, version = rows[0].record_id, rows[0].version
        ids = [r.id for r in rows]
        fresh = [r.id for r in rows if r.state == State.QUEUED and r.scheduled_at is None]
        if at is not None:
            _audit(s, actor, "delivery.schedule", record_id, version=version, at=at.isoformat(),
                   deliveries=len(ids), via=via)
    wake(fresh)
    return Published(record_id, version, ids, at)


def _scheduled(s: Session, ref: str) -> tuple[str, str, list[DeliveryRow]]:
    from hub.store import repo

    row, _ = repo.get_version(s, ref)
    rows = list(s.scalars(select(DeliveryRow).where(DeliveryRow.version == row.version,
                                                    DeliveryRow.state == "queued",
                                                    DeliveryRow.scheduled_at.is_not(None))))
    if not rows:
        raise WorkflowError(f"{row.record_id} 没有等待定时发布的投递")
    return row.record_id, row.version, rows


def publish_now(ref: str, *, actor: Actor, via: str = "cli") -> list[int]:
    """定时 → 立即: every scheduled row of the version becomes due now (one audit row)."""
    from hub.queue import ledger
    from hub.store.db import session_scope

    now = utcnow()
    with session_scope() as s:
        record_id, version, rows = _scheduled(s, ref)
        ids = [r.id for r in rows if ledger.reschedule(s, r.id, None, f"user:{actor_name(actor)}", now=now)]
        _audit(s, actor, "delivery.publish_now", record_id, version=version, deliveries=len(ids), via=via)
    wake(ids)
    return ids


def cancel_schedule(ref: str, *, actor: Actor, via: str = "cli") -> list[int]:
    """Cancel every scheduled, not yet sent row of the version (one audit row)."""
    from hub.queue import ledger
    from hub.store.db import session_scope

    with session_scope() as s:
        record_id, version, rows = _scheduled(s, ref)
        ids = [ledger.cancel(s, r.id, actor_name(actor)).id for r in rows]
        _audit(s, actor, "delivery.cancel_schedule", record_id, version=version, deliveries=len(ids), via=via)
    return ids


def _row(s: Session, delivery_id: int) -> DeliveryRow:
    row = s.get(DeliveryRow, delivery_id)
    if row is None:
        raise NotFound(f"没有编号为 {delivery_id} 的投递")
    return row


def why_not_retry(row: DeliveryRow) -> str | None:
    """None when a retry is possible now; otherwise the reason in words an editor reads."""
    if row.state in ("retry_wait", "unknown"):
        return None
    if row.state == "failed" and row.purpose == "digest":  # hub.audience.digest: its members are the unit
        return "汇总短信不能整体重发：请分别重试其中各条记录的短信投递（同时重试的会再合并为一条）"
    if row.state == "failed":
        cause = CONTENT_ERRORS.get(row.last_error_class or "")
        if cause:
            return f"{cause}，原样重发仍会失败：请修改记录、审核通过新版本后再发布"
        return None
    words = {"confirmed": "已送达，无需重试", "cancelled": "已取消；如仍需发送，请重新发布",
             "expired": "已超过该渠道的有效发送时间，过时的内容不再发送",
             "queued": "已在排队，系统会自动发送", "sending": "正在发送，请等结果出来",
             "submitted": "平台已接收，正在等待平台确认"}
    return words.get(row.state, f"当前状态 {row.state} 不能重试")


def retry(delivery_id: int, *, actor: Actor, via: str = "cli") -> DeliveryRow:
    """Send again: a waiting/unknown row goes back to the queue; a failed row whose cause is fixed is
    re-sent as a new delivery (terminal rows are write-once), linked by its event message.

    Refused with the reason in Chinese (``why_not_retry``) otherwise.
    """
    from hub.queue import ledger
    from hub.queue.publish import _not_after
    from hub.queue.states import State
    from hub.store.db import session_scope

    name = actor_name(actor)
    now = utcnow()
    with session_scope() as s:
        row = _row(s, delivery_id)
        reason = why_not_retry(row)
        if reason:
            raise WorkflowError(f"投递 {delivery_id} 不能重试：{reason}")
        if row.state != State.FAILED:
            out = ledger.retry(s, delivery_id, name, now=now)
            _audit(s, actor, "delivery.retry", out.record_id, delivery=delivery_id, channel=out.channel,
                   target=out.target, via=via)
            result = out
        else:
            key = ledger.idempotency_key(row.record_id, row.version, row.channel, row.target, row.purpose,
                                         f"resend:{row.id}")
            again = s.scalar(select(DeliveryRow).where(DeliveryRow.idempotency_key == key))
            if again is None:
                again = DeliveryRow(record_id=row.record_id, version=row.version, channel=row.channel,
                                    target=row.target, idempotency_key=key, state=State.QUEUED, attempts=0,
                                    redeliveries=0, next_attempt_at=now, not_after=_not_after(row.channel, now),
                                    needs_attention=False, created_at=now, updated_at=now, hinted_at=now,
                                    purpose=row.purpose, origin_id=row.origin_id)
                s.add(again)
                s.flush()
                ledger.created_event(s, again, actor=f"user:{name}", now=now,
                                     message=f"re-send of failed delivery {row.id}")
                _audit(s, actor, "delivery.retry", row.record_id, delivery=delivery_id, resend=again.id,
                       channel=row.channel, target=row.target, via=via)
            result = again
        s.flush()
        s.expunge(result)
    wake([result.id])
    return result


def cancel(delivery_id: int, *, actor: Actor, via: str = "cli") -> DeliveryRow:
    """Cancel a row that has not been sent (or whose outcome a person judged)."""
    from hub.queue import ledger
    from hub.store.db import session_scope

    with session_scope() as s:
        row = ledger.cancel(s, delivery_id, actor_name(actor))
        _audit(s, actor, "delivery.cancel", row.record_id, delivery=delivery_id, channel=row.channel,
               target=row.target, via=via)
        s.expunge(row)
    return row


def mark_delivered(delivery_id: int, *, actor: Actor, note: str, via: str = "cli") -> DeliveryRow:
    """A person confirmed it outside any API (the desk by phone): ``confirmed``, with the note."""
    from hub.queue import ledger
    from hub.store.db import session_scope

    with session_scope() as s:
        row = ledger.mark_delivered(s, delivery_id, actor_name(actor), note)
        _audit(s, actor, "delivery.mark_delivered", row.record_id, delivery=delivery_id, channel=row.channel,
               target=row.target, note=note.strip(), via=via)
        s.expunge(row)
    return row


@dataclass(frozen=True, slots=True)
class Event:
    """One step of a delivery's history, as the console and ``hub events`` show it."""

    at: datetime
    actor: str
    from_state: str | None
    to_state: str
    error_class: str | None
    message: str | None


def events(delivery_id: int) -> tuple[DeliveryRow, list[Event]]:
    """A delivery and its append-only event history, oldest first."""
    from hub.store.db import session_scope

    with session_scope() as s:
        row = _row(s, delivery_id)
        evs = [Event(e.at, e.actor, e.from_state, e.to_state, e.error_class, e.message)
               for e in s.scalars(select(DeliveryEventRow).where(DeliveryEventRow.delivery_id == delivery_id)
                                  .order_by(DeliveryEventRow.id))]
        s.expunge(row)
    return row, evs


__all__ = ["Published", "cancel", "cancel_schedule", "events", "mark_delivered", "parse_local_time",
           "proposed_time", "publish", "publish_now", "retry", "why_not_retry"]
