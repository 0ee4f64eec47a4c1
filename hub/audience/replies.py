"""Citizens' SMS replies (upstream SMS): 退订 at once, anything else a consultation question.

Replies arrive two ways, as Tencent offers them: pushed to the reply callback
(``/callbacks/sms-reply/<secret>``, one JSON object per reply) and pulled with
``PullSmsReplyStatus`` (a queue: each reply handed out once). Either way a reply
is stored once (``sms_replies.dedupe`` = hash of number, reply time and text), so a
reply that comes both ways is handled once.

What a reply does:

* an opt-out word ("R", "TD", "T", "N", "退订", "取消订阅", "拒收" and the like, case and
  punctuation ignored) opts the number out at once: ``subscribers.opted_out_at`` is
  set (a number that is not a subscriber yet is added already opted out, so no
  one-recipient notice reaches it either); the SMS channel skips opted-out numbers
  before every batch, so running deliveries stop too;
* any other text from a subscriber becomes a 群众咨询 question (``hub.consult.intake``,
  source ``sms``), routed to the department whose record the number last received
  by SMS (the push it is replying to), else to the office; from a number that asked
  on the board before, to that question's department;
* from anyone else it is kept and ignored.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hub.audience import subscribers
from hub.audience.subscribers import InvalidPhone, get_vault, normalize
from hub.errors import InputError
from hub.store import repo
from hub.store.models import (
    ConsultationRow,
    DeliveryRow,
    RecordRow,
    SmsRecipientRow,
    SmsReplyRow,
    SubscriberRow,
)
from hub.timeutil import SHANGHAI, utcnow

log = logging.getLogger(__name__)

#: replies that mean "stop sending me SMS" (compared upper-cased, without spaces and punctuation)
OPT_OUT_WORDS = frozenset({"R", "TD", "T", "N", "QX", "0000", "退订", "退", "取消", "取消订阅", "拒收", "退出",
                           "不要再发", "UNSUBSCRIBE", "STOP"})
_PUNCT = re.compile(r"[\s\W_]+", re.UNICODE)


@dataclass(frozen=True)
class Reply:
    """One upstream SMS: the sender's number (as given), its text and the operator's reply time."""

    phone: str
    text: str
    replied_at: datetime
    sign: str = ""
    extend: str = ""


def is_opt_out(text: str) -> bool:
    return _PUNCT.sub("", text).upper() in OPT_OUT_WORDS


def _last_department(session: Session, subscriber_id: int) -> str | None:
    """The department of the record whose SMS this subscriber last received."""
    found = session.execute(
        select(RecordRow.department)
        .join(DeliveryRow, DeliveryRow.record_id == RecordRow.id)
        .join(SmsRecipientRow, SmsRecipientRow.delivery_id == DeliveryRow.id)
        .where(SmsRecipientRow.subscriber_id == subscriber_id, RecordRow.department.is_not(None))
        .order_by(SmsRecipientRow.updated_at.desc(), SmsRecipientRow.id.desc()).limit(1)).first()
    return str(found[0]) if found else None


def handle(reply: Reply) -> str:
    """Apply one reply; returns the outcome: opted_out, question, ignored or duplicate.

    Its own transactions: the reply is stored (and an opt-out applied) first, then a
    question goes through ``hub.consult.intake`` (which commits its rate-limit hits).
    """
    from hub.store.db import session_scope

    try:
        e164 = normalize(reply.phone if reply.phone.startswith("+") else "+86" + reply.phone[-11:])
    except InvalidPhone:
        return "ignored"
    digest = get_vault().hash(e164)
    dedupe = hashlib.sha256(f"{digest}|{reply.replied_at.isoformat()}|{reply.text}".encode()).hexdigest()
    now = utcnow()
    try:
        with session_scope() as s:
            row = SmsReplyRow(dedupe=dedupe, phone_hash=digest, phone_tail=e164[-4:], text=reply.text[:2000],
                              replied_at=reply.replied_at, outcome="ignored", received_at=now)
            s.add(row)
            s.flush()
            reply_id = row.id
            department, outcome = _apply(s, row, e164, reply, now)
    except IntegrityError:
        return "duplicate"
    if outcome != "question":
        return outcome
    from hub.consult import intake
    from hub.consult.settings import get_consult_settings

    department = department or get_consult_settings().office_department
    text = reply.text.strip()
    title = re.sub(r"\s+", " ", text)[:20] or "短信咨询"
    try:
        asked = intake.ask(intake.Question(topic=f"p:{department}", title=f"短信咨询：{title}", text=text,
                                           phone=e164), client_key=f"sms:{digest}", source="sms")
    except InputError as exc:
        log.info("sms reply not taken as a question: %s", type(exc).__name__)
        return "ignored"
    with session_scope() as s:
        stored = s.get(SmsReplyRow, reply_id)
        if stored is not None:
            stored.outcome, stored.consultation_id = "question", asked.id
    return "question"


def _apply(s: Session, row: SmsReplyRow, e164: str, reply: Reply, now: datetime) -> tuple[str | None, str]:
    """Opt out now, or find the department a question goes to; (department, outcome)."""
    sub = s.scalar(select(SubscriberRow).where(SubscriberRow.phone_hash == row.phone_hash))
    if is_opt_out(reply.text):
        if sub is None:
            sub, _ = subscribers.upsert(s, e164, now=now)
        if sub.opted_out_at is None:
            sub.opted_out_at = reply.replied_at if reply.replied_at <= now else now
        row.outcome, row.subscriber_id = "opted_out", sub.id
        repo.audit(s, "system", "subscriber.opt_out", f"subscriber:{sub.id}", via="sms-reply")
        return None, "opted_out"
    if sub is not None:
        row.subscriber_id = sub.id
        return _last_department(s, sub.id), "question"
    asked = s.scalar(select(ConsultationRow.department).where(ConsultationRow.phone_hash == row.phone_hash)
                     .order_by(ConsultationRow.id.desc()).limit(1))
    return (asked, "question") if asked is not None else (None, "ignored")


def from_callback(payload: object) -> list[Reply]:
    """The documented reply callback: one object ``{"mobile", "nationcode", "text", "sign", "extend", "time"}``
    (an array of them is accepted too)."""
    items = payload if isinstance(payload, list) else [payload]
    out = []
    for item in items:
        if not isinstance(item, dict) or not item.get("mobile") or not isinstance(item.get("text"), str):
            continue
        try:
            at = datetime.fromtimestamp(int(item.get("time") or 0), SHANGHAI) if item.get("time") else utcnow()
        except (TypeError, ValueError, OverflowError):
            at = utcnow()
        out.append(Reply(phone=str(item["mobile"]), text=item["text"], replied_at=at,
                         sign=str(item.get("sign") or ""), extend=str(item.get("extend") or "")))
    return out


def _pulled_time(value: str) -> datetime:
    try:
        return datetime.strptime(value, "%Y-%m-%d %H:%M:%S").replace(tzinfo=SHANGHAI)
    except ValueError:
        return utcnow()


def pull(*, pages: int = 20) -> dict[str, int]:
    """Pull queued replies with ``PullSmsReplyStatus`` (SDK models) and apply each; counts by outcome."""
    from tencentcloud.sms.v20210111 import models

    from hub.audience.direct import sms_account
    from hub.config import get_config
    from hub.vendors.tencent.client import SmsClient, make_client

    name = sms_account()
    account = get_config().accounts[name]
    client = make_client(SmsClient, account, name)
    counts: dict[str, int] = {}
    for _ in range(pages):
        req = models.PullSmsReplyStatusRequest()
        req.Limit = 100
        req.SmsSdkAppId = str(account.get("sdk_app_id", ""))
        resp = client.PullSmsReplyStatus(req)
        batch = resp.PullSmsReplyStatusSet or []
        for item in batch:
            reply = Reply(phone=str(item.PhoneNumber or item.SubscriberNumber or ""), text=str(item.ReplyContent or ""),
                          replied_at=_pulled_time(str(item.ReplyTime or "")), sign=str(item.SignName or ""),
                          extend=str(item.ExtendCode or ""))
            outcome = handle(reply)
            counts[outcome] = counts.get(outcome, 0) + 1
        if len(batch) < 100:
            break
    return counts

