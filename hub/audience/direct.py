"""One SMS to one person, with its own template and its own consent, in the delivery ledger.

Why not a bulk delivery: the answer notice of a consultation goes to the
asker, who consented to it by leaving a number on the form, not to the
subscriber list; it has no record version or rendition. It still gets a row in
the ledger (``deliveries``) with an idempotency key of its purpose
(``consult-answer-<id>``), and the same exactly-once rules as the SMS channel:

* the INSERT of the row is the claim: only the process whose insert succeeded
  sends, anyone else (a double click, a second worker) finds the row and stops;
* the row is ``sending`` (no lease, so the engine's sweepers leave it alone)
  while the request is out; ``Ok`` → ``confirmed`` (the operator accepted it;
  the serial number is the provider ref), a per-number refusal → ``failed``
  with the code, a transport error that may have landed → ``unknown`` (never
  resent blindly), any other refusal → ``failed`` in words;
* opted-out numbers (a subscriber who replied R) are not sent to: ``failed``
  with ``OptedOut``.

The request goes through the SMS channel's own Tencent client and error table
(``hub.channels.sms.rule_for``), so a code means here what it means there.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from hub.audience.subscribers import get_vault
from hub.channels.sms import SmsChannel, rule_for
from hub.config import get_config
from hub.errors import ConfigError
from hub.queue import ledger
from hub.queue.states import State
from hub.store.db import session_scope
from hub.store.models import DeliveryEventRow, DeliveryRow, SubscriberRow
from hub.timeutil import utcnow
from hub.vendors.tencent.client import (
    SmsClient,
    TencentCloudSDKException,
    is_api_error,
    make_client,
    sdk_error_text,
)

log = logging.getLogger(__name__)


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


def send_one(*, purpose: str, key: str, subject: str, phone_enc: bytes, params: list[str],
             now: datetime | None = None) -> Sent:
    """Send template ``purpose`` (``[render.sms.templates.<purpose>]``) once to the encrypted number.

    ``key`` is the idempotency key (unique in the ledger); ``subject`` names what it is about
    (stored as the row's record id, e.g. ``consult:12``). Calling again with the same key sends nothing.
    """
    now = now or utcnow()
    config = get_config()
    template = config.render.sms.templates.get(purpose)
    if template is None:
        raise ConfigError(f"channels.toml: render.sms.templates.{purpose} is missing")
    account_name = sms_account()
    vault = get_vault()
    e164 = vault.decrypt(phone_enc)
    try:
        with session_scope() as s:
            row = DeliveryRow(record_id=subject, version=subject, channel=SmsChannel.name, target=purpose,
                              idempotency_key=key, state=State.SENDING.value, attempts=1, created_at=now,
                              updated_at=now)
            s.add(row)
            s.flush()
            s.add(DeliveryEventRow(delivery_id=row.id, at=now, actor="consult", from_state=None,
                                   to_state=State.SENDING.value, error_class=None, message=purpose))
            delivery_id = row.id
            opted_out = s.scalar(select(SubscriberRow.opted_out_at).where(
                SubscriberRow.phone_hash == vault.hash(e164)))
    except IntegrityError:
        with session_scope() as s:
            existing = s.scalar(select(DeliveryRow).where(DeliveryRow.idempotency_key == key))
            if existing is None:
                raise
            return Sent(existing.id, existing.state, "已发送过，不再重复发送")
    if opted_out is not None:
        return _finish(delivery_id, State.FAILED, now, "OptedOut", "该号码已退订短信，不发送")
    account = config.accounts[account_name]
    request = {"SmsSdkAppId": str(account.get("sdk_app_id", "")), "SignName": config.render.sms.signature,
               "TemplateId": template.template_id, "TemplateParamSet": params, "SessionContext": key,
               "PhoneNumberSet": [e164]}
    try:
        answer = make_client(SmsClient, account, account_name).call_json("SendSms", request)
    except TencentCloudSDKException as exc:
        if not is_api_error(exc):
            return _finish(delivery_id, State.UNKNOWN, now, "Transport", "请求可能已送达运营商，不再自动重发")
        code = str(exc.get_code())
        return _finish(delivery_id, State.FAILED, now, rule_for(code).kind, f"短信平台拒绝：{sdk_error_text(exc)}")
    except Exception as exc:  # a body that cannot be read: it may have landed
        log.warning("consult sms: unreadable answer (%s)", type(exc).__name__)
        return _finish(delivery_id, State.UNKNOWN, now, "Transport", "请求可能已送达运营商，不再自动重发")
    body = answer.get("Response") if isinstance(answer, dict) else None
    statuses = body.get("SendStatusSet") if isinstance(body, dict) else None
    if not isinstance(statuses, list) or len(statuses) != 1 or not isinstance(statuses[0], dict):
        return _finish(delivery_id, State.UNKNOWN, now, "Ambiguous", "短信平台的回答不完整，不再自动重发")
    status = statuses[0]
    code = str(status.get("Code") or "")
    if code == "Ok":
        return _finish(delivery_id, State.CONFIRMED, now, None, "运营商已受理",
                       provider_ref=str(status.get("SerialNo") or ""))
    return _finish(delivery_id, State.FAILED, now, rule_for(code).kind, f"未发送：{code}")


def _finish(delivery_id: int, state: State, now: datetime, error_class: str | None, note: str,
            provider_ref: str | None = None) -> Sent:
    values: dict[str, object] = {"next_attempt_at": None}
    if provider_ref:
        values.update(provider_ref=provider_ref, receipt={"provider_ref": provider_ref, "accepted_at": now.isoformat()})
    with session_scope() as s:
        ledger.move(s, delivery_id, State.SENDING, state, actor="consult", now=now, error_class=error_class,
                    message=None if state == State.CONFIRMED else note, values=values)
    return Sent(delivery_id, state.value, note)
