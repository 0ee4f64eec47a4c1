"""督办 that reaches people: an urge is a task on the urged person's desk until they close it.

The office (``Action.RECORD_URGE``) urges a record: the task goes to a person
(by default the author of the record's current version), with the office's
note and a due day (default: three working days). The person sees it on their
dashboard and on the record page, acknowledges it (确认收到) and closes it with
a reply (已办结). An urge still open after its due day is escalated to the
reviewers of the record's department (they see it too), once. An e-mail notice
goes to the person's work address when the office asks for it and one is on
file (``hub.office.mail``). Every step is an audit row.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub import auth
from hub.auth import Action, Principal, Role
from hub.errors import InputError, NotFound, WorkflowError
from hub.office.calendar import get_calendar
from hub.office.overdue import today_local
from hub.store import repo
from hub.store.models import UrgeRow, UserRow, VersionRow
from hub.timeutil import utcnow

DEFAULT_DUE_WORKDAYS = 3


class UrgeState(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    CLOSED = "closed"


STATE_NAMES = {"open": "待确认", "acknowledged": "已确认收到", "closed": "已办结"}


def _principal(session: Session, actor: UserRow | str | Principal) -> Principal:
    from hub.workflow import principal

    return principal(session, actor)


def default_assignee(session: Session, row: VersionRow) -> str:
    """Who answers for a record: the author of its current version, else the department's only author."""
    if row.created_by:
        user = auth.get_user(session, row.created_by)
        if user is not None and user.active and user.role in (Role.AUTHOR, Role.OFFICE):
            return user.name
    if row.department:
        authors = list(session.scalars(select(UserRow.name).where(
            UserRow.department == row.department, UserRow.role == Role.AUTHOR.value, UserRow.active.is_(True))))
        if len(authors) == 1:
            return authors[0]
    raise WorkflowError("这条记录没有可督办的撰稿人（如导入时未指定部门），请指定督办对象。")


def create(
    session: Session,
    version: VersionRow | str,
    actor: UserRow | str | Principal,
    *,
    note: str | None,
    due_on: dt.date | None = None,
    assignee: str | None = None,
    notify: bool = False,
) -> UrgeRow:
    """The office urges ``version``'s record: a task for ``assignee`` (default: its author)."""
    row = repo.resolve(session, version)
    user = _principal(session, actor)
    auth.require(user, Action.RECORD_URGE, department=row.department or "")
    name = (assignee or "").strip() or default_assignee(session, row)
    person = auth.get_user(session, name)
    if person is None or not person.active:
        raise InputError(f"督办对象 {name} 不存在或已停用。")
    if person.role in (Role.AUTHOR, Role.REVIEWER) and person.department != (row.department or None):
        raise InputError(f"督办对象 {name} 不属于该记录的部门（{row.department or '未指定部门'}）。")
    today = today_local()
    due = due_on or get_calendar().add_workdays(today, DEFAULT_DUE_WORKDAYS)
    if due < today:
        raise InputError(f"督办期限 {due.isoformat()} 已过，请选择今天或以后的日期。")
    urge = UrgeRow(record_id=row.record_id, version=row.version, assignee=name, urged_by=user.name,
                   note=(note or "").strip() or "请尽快办理并按时公开。", due_on=due, state=UrgeState.OPEN.value,
                   escalated_to=[], created_at=utcnow())
    session.add(urge)
    session.flush()
    if notify:
        from hub.office.mail import send_urge_notice

        urge.notified = send_urge_notice(person, urge, row.title)
    repo.audit(session, user.name, "record.urge", row.record_id, version=row.version, urge=urge.id,
               assignee=name, due_on=due.isoformat(), comment=urge.note, notified=urge.notified)
    return urge


def _get(session: Session, urge_id: int) -> UrgeRow:
    urge = session.get(UrgeRow, urge_id)
    if urge is None:
        raise NotFound(f"督办 {urge_id} 不存在")
    return urge


def _may_answer(user: Principal, urge: UrgeRow) -> None:
    if user.name != urge.assignee and user.name not in (urge.escalated_to or []):
        raise WorkflowError(f"{user.name} 不是该督办的办理人，不能代为确认或办结。")


def acknowledge(session: Session, urge_id: int, actor: UserRow | str | Principal) -> UrgeRow:
    """The urged person says they saw it (确认收到)."""
    urge = _get(session, urge_id)
    user = _principal(session, actor)
    _may_answer(user, urge)
    if urge.state != UrgeState.OPEN:
        raise WorkflowError(f"该督办已是“{STATE_NAMES.get(urge.state, urge.state)}”，无需再确认。")
    urge.state, urge.acknowledged_at = UrgeState.ACKNOWLEDGED.value, utcnow()
    repo.audit(session, user.name, "urge.acknowledge", urge.record_id, urge=urge.id)
    return urge


def close(session: Session, urge_id: int, actor: UserRow | str | Principal, reply: str) -> UrgeRow:
    """The urged person closes it with a reply saying what was done (已办结)."""
    urge = _get(session, urge_id)
    user = _principal(session, actor)
    _may_answer(user, urge)
    reply = (reply or "").strip()
    if not reply:
        raise InputError("办结时请写明办理情况。")
    if urge.state == UrgeState.CLOSED:
        raise WorkflowError("该督办已办结。")
    now = utcnow()
    urge.acknowledged_at = urge.acknowledged_at or now
    urge.state, urge.closed_at, urge.reply = UrgeState.CLOSED.value, now, reply
    repo.audit(session, user.name, "urge.close", urge.record_id, urge=urge.id, reply=reply)
    return urge


def escalate_due(session: Session, *, today: dt.date | None = None, actor: str = "system") -> list[UrgeRow]:
    """Urges still open (not acknowledged, or not closed) after their due day go to the department's reviewers."""
    today = today or today_local()
    out: list[UrgeRow] = []
    rows = session.scalars(select(UrgeRow).where(UrgeRow.state != UrgeState.CLOSED.value,
                                                 UrgeRow.escalated_at.is_(None), UrgeRow.due_on < today))
    for urge in rows:
        dept = session.scalar(select(VersionRow.department).where(VersionRow.version == urge.version))
        leaders = [] if not dept else list(session.scalars(select(UserRow.name).where(
            UserRow.department == dept, UserRow.role == Role.REVIEWER.value, UserRow.active.is_(True))))
        urge.escalated_to, urge.escalated_at = leaders, utcnow()
        repo.audit(session, actor, "urge.escalate", urge.record_id, urge=urge.id, to=leaders,
                   due_on=urge.due_on.isoformat(), state=urge.state)
        out.append(urge)
    return out


def open_for(session: Session, name: str) -> list[UrgeRow]:
    """Urges ``name`` must answer: assigned to them, or escalated to them; oldest due first."""
    rows = session.scalars(select(UrgeRow).where(UrgeRow.state != UrgeState.CLOSED.value)
                           .order_by(UrgeRow.due_on, UrgeRow.id))
    return [u for u in rows if u.assignee == name or name in (u.escalated_to or [])]


def of_record(session: Session, record_id: str) -> list[UrgeRow]:
    """Every urge of a record, newest first (the record page shows them)."""
    return list(session.scalars(select(UrgeRow).where(UrgeRow.record_id == record_id)
                                .order_by(UrgeRow.id.desc())))


def open_all(session: Session) -> list[UrgeRow]:
    """Every urge not yet closed (the office's overview)."""
    return list(session.scalars(select(UrgeRow).where(UrgeRow.state != UrgeState.CLOSED.value)
                                .order_by(UrgeRow.due_on, UrgeRow.id)))
