"""The staff side of a question: answer, 追问 (ask back), the citizen's reply, reassignment.

Rights reuse the record matrix (``hub.auth``), because a question belongs to a
department exactly as a record does: answering and asking back are
``record.edit`` on the question's department (the department's authors, and the
office), reassigning is the office's ``record.urge``, viewing is ``record.view``.
Every step is a thread message and an audit row. A thread closes when answered.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from hub import auth
from hub.auth import Action, Principal
from hub.consult import privacy
from hub.consult.settings import get_consult_settings
from hub.errors import InputError, NotFound, WorkflowError
from hub.store import repo
from hub.store.models import ConsultationRow, ConsultMessageRow
from hub.timeutil import utcnow

OPEN, ASKED_BACK, ANSWERED = "open", "asked_back", "answered"
STATE_NAMES = {OPEN: "待答复", ASKED_BACK: "已追问，待群众补充", ANSWERED: "已答复"}
KIND_NAMES = {"question": "咨询", "ask_back": "追问", "reply": "群众补充", "answer": "答复"}


def _principal(session: Session, actor: Principal | str) -> Principal:
    from hub.workflow import principal

    return principal(session, actor)


def get(session: Session, consultation_id: int) -> ConsultationRow:
    row = session.get(ConsultationRow, consultation_id)
    if row is None:
        raise NotFound(f"咨询 {consultation_id} 不存在")
    return row


def visible(user: Principal) -> Select[Any]:
    """The questions ``user`` may see: their department's, or all for office-wide roles."""
    query = select(ConsultationRow)
    if auth.Role(user.role) in auth.DEPARTMENT_SCOPED:
        query = query.where(ConsultationRow.department == (user.department or ""))
    return query


def may_view(user: Principal, row: ConsultationRow) -> None:
    auth.require(user, Action.RECORD_VIEW, department=row.department)


def thread(session: Session, consultation_id: int) -> list[ConsultMessageRow]:
    return list(session.scalars(select(ConsultMessageRow).where(ConsultMessageRow.consultation_id == consultation_id)
                                .order_by(ConsultMessageRow.id)))


def _text(text: str) -> str:
    value = text.strip()
    limit = get_consult_settings().limits.reply_max
    if not value:
        raise InputError("请填写内容")
    if len(value) > limit:
        raise InputError(f"内容不能超过{limit}个字（现有{len(value)}个字）")
    return privacy.mask_text(value)[0]


def _add(session: Session, row: ConsultationRow, kind: str, author: str, text: str, now: datetime) -> None:
    session.add(ConsultMessageRow(consultation_id=row.id, kind=kind, author=author, text=text, at=now))
    row.updated_at = now


def answer(session: Session, consultation_id: int, actor: Principal | str, text: str,
           *, now: datetime | None = None) -> ConsultationRow:
    """Answer and close the thread. The caller sends the SMS after the commit (``hub.consult.notify``)."""
    now = now or utcnow()
    user = _principal(session, actor)
    row = get(session, consultation_id)
    auth.require(user, Action.RECORD_EDIT, department=row.department)
    if row.state == ANSWERED:
        raise WorkflowError("这条咨询已经答复，不能再次答复")
    body = _text(text)
    row.state, row.answer, row.answered_by, row.answered_at = ANSWERED, body, user.name, now
    _add(session, row, "answer", user.name, body, now)
    repo.audit(session, user.name, "consult.answer", f"consult:{row.id}")
    return row


def ask_back(session: Session, consultation_id: int, actor: Principal | str, text: str,
             *, now: datetime | None = None) -> ConsultationRow:
    """追问: staff ask the citizen for more; the citizen answers on the private link."""
    now = now or utcnow()
    user = _principal(session, actor)
    row = get(session, consultation_id)
    auth.require(user, Action.RECORD_EDIT, department=row.department)
    if row.state == ANSWERED:
        raise WorkflowError("这条咨询已经答复并关闭")
    body = _text(text)
    row.state = ASKED_BACK
    _add(session, row, "ask_back", user.name, body, now)
    repo.audit(session, user.name, "consult.ask_back", f"consult:{row.id}")
    return row


def citizen_reply(session: Session, row: ConsultationRow, text: str, *, now: datetime | None = None) -> None:
    """The citizen's reply to a 追问 (only while one is open); the question is open again for staff."""
    now = now or utcnow()
    if row.state != ASKED_BACK:
        raise WorkflowError("目前没有需要您补充的追问")
    body = _text(text)
    row.state = OPEN
    _add(session, row, "reply", row.name or "群众", body, now)
    repo.audit(session, "citizen", "consult.reply", f"consult:{row.id}")


def reassign(session: Session, consultation_id: int, actor: Principal | str, department: str,
             *, now: datetime | None = None) -> ConsultationRow:
    """The office sends a question to another department (the due day stays: the citizen waits the same)."""
    from hub.consult.routing import departments

    now = now or utcnow()
    user = _principal(session, actor)
    auth.require(user, Action.RECORD_URGE)
    row = get(session, consultation_id)
    if department not in departments(session):
        raise InputError(f"没有这个部门：{department}")
    old, row.department, row.updated_at = row.department, department, now
    repo.audit(session, user.name, "consult.reassign", f"consult:{row.id}", **{"from": old, "to": department})
    return row


def notify_answer(consultation_id: int) -> str:
    """Send the answer notice by SMS once (after the answer is committed); returns what happened in words.

    No number left: nothing to send (the private link is the only way, as the citizen chose).
    """
    from hub.audience.direct import send_one
    from hub.store.db import session_scope

    with session_scope() as s:
        row = get(s, consultation_id)
        phone_enc, state = row.phone_enc, row.state
    if phone_enc is None or state != ANSWERED:
        return "未留手机号码，群众通过查询链接查看答复"
    sent = send_one(purpose="consult_answer", key=f"consult-answer-{consultation_id}",
                    subject=f"consult:{consultation_id}", phone_enc=phone_enc, params=[str(consultation_id)])
    with session_scope() as s:
        row = get(s, consultation_id)
        row.delivery_id = sent.delivery_id
        repo.audit(s, "system", "consult.sms", f"consult:{consultation_id}", state=sent.state, note=sent.note)
    return sent.note
