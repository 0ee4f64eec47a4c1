"""群众咨询 in the console: the department's questions by urgency, one question's page, and its actions.

Each route is registered with its role check (``hub.web.guard``); the department
check is the use case's own (``hub.consult.answers`` / ``publication``), so the
CLI and the console enforce one rule. Refusals come back as the page's error line.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from fastapi import Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from hub import auth
from hub.auth import Action
from hub.consult import answers, deadlines, publication, routing
from hub.consult.answers import ANSWERED
from hub.errors import HubError
from hub.store.db import session_scope
from hub.store.models import ConsultationRow, DeliveryRow, UserRow
from hub.web.guard import console_router
from hub.web.pages import load_user, render

router, route = console_router()


def _user(request: Request) -> UserRow:
    user = load_user(request)
    assert user is not None  # the route's staff dependency signed them in
    return user


def _back(consultation_id: int | None, msg: str, error: bool = False) -> RedirectResponse:
    url = f"/console/consult/{consultation_id}" if consultation_id else "/console/consult"
    if error:
        from hub.web.wording import in_chinese

        msg = in_chinese(msg)  # a refusal of the role matrix reads in Chinese, as on every console page
    return RedirectResponse(f"{url}?{'err' if error else 'msg'}={quote(msg)}", status_code=303)


def board_context(user: UserRow) -> dict[str, Any]:
    """The questions in the user's scope by urgency, and those awaiting a publication review."""
    scoped = auth.Role(user.role) in auth.DEPARTMENT_SCOPED
    with session_scope() as s:
        found = deadlines.pending(s, department=(user.department or "") if scoped else None)
        answered = list(s.scalars(answers.visible(user).where(ConsultationRow.state == ANSWERED)
                                  .order_by(ConsultationRow.answered_at.desc()).limit(50)))
        proposed = list(s.scalars(answers.visible(user).where(ConsultationRow.publication == publication.PROPOSED)))
        s.expunge_all()
    return {"pending": found, "answered": answered, "proposed": proposed}


@route("GET", "/consult", Action.RECORD_VIEW)
def board(request: Request, msg: str | None = None) -> HTMLResponse:
    user = _user(request)
    return render(request, "console/consult_list.html", {
        **board_context(user), "msg": msg, "states": answers.STATE_NAMES, "pubs": publication.PUBLICATION_NAMES})


@route("GET", "/consult/{consultation_id}", Action.RECORD_VIEW)
def question_page(request: Request, consultation_id: int, msg: str | None = None) -> HTMLResponse:
    user = _user(request)
    with session_scope() as s:
        row = answers.get(s, consultation_id)
        answers.may_view(user, row)
        messages = answers.thread(s, row.id)
        delivery = s.get(DeliveryRow, row.delivery_id) if row.delivery_id else None
        departments = routing.departments(s)
        draft = publication.draft(row) if row.state == ANSWERED else None
        ctx = {"row": row, "messages": messages, "delivery": delivery, "departments": departments,
               "draft": draft, "msg": msg, "states": answers.STATE_NAMES, "kinds": answers.KIND_NAMES,
               "pubs": publication.PUBLICATION_NAMES, "status": deadlines.status(row, deadlines.today()),
               "can_answer": auth.can(user, Action.RECORD_EDIT, department=row.department),
               "can_reassign": auth.can(user, Action.RECORD_URGE),
               "can_review": auth.can(user, Action.RECORD_APPROVE, department=row.department)}
        return render(request, "console/consult_question.html", ctx)


@route("POST", "/consult/{consultation_id}/answer", Action.RECORD_EDIT)
def answer(request: Request, consultation_id: int, text: str = Form("", max_length=20000),
           publish: str = Form("")) -> Response:
    user = _user(request)
    try:
        with session_scope() as s:
            answers.answer(s, consultation_id, user, text)
        note = answers.notify_answer(consultation_id)
        if publish:
            with session_scope() as s:
                publication.propose(s, consultation_id, user)
            note += "；已提请公开"
    except HubError as exc:
        return _back(consultation_id, str(exc), error=True)
    return _back(consultation_id, f"已答复。{note}")


def _act(consultation_id: int, act: Callable[[Session], object], done: str) -> Response:
    """Run one staff action in its own transaction; back to the question saying what happened, or why not."""
    try:
        with session_scope() as s:
            act(s)
    except HubError as exc:
        return _back(consultation_id, str(exc), error=True)
    return _back(consultation_id, done)


@route("POST", "/consult/{consultation_id}/ask", Action.RECORD_EDIT)
def ask_back(request: Request, consultation_id: int, text: str = Form("", max_length=20000)) -> Response:
    return _act(consultation_id, lambda s: answers.ask_back(s, consultation_id, _user(request), text),
                "已追问，群众可在查询链接中回复。")


@route("POST", "/consult/{consultation_id}/reassign", Action.RECORD_URGE)
def reassign(request: Request, consultation_id: int, department: str = Form("", max_length=200)) -> Response:
    return _act(consultation_id, lambda s: answers.reassign(s, consultation_id, _user(request), department),
                f"已改派至 {department}。")


@route("POST", "/consult/{consultation_id}/propose", Action.RECORD_EDIT)
def propose(request: Request, consultation_id: int, title: str = Form("", max_length=400),
            question: str = Form("", max_length=20000), answer_text: str = Form("", max_length=20000)) -> Response:
    return _act(consultation_id, lambda s: publication.propose(
        s, consultation_id, _user(request), title=title or None, question=question or None,
        answer=answer_text or None), "已提请公开，待审核人审核。")


@route("POST", "/consult/{consultation_id}/approve", Action.RECORD_APPROVE)
def approve(request: Request, consultation_id: int) -> Response:
    return _act(consultation_id, lambda s: publication.approve(s, consultation_id, _user(request)),
                "已审核公开，门户网站“咨询答复选登”可见。")


@route("POST", "/consult/{consultation_id}/reject", Action.RECORD_REJECT)
def reject(request: Request, consultation_id: int, reason: str = Form("", max_length=2000)) -> Response:
    return _act(consultation_id, lambda s: publication.reject(s, consultation_id, _user(request), reason),
                "已退回公开申请。")


def due_context(user: UserRow | None) -> dict[str, Any]:
    """Overdue and due-soon questions for a dashboard: the user's department, or all (``None``: the office's desk).

    Never takes a dashboard down: a broken calendar or settings file shows nothing here.
    """
    scoped = user is not None and auth.Role(user.role) in auth.DEPARTMENT_SCOPED
    if user is not None and not auth.can(user, Action.RECORD_VIEW):
        return {"consult_due": None}
    try:
        with session_scope() as s:
            found = deadlines.pending(s, department=((user.department or "") if scoped and user else None))
            s.expunge_all()
    except HubError:
        return {"consult_due": None}
    return {"consult_due": {"overdue": found.overdue, "due_soon": found.due_soon, "open": len(found.open)}}

