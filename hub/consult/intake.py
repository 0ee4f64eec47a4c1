"""Taking a citizen's question: validation, abuse limits, masking, routing, the due day and the private code.

Why in this order: cheap refusals first (honeypot, lengths), then the rate
limits (counted in the database, shared by every process), then duplicates,
and only then is anything stored. The stored text is already masked
(``hub.consult.privacy``), so no staff list, log or published page can show a
citizen's ID or phone number whole; the reply number is encrypted like
subscribers' numbers (``hub.audience.subscribers``). The private code is a
random 16-character token shown once; only its SHA-256 is stored.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.audience.subscribers import InvalidPhone, get_vault, normalize
from hub.consult import limits, privacy, routing
from hub.consult.settings import get_consult_settings
from hub.errors import InputError
from hub.office.calendar import get_calendar
from hub.store import repo
from hub.store.models import ConsultationRow, ConsultMessageRow
from hub.timeutil import to_local, utcnow


class FieldErrors(InputError):
    """A question the form must show again, with one message per field (``field → 中文说明``)."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("；".join(errors.values()))
        self.errors = errors


class TooMany(InputError):
    """Over a rate limit: the portal answers 429 with the message."""


@dataclass(frozen=True)
class Question:
    """What the portal form (or an SMS reply) carries."""

    topic: str
    title: str
    text: str
    name: str = ""
    phone: str = ""
    consent: bool = False
    honeypot: str = ""


@dataclass(frozen=True)
class Asked:
    id: int
    code: str
    department: str


def code_hash(code: str) -> str:
    return hashlib.sha256(code.encode("utf-8")).hexdigest()


def new_code() -> str:
    """16 characters of an unambiguous alphabet (no 0/O, 1/l/I): read out over the phone, typed on a keypad."""
    alphabet = "23456789abcdefghjkmnpqrstuvwxyz"
    return "".join(secrets.choice(alphabet) for _ in range(16))


def _normalised(sender: str, title: str, text: str) -> str:
    """The duplicate key: the same sender (address token or number hash) with the same words, spaces ignored.

    Per sender, so two citizens who ask the same common question are both taken.
    """
    return hashlib.sha256(re.sub(r"\s+", "", f"{sender}\n{title}\n{text}").encode("utf-8")).hexdigest()


def _clean(value: str) -> str:
    # control characters (other than newlines) never reach a page or a log
    return re.sub(r"[\x00-\x08\x0b-\x1f\x7f]", "", value).strip()


def validate(session: Session, q: Question) -> tuple[routing.Topic | None, str | None, dict[str, str]]:
    """The topic, the E.164 reply number and the field errors of ``q`` (nothing stored)."""
    lim = get_consult_settings().limits
    errors: dict[str, str] = {}
    topic: routing.Topic | None = None
    try:
        topic = routing.parse_topic(session, q.topic)
    except InputError as exc:
        errors["topic"] = str(exc)
    title, text, name = _clean(q.title), _clean(q.text), _clean(q.name)
    if not title:
        errors["title"] = "请填写标题"
    elif len(title) > lim.title_max:
        errors["title"] = f"标题不能超过{lim.title_max}个字（现有{len(title)}个字）"
    if len(text) < 5:
        errors["question"] = "请填写咨询内容（至少5个字）"
    elif len(text) > lim.question_max:
        errors["question"] = f"咨询内容不能超过{lim.question_max}个字（现有{len(text)}个字）"
    if len(name) > lim.name_max:
        errors["name"] = f"称呼不能超过{lim.name_max}个字"
    phone: str | None = None
    if q.phone.strip():
        try:
            phone = normalize(q.phone)
        except InvalidPhone:
            errors["mobile"] = "手机号码格式不正确（请填写11位大陆手机号码，或留空）"
    return topic, phone, errors


def ask(q: Question, *, client_key: str, source: str = "portal", now: datetime | None = None) -> Asked:
    """Store a question and return its id and private code, or raise ``FieldErrors`` / ``TooMany``.

    ``client_key`` is an opaque, keyed token of the client's address (the web layer
    derives it); an SMS reply passes its number's hash. Runs its own transactions:
    the rate-limit hits are committed before the question is (``hub.consult.limits``),
    so it must not be called inside another open write transaction.
    """
    from hub.store.db import session_scope

    now = now or utcnow()
    settings = get_consult_settings()
    lim = settings.limits
    if q.honeypot.strip():
        # a field people never see was filled: a robot. Refused without saying why.
        raise FieldErrors({"form": "提交未成功，请稍后再试"})
    with session_scope() as s:
        topic, phone, errors = validate(s, q)
    if errors or topic is None:
        raise FieldErrors(errors)
    phone_hash = get_vault().hash(phone) if phone else None
    if not limits.allow(f"consult:addr:{client_key}", lim.per_address,
                        timedelta(minutes=lim.per_address_window_minutes), now=now):
        raise TooMany("提交过于频繁，请稍后再试")
    if phone_hash and not limits.allow(f"consult:tel:{phone_hash}", lim.per_contact,
                                       timedelta(minutes=lim.per_contact_window_minutes), now=now):
        raise TooMany("这个手机号码今天提交的咨询已达上限，请明天再试")
    title, text, name = _clean(q.title), _clean(q.text), _clean(q.name)
    digest = _normalised(phone_hash or client_key, title, text)
    with session_scope() as session:
        if lim.duplicate_hours:
            dup = session.scalar(select(ConsultationRow.id).where(
                ConsultationRow.content_hash == digest,
                ConsultationRow.created_at > now - timedelta(hours=lim.duplicate_hours)).limit(1))
            if dup is not None:
                raise FieldErrors({"question": "相同的咨询已经提交过，请勿重复提交（可凭首次提交时的查询码查看办理情况）"})
        masked_title, _ = privacy.mask_text(title)
        masked_text, _ = privacy.mask_text(text)
        department = routing.department_for(session, topic)
        due = get_calendar().add_workdays(to_local(now).date(), settings.reply_workdays)
        code = new_code()
        vault = get_vault() if phone else None
        row = ConsultationRow(
            code_hash=code_hash(code), source=source, topic_kind=topic.kind, topic=topic.name,
            domain=topic.domain if topic.kind == "item" else (topic.name if topic.kind == "domain" else None),
            department=department, title=masked_title, question=masked_text, name=name or None,
            phone_enc=vault.encrypt(phone) if vault and phone else None, phone_hash=phone_hash,
            phone_tail=phone[-4:] if phone else None, consent_publish=q.consent, content_hash=digest,
            state="open", due_on=due, publication="none", created_at=now, updated_at=now)
        session.add(row)
        session.flush()
        session.add(ConsultMessageRow(consultation_id=row.id, kind="question", author=name or "群众",
                                      text=masked_text, at=now))
        repo.audit(session, "citizen", "consult.ask", f"consult:{row.id}", department=department, source=source,
                   sensitive_words=privacy.sensitive_words(text))
        return Asked(row.id, code, department)


def by_code(session: Session, code: str) -> ConsultationRow | None:
    """The question a private code opens (None for an unknown or malformed code)."""
    if not re.fullmatch(r"[a-z0-9]{8,32}", code):
        return None
    return session.scalar(select(ConsultationRow).where(ConsultationRow.code_hash == code_hash(code)))
