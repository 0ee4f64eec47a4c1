"""The reply due day of a question on the county's working-day calendar: due soon, overdue, reminders.

The due day is set when the question arrives (``reply_workdays`` working days,
``hub.office.calendar``: holidays and adjusted workdays count as the county
works). An open question (also one waiting for the citizen's 追问 reply: the
citizen is owed an answer all the same) is *due soon* from ``due_soon_workdays``
working days before its due day, *overdue* after it. ``remind`` mails the
department's authors once when a question becomes due soon, and escalates an
overdue one to the office once (mail to every office account with an address,
and the office's dashboard lists it); both are audit rows.
"""

from __future__ import annotations

import datetime as dt
import smtplib
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.auth import Role
from hub.consult.answers import ANSWERED
from hub.consult.settings import get_consult_settings
from hub.office.calendar import get_calendar
from hub.settings import get_settings
from hub.store import repo
from hub.store.models import ConsultationRow, UserRow
from hub.timeutil import to_local, utcnow


def today() -> dt.date:
    return to_local(utcnow()).date()


def status(row: ConsultationRow, on: dt.date) -> str:
    """``answered``, ``overdue``, ``due_soon`` or ``open``."""
    if row.state == ANSWERED:
        return ANSWERED
    if on > row.due_on:
        return "overdue"
    if get_calendar().workdays_between(on, row.due_on) <= get_consult_settings().due_soon_workdays:
        return "due_soon"
    return "open"


@dataclass
class Pending:
    overdue: list[ConsultationRow] = field(default_factory=list)
    due_soon: list[ConsultationRow] = field(default_factory=list)
    open: list[ConsultationRow] = field(default_factory=list)


def pending(session: Session, *, department: str | None = None, on: dt.date | None = None) -> Pending:
    """Unanswered questions (of one department, or all), by urgency, earliest due first."""
    on = on or today()
    query = select(ConsultationRow).where(ConsultationRow.state != ANSWERED)
    if department is not None:
        query = query.where(ConsultationRow.department == department)
    out = Pending()
    for row in session.scalars(query.order_by(ConsultationRow.due_on, ConsultationRow.id)):
        getattr(out, status(row, on)).append(row)
    return out


def _mail(to: list[str], subject: str, body: str) -> int:
    from hub.office.mail import send

    sent = 0
    for address in to:
        try:
            send(address, subject, body)
            sent += 1
        except (OSError, smtplib.SMTPException):
            pass  # best effort, as 督办 notices: the dashboards list it anyway
    return sent


def remind(session: Session, *, on: dt.date | None = None) -> dict[str, list[int]]:
    """Remind the department's authors of due-soon questions and escalate overdue ones to the office, once each."""
    on = on or today()
    now = utcnow()
    base = get_settings().public_url.rstrip("/")
    found = pending(session, on=on)
    reminded: list[int] = []
    escalated: list[int] = []
    for row in found.due_soon:
        if row.reminded_at is not None:
            continue
        authors = [u.email for u in session.scalars(select(UserRow).where(
            UserRow.department == row.department, UserRow.role == Role.AUTHOR.value, UserRow.active.is_(True)))
            if u.email]
        n = _mail(authors, f"[群众咨询] 请在 {row.due_on.isoformat()} 前答复：{row.title}",
                  f"群众咨询（编号{row.id}）将于 {row.due_on.isoformat()} 到期，请及时答复。\n{base}/console/consult/{row.id}\n")
        row.reminded_at = now
        repo.audit(session, "system", "consult.remind", f"consult:{row.id}", mails=n)
        reminded.append(row.id)
    for row in found.overdue:
        if row.escalated_at is not None:
            continue
        office = [u.email for u in session.scalars(select(UserRow).where(
            UserRow.role == Role.OFFICE.value, UserRow.active.is_(True))) if u.email]
        n = _mail(office, f"[群众咨询逾期] {row.department}：{row.title}",
                  f"群众咨询（编号{row.id}）已于 {row.due_on.isoformat()} 到期仍未答复，请督办。\n"
                  f"{base}/console/consult/{row.id}\n")
        row.escalated_at = now
        repo.audit(session, "system", "consult.escalate", f"consult:{row.id}", mails=n)
        escalated.append(row.id)
    return {"reminded": reminded, "escalated": escalated}
