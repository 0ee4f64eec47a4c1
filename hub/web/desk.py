"""The office's desk in the console: due-soon and overdue lists, 督办 tasks, the stale-column watchdog.

Context functions (``dashboard_context``, ``record_context``) feed the dashboard
and the record page of ``hub.web.console``; the routes here are the office's
overview (``/console/office``) and the urged person's answers (acknowledge, close).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from hub import auth
from hub.auth import Action
from hub.errors import HubError
from hub.office import urges
from hub.office.overdue import deadline_of, evaluate
from hub.store.db import session_scope
from hub.store.models import UrgeRow, UserRow, VersionRow
from hub.web.consult_console import due_context
from hub.web.guard import console_router
from hub.web.pages import load_user, render

router, route = console_router()

URGE_STATE_NAMES = urges.STATE_NAMES
DEADLINE_STATUS = {"on_time": "已按时公开", "late": "已公开（超过时限）", "overdue": "已逾期", "due_soon": "即将到期",
                   "open": "未到期"}


def _titles(s: Session, rows: list[UrgeRow]) -> dict[str, str]:
    versions = {u.version for u in rows}
    if not versions:
        return {}
    return dict(s.execute(select(VersionRow.version, VersionRow.title)
                          .where(VersionRow.version.in_(versions))).tuples().all())


def dashboard_context(user: UserRow) -> dict[str, Any]:
    """The urges this user must answer and the deadlines in their scope (their department, or all)."""
    scoped = user.role in ("author", "reviewer")
    with session_scope() as s:
        mine = urges.open_for(s, user.name)
        titles = _titles(s, mine)
        try:
            desk = evaluate(s)
        except HubError:  # a broken catalog or calendar file must not take the dashboard down
            desk = None
    entries = [] if desk is None else (desk.for_department(user.department) if scoped else desk.entries)
    if scoped and not user.department:
        entries = []
    return {"my_urges": mine, "urge_titles": titles, "deadlines": entries[:100],
            "deadlines_more": max(0, len(entries) - 100), "urge_state_names": URGE_STATE_NAMES}


def record_context(s: Session, row: VersionRow, user: UserRow) -> dict[str, Any]:
    """The record page's deadline line and its urges (with what this user may do about each)."""
    try:
        deadline = deadline_of(s, row)
    except HubError:
        deadline = None
    rows = urges.of_record(s, row.record_id)
    answerable = {u.id for u in rows if u.state != "closed" and (u.assignee == user.name
                                                                  or user.name in (u.escalated_to or []))}
    staff = [] if not auth.can(user, Action.RECORD_URGE) else [
        u.name for u in s.scalars(select(UserRow).where(UserRow.active.is_(True)).order_by(UserRow.name))
        if u.role in ("author", "office") and (u.role == "office" or u.department == row.department)]
    return {"deadline": deadline, "deadline_status": DEADLINE_STATUS, "urges": rows, "answerable": answerable,
            "urge_state_names": URGE_STATE_NAMES, "urge_candidates": staff, "wrong_words": wrong_words(s, row)}


def wrong_words(s: Session, row: VersionRow) -> dict[int, str]:
    """finding id → the wrong word of each word finding, so the page offers "将 X 改为 Y" for the word alone."""
    from hub.checks.settings import load_check_config
    from hub.checks.words import wrong_form
    from hub.store import repo

    try:
        entries = load_check_config().words
    except HubError:
        return {}
    out: dict[int, str] = {}
    for f in repo.findings_of(s, row):
        if f.kind in ("wrong_word", "sensitive_word") and f.suggestion:
            entry = wrong_form(f.excerpt, f.suggestion, entries)
            if entry is not None:
                out[f.id] = entry.wrong
    return out


def _back(url: str, msg: str, error: bool = False) -> RedirectResponse:
    return RedirectResponse(f"{url}?{'err' if error else 'msg'}={quote(msg)}", status_code=303)


@route("GET", "/office", Action.AUDIT_VIEW)
def office(request: Request, msg: str | None = None) -> HTMLResponse:
    """公开办工作台: overdue and due-soon by department / township / village, stale columns, open urges."""
    from hub.office.stale import watch

    with session_scope() as s:
        desk = evaluate(s)
        watches = watch(s)
        open_urges = urges.open_all(s)
        titles = _titles(s, open_urges)
    return render(request, "console/office.html", {
        "desk": desk, "groups": desk.grouped(), "watches": watches, "urges": open_urges, "urge_titles": titles,
        "urge_state_names": URGE_STATE_NAMES, "msg": msg,
        "can_urge": auth.can(load_user(request), Action.RECORD_URGE),
        **due_context(None)})


def _answer(request: Request, urge_id: int, what: str, reply: str = "") -> Response:
    user = load_user(request)
    assert user is not None
    with session_scope() as s:
        urge = s.get(UrgeRow, urge_id)
        version = urge.version if urge is not None else None
        if what == "ack":
            urges.acknowledge(s, urge_id, user)
        else:
            urges.close(s, urge_id, user, reply)
    target = f"/console/v/{version}" if version else "/console"
    return _back(target, "已确认收到督办。" if what == "ack" else "已办结，并已记录办理情况。")


@route("POST", "/urges/{urge_id}/ack", Action.RECORD_VIEW)
def acknowledge(request: Request, urge_id: int) -> Response:
    return _answer(request, urge_id, "ack")


@route("POST", "/urges/{urge_id}/close", Action.RECORD_VIEW)
def close(request: Request, urge_id: int, reply: str = Form("", max_length=2000)) -> Response:
    return _answer(request, urge_id, "close", reply)


@route("POST", "/urges/escalate", Action.RECORD_URGE)
def escalate(request: Request) -> Response:
    user = load_user(request)
    assert user is not None
    with session_scope() as s:
        done = urges.escalate_due(s, actor=user.name)
    return _back("/console/office", f"已升级 {len(done)} 项逾期未办结的督办。")


@route("GET", "/inspect", Action.AUDIT_VIEW)
def inspect_page(request: Request) -> HTMLResponse:
    """迎检自查: the county against the national indicators, single-veto items first."""
    from hub.office.inspection import STATUS_NAMES, inspect

    with session_scope() as s:
        report = inspect(s)
    return render(request, "console/inspect.html", {"report": report, "status_names": STATUS_NAMES})
