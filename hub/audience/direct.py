"""One SMS to one person, with its own template and its own consent, on the same ledgers as every bulk SMS.

Why not a bulk delivery: the answer notice of a consultation goes to the
asker, who consented to it by leaving a number on the form, not to the
subscriber list; it has no record version or rendition. It is still one row in
the delivery ledger (``deliveries``, idempotency key of its purpose, e.g.
``consult-answer-<id>``) and one row in the recipient ledger (``sms_recipients``),
sent by the same audience engine as a bulk push, so the same rules hold:

* the INSERT of the delivery row is the claim of the key: only the process whose
  insert succeeded sends; anyone else (a double click, a second worker) finds the
  row and stops;
* the row is created ``queued`` and claimed ``sending`` with a lease (the delivery
  engine's own conditional move, fenced by the attempt number): if the process
  dies while the request is out, the lease sweeper makes it ``unknown`` and the
  engine reconciles it through the SMS channel's ``lookup`` (its target resolves
  through ``direct_target``), which asks the platform by number: never a blind resend;
* the number has its recipient row (a number that is no subscriber gets an
  unlisted subscriber row: it keeps its opt-out and is never in a bulk expansion),
  claimed ``sending`` before the request, its result written only on ``sending``,
  its delivery report applied like any other;
* the outcome: ``Ok`` → ``confirmed`` (the operator accepted it; the serial number is
  the provider ref), a per-number refusal or a refused request → ``failed`` with
  the code or in words, an answer that may have landed → ``unknown`` (reconciled,
  never resent blindly), an opted-out number → ``failed`` with ``OptedOut``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hub.audience import recipients as rcp
from hub.audience.expand import expand_one
from hub.audience.subscribers import get_vault
from hub.channels.sms import SmsChannel, rule_for
from hub.config import get_config
from hub.deliverables import Target
from hub.errors import ChannelError, ConfigError
from hub.queue import ledger
from hub.queue.policy import engine_settings
from hub.queue.states import State
from hub.settings import get_settings
from hub.store.db import session_scope
from hub.store.models import DeliveryRow, SmsRecipientRow, SubscriberRow
from hub.timeutil import utcnow

log = logging.getLogger(__name__)

#: who one-recipient notices are sent by, in the event log
ACTOR = "consult"


@dataclass(frozen=True)
class Sent:
    """What happened to one notice: the ledger row and its state (in the ledger's words)."""

    delivery_id: int
    state: str
    note: str


def sms_account() -> str:
    """The first account of the SMS channel in channels.toml (the one the bulk pushes use)."""
    for name, account in get_config().accounts.items():
        if account.channel == SmsChannel.name:
            return name
    raise ConfigError("channels.toml: no SMS account")


def direct_target(name: str) -> Target | None:
    """The ``Target`` of a one-recipient notice's delivery row (its ``target`` is the template's purpose).

    ``hub.queue.context.target_for`` asks this for names that are no configured target, so the
    engine's reconcile and confirm steps can ask the SMS channel about such a row; None otherwise.
    """
    if name not in get_config().render.sms.templates:
        return None
    return Target(channel=SmsChannel.name, name=name, account=sms_account(), params={"direct": True})


def contact(session: Session, e164: str, now: datetime) -> SubscriberRow:
    """The number's subscriber row; a number that is no subscriber gets an unlisted one (never bulk-expanded)."""
    vault = get_vault()
    digest = vault.hash(e164)
    row = session.scalar(select(SubscriberRow).where(SubscriberRow.phone_hash == digest))
    if row is None:
        row = SubscriberRow(phone_enc=vault.encrypt(e164), phone_hash=digest, phone_tail=e164[-4:], level="county",
                            region=None, topics=[], opted_out_at=None, created_at=now, listed=False)
        session.add(row)
        session.flush()
    return row


def _contact_id(e164: str, now: datetime) -> int:
    try:
        with session_scope() as s:
            return contact(s, e164, now).id
    except IntegrityError:  # the same new number added at the same moment by another notice
        with session_scope() as s:
            return contact(s, e164, now).id


def send_one(*, purpose: str, key: str, subject: str, phone_enc: bytes, params: list[str],
             now: datetime | None = None) -> Sent:
    """Send template ``purpose`` (``[render.sms.templates.<purpose>]``) once to the encrypted number.

    ``key`` is the idempotency key (unique in the ledger); ``subject`` names what it is about
    (stored as the row's record id, e.g. ``consult:12``). Calling again with the same key sends nothing.
    """
    now = now or utcnow()
    config = get_config()
    template = config.render.sms.templates.get(purpose)
    target = direct_target(purpose)
    if template is None or target is None:
        raise ConfigError(f"channels.toml: render.sms.templates.{purpose} is missing")
    subscriber_id = _contact_id(get_vault().decrypt(phone_enc), now)
    lease = timedelta(seconds=engine_settings().lease)
    try:
        with session_scope() as s:
            row = DeliveryRow(record_id=subject, version=subject, channel=SmsChannel.name, target=purpose,
                              idempotency_key=key, state=State.QUEUED.value, attempts=0, redeliveries=0,
                              created_at=now, updated_at=now)
            s.add(row)
            s.flush()
            ledger.created_event(s, row, actor=ACTOR, now=now, message=purpose)
            s.flush()  # the creation event before the claim's (Core) event
            delivery_id = row.id
            sub = s.get(SubscriberRow, subscriber_id)
            opted_out = sub is not None and sub.opted_out_at is not None
            if opted_out:
                ledger.move(s, delivery_id, State.QUEUED, State.FAILED, actor=ACTOR, now=now, error_class="OptedOut",
                            message="该号码已退订短信，不发送", values={"next_attempt_at": None})
            else:  # the engine's claim: committed before any request leaves, with a lease
                ledger.move(s, delivery_id, State.QUEUED, State.SENDING, actor=ACTOR, now=now, attempts=0,
                            values={"attempts": 1, "lease_expires_at": now + lease})
    except IntegrityError:
        with session_scope() as s:
            existing = s.scalar(select(DeliveryRow).where(DeliveryRow.idempotency_key == key))
            if existing is None:
                raise
            return Sent(existing.id, existing.state, "已发送过，不再重复发送")
    if opted_out:
        return Sent(delivery_id, State.FAILED.value, "该号码已退订短信，不发送")
    channel = SmsChannel(config, get_settings())
    account = config.accounts[target.account]
    request = channel.request(target.account, config.render.sms.signature, template.template_id, params)
    refused: ChannelError | None = None
    try:
        channel.audience.send(delivery_id, key, target.account, request, size=1, concurrency=1,
                              budget=float(account.get("send_budget_seconds", 120)),
                              expand=lambda s: expand_one(s, delivery_id, subscriber_id, target, now))
    except ChannelError as exc:  # the recipient row says what became of the number
        refused = exc
    except ConfigError as exc:  # a secret or the phone key is missing: nothing left
        refused = ChannelError(f"sms: configuration needs a person: {exc}")
    return _finish(delivery_id, refused, now)


def _finish(delivery_id: int, refused: ChannelError | None, now: datetime) -> Sent:
    """Move the delivery row from ``sending`` by what its one recipient row says."""
    with session_scope() as s:
        found = s.execute(select(SmsRecipientRow.state, SmsRecipientRow.code, SmsRecipientRow.serial_no)
                          .where(SmsRecipientRow.delivery_id == delivery_id)).first()
    state, code, serial = (str(found[0]), str(found[1] or ""), found[2]) if found else (rcp.PENDING, "", None)
    values: dict[str, object] = {"next_attempt_at": None, "lease_expires_at": None}
    if state in (rcp.SENT, rcp.DELIVERED, rcp.UNDELIVERED):
        ref = str(serial or "")
        values.update(provider_ref=ref, receipt={"provider_ref": ref, "accepted_at": now.isoformat()})
        return _move(delivery_id, State.CONFIRMED, now, None, "运营商已受理", values)
    if state == rcp.SKIPPED:
        return _move(delivery_id, State.FAILED, now, "OptedOut", "该号码已退订短信，不发送", values)
    if state in (rcp.UNKNOWN, rcp.SENDING):
        # reconciled by the engine (lookup by number), never resent blindly
        values["next_attempt_at"] = now + timedelta(seconds=engine_settings().confirm_first)
        return _move(delivery_id, State.UNKNOWN, now, "Ambiguous", "请求可能已送达运营商，不再自动重发", values)
    if state == rcp.REJECTED:
        return _move(delivery_id, State.FAILED, now, rule_for(code).kind, f"未发送：{code}", values)
    why = refused.message if refused is not None else f"未发送：{code or '没有结果'}"
    log.info("one-recipient sms not sent (%s)", type(refused).__name__ if refused else code)
    return _move(delivery_id, State.FAILED, now, type(refused).__name__ if refused else rule_for(code).kind,
                 f"短信平台拒绝：{why}", values)


def _move(delivery_id: int, state: State, now: datetime, error_class: str | None, note: str,
          values: dict[str, object]) -> Sent:
    with session_scope() as s:
        ledger.move(s, delivery_id, State.SENDING, state, actor=ACTOR, now=now, error_class=error_class,
                    message=None if state == State.CONFIRMED else note, values=values)
    return Sent(delivery_id, state.value, note)
