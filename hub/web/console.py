"""The editor console (/console): log-in, records, findings, previews, review, publish, delivery board.

Every route is registered through ``route(method, path, action)``, which adds
the role check (``hub.auth.require`` through ``pages.staff``) as a route
dependency and records the route in ``ROUTE_ACTIONS``: a console route cannot
exist without its check, and the security tests walk the same table. Record
routes check the department rule again once the record is loaded. Every
action writes an audit row (the workflow functions write their own).
"""

from __future__ import annotations

import logging
import re
import tempfile
import threading
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from hub import auth
from hub.artifacts import get_store
from hub.auth import Action
from hub.errors import (
    HubError,
    InputError,
    NotFound,
    RecordError,
    RenderError,
    StorageUnavailable,
    WorkflowError,
)
from hub.metrics import view as metrics_view
from hub.record import Record
from hub.settings import get_settings
from hub.store import repo
from hub.store.db import session_scope
from hub.store.models import AuditRow, DeliveryRow, FindingRow, UserRow, VersionRow
from hub.web import board, forms
from hub.web.media import artifact_response
from hub.web.pages import ROUTE_ACTIONS, load_user, render, staff
from hub.web.security import LoginThrottle, csrf_protect, session

log = logging.getLogger(__name__)
router = APIRouter(prefix="/console", dependencies=[Depends(csrf_protect)])

#: One throttle per (address, name) and a looser one per address (a spray over many names).
THROTTLE_USER = LoginThrottle()
THROTTLE_ADDR = LoginThrottle(scope="addr", max_failures=20)

FINDING_NAMES = {"id_number": "身份证号", "mobile": "手机号码", "bank_card": "银行卡号", "wrong_word": "错误用语",
                 "sensitive_word": "敏感词", "link_malformed": "链接格式错误", "link_unknown_host": "未知网站链接",
                 "link_dead": "失效链接"}
_ARTIFACT_NAME = re.compile(r"^[0-9a-f]{64}(\.[a-z0-9]{1,8}){0,2}$")


def route(method: str, path: str, action: Action) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a console route guarded by ``action`` (and listed in ``ROUTE_ACTIONS``)."""
    ROUTE_ACTIONS.append((method, "/console" + path, action.value))

    def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
        return router.api_route(path, methods=[method], dependencies=[Depends(staff(action.value))])(fn)

    return deco


def _user(request: Request) -> UserRow:
    user = load_user(request)
    assert user is not None  # the route dependency signed them in
    return user


def _see(s: Session, request: Request, ref: str, action: Action = Action.RECORD_VIEW) -> tuple[VersionRow, Record]:
    """Load a version and apply the department rule for ``action``."""
    row, record = repo.get_version(s, ref)
    auth.require(_user(request), action, department=row.department or "")
    return row, record


def _back(url: str, msg: str | None = None) -> RedirectResponse:
    from urllib.parse import quote

    return RedirectResponse(url + (f"?msg={quote(msg)}" if msg else ""), status_code=303)


def _checked(record: Record, source_text: str | None = None) -> list[Any]:
    from hub.checks import run_checks

    return list(run_checks(record, source_text=source_text))


def _save(s: Session, user: UserRow, record: Record, *, warnings: list[str] | None = None,
          source_text: str | None = None, source_key: str | None = None) -> VersionRow:
    from hub import workflow

    return workflow.save_draft(s, record, actor=user, findings=_checked(record, source_text),
                               warnings=warnings or [], source_key=source_key)


# --- log-in -----------------------------------------------------------------------------


def _client(request: Request) -> str:
    from hub.web.security import client_address

    return client_address(request)


def _safe_next(value: str | None) -> str:
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/console"


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/console") -> HTMLResponse:
    return render(request, "console/login.html", {"next": _safe_next(next), "error": None, "name": ""})


@router.post("/login", response_class=HTMLResponse)
def login(request: Request, name: str = Form("", max_length=100), password: str = Form("", max_length=200),
          next: str = Form("/console")) -> Response:
    addr = _client(request)
    key = f"{addr}|{name.strip().lower()}"
    wait = max(THROTTLE_USER.blocked(key), THROTTLE_ADDR.blocked(addr))
    if wait:
        with session_scope() as s:
            repo.audit(s, name.strip() or "-", "login.throttled", name.strip() or None, address=addr)
        resp = render(request, "console/login.html", {
            "next": _safe_next(next), "name": name,
            "error": f"登录失败次数过多，请 {int(wait) // 60 + 1} 分钟后再试。"}, status_code=429)
        resp.headers["Retry-After"] = str(int(wait))
        return resp
    with session_scope() as s:
        user = auth.authenticate(s, name.strip(), password)
        if user is None:
            repo.audit(s, name.strip() or "-", "login.failed", name.strip() or None, address=addr)
        else:
            repo.audit(s, user.name, "login", user.name, address=addr)
            uname, role = user.name, user.role
    if user is None:
        THROTTLE_USER.failed(key)
        THROTTLE_ADDR.failed(addr)
        return render(request, "console/login.html", {"next": _safe_next(next), "name": name,
                                                      "error": "用户名或密码不正确。"}, status_code=401)
    THROTTLE_USER.succeeded(key)
    from hub.web.security import open_session

    data = session(request)
    data.clear()  # a fresh session (and CSRF token) at every log-in: no fixation
    data["u"] = uname
    data["sid"] = open_session(uname)  # server-side: log-out revokes it
    request.state.session_dirty = True
    target = _safe_next(next)
    if role == "station" and target == "/console":
        target = "/tv"
    return RedirectResponse(target, status_code=303)


@router.post("/logout")
def logout(request: Request) -> Response:
    from hub.web.security import close_session

    user = load_user(request)
    if user is not None:
        with session_scope() as s:
            repo.audit(s, user.name, "logout", user.name)
    close_session(session(request).get("sid"))
    session(request).clear()
    request.state.session_dirty = True
    return RedirectResponse("/console/login", status_code=303)


# --- dashboard ------------------------------------------------------------------------


@route("GET", "", Action.RECORD_VIEW)
def dashboard(request: Request, msg: str | None = None) -> HTMLResponse:
    user = _user(request)
    scoped = user.role in ("author", "reviewer")
    dept = user.department if scoped else None
    todo_state = {"author": None, "reviewer": "in_review", "office": "approved"}.get(user.role)
    with session_scope() as s:
        rows = repo.list_versions(s, department=dept, current_only=True, limit=200)
        if scoped and not dept:
            rows = []
        findings: dict[str, int] = {}
        for r in rows:
            findings[r.version] = sum(1 for f in repo.findings_of(s, r) if f.blocking and not f.waived_by)
        unassigned = _unassigned(s, rows) if auth.can(user, Action.RECORD_ASSIGN) else []
    if user.role == "author":
        todo = [r for r in rows if r.state in ("draft", "rejected")]
    else:
        todo = [r for r in rows if r.state == todo_state]
    from hub.web.consult_console import due_context
    from hub.web.desk import dashboard_context

    return render(request, "console/dashboard.html", {
        "rows": rows, "todo": todo, "findings": findings, "msg": msg, "unassigned": unassigned,
        "can_create": auth.can(user, Action.RECORD_CREATE), **dashboard_context(user),
        **due_context(user)})


def _unassigned(s: Session, rows: list[VersionRow]) -> list[VersionRow]:
    """The office's queue: open records no hub department answers for (none, or not a hub department)."""
    from hub.departments import hub_departments

    known = set(hub_departments(s))
    return [r for r in rows if r.state not in ("published", "withdrawn") and (r.department or "") not in known]


# --- writing ----------------------------------------------------------------------------


def _catalog_options() -> dict[str, list[str]]:
    """Domains → items from config/catalog.toml, for the form's suggestions (empty when unavailable)."""
    try:
        from hub.catalog import get_catalog

        cat: Any = get_catalog()
        out: dict[str, list[str]] = {}
        for d in getattr(cat, "domains", []):
            name = getattr(d, "name", str(d))
            out[name] = [getattr(i, "name", str(i)) for i in getattr(d, "items", [])]
        return out
    except Exception:  # noqa: BLE001 - suggestions only; the form works without them
        return {}


def _form_page(request: Request, record: Record | None, *, action_url: str, error: str | None = None,
               values: dict[str, Any] | None = None, status: int = 200) -> HTMLResponse:
    user = _user(request)
    if values is None:
        values = _values(record) if record else {"department": user.department or "", "level": "county",
                                                 "validity": "有效", "signature_office": user.department or ""}
    return render(request, "console/edit.html", {
        "record": record, "values": values, "action_url": action_url, "error": error,
        "catalog": _catalog_options()}, status_code=status)


def _values(record: Record) -> dict[str, Any]:
    v: dict[str, Any] = {k: getattr(record, k) or "" for k in forms.TEXT_FIELDS}
    v.update({
        "disclosure": record.disclosure.value, "stage": record.stage.value if record.stage else "",
        "level": record.level.value, "written_on": record.written_on.isoformat() if record.written_on else "",
        "published_at": "" if record.published_at is None else
        __import__("hub.timeutil", fromlist=["to_local"]).to_local(record.published_at).strftime("%Y-%m-%dT%H:%M"),
        "addressees": "、".join(record.addressees), "body": forms.body_to_text(record),
        "signature_office": record.signature.office if record.signature else "",
        "signature_date": record.signature.date.isoformat() if record.signature and record.signature.date else "",
    })
    return v


@route("GET", "/records/new", Action.RECORD_CREATE)
def new_form(request: Request) -> HTMLResponse:
    return _form_page(request, None, action_url="/console/records")


@route("POST", "/records", Action.RECORD_CREATE)
async def create(request: Request) -> Response:
    form = dict(await request.form())
    return await _run_sync(_create, request, form)


def _create(request: Request, form: dict[str, Any]) -> Response:
    user = _user(request)
    try:
        record = forms.record_from_form(form, None)
        with session_scope() as s:
            row = _save(s, user, record)
            version = row.version
    except RecordError as exc:
        return _form_page(request, None, action_url="/console/records", error=str(exc),
                          values={k: v for k, v in form.items() if isinstance(v, str)}, status=400)
    return _back(f"/console/v/{version}", "已保存为草稿，请查看检查结果。")


@route("POST", "/records/upload", Action.RECORD_CREATE)
async def upload(request: Request, file: Annotated[UploadFile | None, File()] = None,
                 text: Annotated[str, Form()] = "") -> Response:
    data = await file.read(20 * 1024 * 1024 + 1) if file is not None and file.filename else b""
    name = file.filename if file is not None and file.filename else ""
    return await _run_sync(_upload, request, data, name, text)


def _upload(request: Request, data: bytes, name: str, text: str) -> Response:
    from hub.departments import route
    from hub.ingest import ingest_path

    user = _user(request)
    if not data and not text.strip():
        return _form_page(request, None, action_url="/console/records", error="请选择文件或粘贴公开页面文字。", status=400)
    suffix = Path(name).suffix.lower() if name else ".txt"
    if suffix not in (".md", ".txt", ".xml", ".atom", ".rss"):
        suffix = ".txt"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"upload{suffix}"
        path.write_bytes(data if data else text.encode("utf-8"))
        try:
            items = ingest_path(path)
            versions = []
            with session_scope() as s:
                for it in items:
                    record, note = route(s, it.record, fallback=user.department if user.role in auth.DEPARTMENT_SCOPED else None)
                    row = _save(s, user, record, warnings=[*it.warnings, *([note] if note else [])],
                                source_text=it.source_text,
                                source_key=it.source_key)
                    versions.append(row.version)
        except RecordError as exc:
            msg = str(exc).replace(str(path), name or "粘贴的文字")
            return _form_page(request, None, action_url="/console/records", error=msg, status=400)
    if not versions:
        return _back("/console", "文件中没有找到公开信息。")
    return _back(f"/console/v/{versions[0]}", f"已导入 {len(versions)} 条，请查看检查结果。")


@route("GET", "/v/{ref}/edit", Action.RECORD_EDIT)
def edit_form(request: Request, ref: str) -> HTMLResponse:
    with session_scope() as s:
        row, record = _see(s, request, ref, Action.RECORD_EDIT)
    return _form_page(request, record, action_url=f"/console/v/{row.version}/edit")


@route("POST", "/v/{ref}/edit", Action.RECORD_EDIT)
async def edit(request: Request, ref: str) -> Response:
    form = dict(await request.form())
    return await _run_sync(_edit, request, ref, form)


def _edit(request: Request, ref: str, form: dict[str, Any]) -> Response:
    user = _user(request)
    with session_scope() as s:
        row, base = _see(s, request, ref, Action.RECORD_EDIT)
    try:
        record = forms.record_from_form(form, base)
        with session_scope() as s:
            new = _save(s, user, record)
            version = new.version
    except RecordError as exc:
        return _form_page(request, base, action_url=f"/console/v/{row.version}/edit", error=str(exc),
                          values={k: v for k, v in form.items() if isinstance(v, str)}, status=400)
    return _back(f"/console/v/{version}", "已保存新版本。" if version != row.version else "内容没有变化。")


@route("POST", "/v/{ref}/findings/{finding_id}/mask", Action.RECORD_EDIT)
def mask(request: Request, ref: str, finding_id: int) -> Response:
    """One click: mask personal data, or replace a wrong word (the word alone) by its preferred form → a new version."""
    from urllib.parse import quote

    from hub.checks.findings import PERSONAL_DATA

    user = _user(request)
    with session_scope() as s:
        row, record = _see(s, request, ref, Action.RECORD_EDIT)
        finding = s.get(FindingRow, finding_id)
        if finding is None or finding.version != row.version:
            raise NotFound(f"finding {finding_id}")
        masked, count = record, 0
        if finding.suggestion and finding.kind in PERSONAL_DATA:
            masked, count = forms.apply_mask(record, finding.excerpt, finding.suggestion)
        elif finding.suggestion and finding.kind in ("wrong_word", "sensitive_word"):
            masked, count = _fix_word(record, finding.excerpt, finding.suggestion)
        if not count:
            err = "没有在正文中找到该内容，请点“修改”手工处理。"
            return RedirectResponse(f"/console/v/{row.version}?err={quote(err)}", status_code=303)
        new = _save(s, user, masked)
        repo.audit(s, user, "finding.mask", row.record_id, version=row.version, new_version=new.version,
                   finding=finding_id, kind=finding.kind, places=count)
        version = new.version
        done = "已遮盖" if finding.kind in PERSONAL_DATA else "已更正"
    return _back(f"/console/v/{version}", f"{done} {count} 处，生成新版本。")


def _fix_word(record: Record, excerpt: str, suggestion: str) -> tuple[Record, int]:
    """Replace the wrong word of a word finding by its preferred form, at the finding's place only."""
    from hub.checks.settings import load_check_config
    from hub.checks.words import replacements, wrong_form

    entry = wrong_form(excerpt, suggestion, load_check_config().words)
    if entry is None:
        return record, 0
    for old, new in replacements(excerpt, entry):
        fixed, count = forms.apply_mask(record, old, new)
        if count:
            return fixed, count
    return record, 0


@route("POST", "/v/{ref}/override", Action.RECORD_EDIT)
def override(request: Request, ref: str, channel: str = Form(...), title: str = Form(""), text: str = Form(""),
             digest: str = Form("")) -> Response:
    """An editor's text for one channel: rendered to check its rules, checked again, saved as a new version."""
    from hub.renderers import RENDERERS
    from hub.renderers.base import ArtifactStore
    from hub.renderers.context import build_context

    user = _user(request)
    from hub.channels.registry import overridable, rendition_kind

    if channel not in overridable():  # the channels whose declaration lets an editor rewrite their text
        raise NotFound(channel)
    with session_scope() as s:
        row, record = _see(s, request, ref, Action.RECORD_EDIT)
        changed = forms.with_override(record, channel, title=title, text=text, digest=digest)
        try:
            ctx = build_context(changed, changed.version_hash())
            RENDERERS[rendition_kind(channel)](changed, ctx, ArtifactStore(get_settings().artifacts_dir))
        except RenderError as exc:
            from urllib.parse import quote

            from hub.web.wording import in_chinese

            err = f"改写未保存：{in_chinese(str(exc))}"  # a refusal, never in the success box
            return RedirectResponse(f"/console/v/{row.version}/previews?err={quote(err)}", status_code=303)
        new = _save(s, user, changed)
        repo.audit(s, user, "record.override", row.record_id, version=row.version, new_version=new.version,
                   channel=channel)
        version = new.version
    return _back(f"/console/v/{version}/previews", "改写已保存为新版本，并已重新检查。")


# --- one record -------------------------------------------------------------------------


@route("GET", "/v/{ref}", Action.RECORD_VIEW)
def version_page(request: Request, ref: str, msg: str | None = None) -> HTMLResponse:
    from hub.departments import hub_departments
    from hub.renderers.context import issuer_line
    from hub.store.models import RecordRow

    user = _user(request)
    with session_scope() as s:
        row, record = _see(s, request, ref)
        dept = row.department or ""
        findings = repo.findings_of(s, row)
        events = repo.events_of(s, row)
        rec = s.get(RecordRow, row.record_id)
        current = rec.current_version if rec else None
        versions = repo.versions_of(s, row.record_id)
        deliveries = list(s.scalars(select(DeliveryRow).where(DeliveryRow.version == row.version)))
        sms_at_limit = _sms_at_limit(s) if row.state == "approved" else 0
        from hub.audience.digest import configured_minutes  # 汇总短信: the wait, seen before publishing

        sms_digest_minutes = configured_minutes() if row.state == "approved" else 0
        departments = hub_departments(s) if auth.can(user, Action.RECORD_ASSIGN) else []
        from hub.web.desk import record_context

        desk = record_context(s, row, user)
    allowed = {a.value: auth.can(user, a, department=dept) for a in Action}
    marks = annotate(record, findings)
    proposed_at = _proposed_at(record)
    from hub.app.lifecycle import version_diff

    with session_scope() as s:
        diff = version_diff(s, row) if row.state in ("in_review", "approved") else []
    catalog_item = _catalog_item(record)
    return render(request, "console/version.html", {
        "row": row, "record": record, "findings": findings, "events": events, "current": current,
        "versions": versions, "allowed": allowed, "marks": marks, "msg": msg, "names": FINDING_NAMES,
        "has_deliveries": bool(deliveries), "own": row.created_by == user.name, "departments": departments,
        "issuer": issuer_line(record),
        "blocking": [f for f in findings if f.blocking and not f.waived_by], "catalog_item": catalog_item,
        "proposed_at": proposed_at, "diff": diff, "sms_at_limit": sms_at_limit,
        "sms_digest_minutes": sms_digest_minutes, **desk})


def _proposed_at(record: Record) -> str | None:
    """A future 公开日期 proposes 定时发布 (the ``datetime-local`` value, Beijing time)."""
    from hub.timeutil import to_local, utcnow

    when = record.published_at
    return to_local(when).strftime("%Y-%m-%dT%H:%M") if when is not None and when > utcnow() else None


def _sms_at_limit(s: Session) -> int:
    """Subscribers already at the per-phone daily SMS limit (the office sees it before publishing)."""
    from hub.audience.limits import configured_daily_limit, numbers_at_daily_limit
    from hub.channels.sms import SmsChannel

    return numbers_at_daily_limit(s, limit=configured_daily_limit(SmsChannel.name))


def _catalog_item(record: Record) -> dict[str, Any] | None:
    """The record's catalog item (公开依据, 时限, 更新周期, 层级, 渠道) and whether its stage agrees."""
    if not record.item:
        return None
    try:
        from hub.catalog import get_catalog

        found = get_catalog().find_item(record.item)
    except HubError:
        return None
    if found is None:
        return {"missing": True, "name": record.item}
    domain, item = found
    return {"missing": False, "domain": domain.name, "name": item.name, "basis": item.basis,
            "deadline": item.deadline, "cycle": item.cycle, "channels": list(item.channels),
            "stage": item.stage.value if item.stage else None,
            "stage_differs": bool(item.stage and record.stage and item.stage != record.stage)}


def annotate(record: Record, findings: list[FindingRow]) -> list[dict[str, Any]]:
    """The body as blocks of (text, finding id | None) segments: findings shown at their place."""
    patterns: list[tuple[re.Pattern[str], int]] = []
    for f in findings:
        for p in _finding_patterns(f):
            patterns.append((p, f.id))

    def segs(text: str) -> list[tuple[str, int | None]]:
        spans: list[tuple[int, int, int]] = []
        for p, fid in patterns:
            for m in p.finditer(text):
                if m.end() > m.start() and not any(a < m.end() and m.start() < b for a, b, _ in spans):
                    spans.append((m.start(), m.end(), fid))
        spans.sort()
        out: list[tuple[str, int | None]] = []
        pos = 0
        for a, b, fid in spans:
            if a > pos:
                out.append((text[pos:a], None))
            out.append((text[a:b], fid))
            pos = b
        if pos < len(text):
            out.append((text[pos:], None))
        return out

    blocks: list[dict[str, Any]] = [{"kind": "title", "segs": segs(record.title)}]
    for b in record.body:
        if b.type == "heading":
            blocks.append({"kind": "heading", "segs": segs(f"{b.number or ''}{b.text}")})
        elif b.type == "paragraph":
            blocks.append({"kind": "p", "segs": segs(b.text)})
        elif b.type == "list":
            blocks.extend({"kind": "li", "segs": segs(it)} for it in b.items)
        else:
            blocks.extend({"kind": "row", "segs": segs("　".join(r))} for r in [b.header, *b.rows] if r)
    return blocks


def _finding_patterns(f: FindingRow) -> list[re.Pattern[str]]:
    out = []
    if f.suggestion and "*" in f.suggestion:
        out.append(forms._pattern(f.excerpt, f.suggestion))
    if f.excerpt and "*" not in f.excerpt and len(f.excerpt) <= 40:
        out.append(re.compile(re.escape(f.excerpt)))
    return out


# --- workflow ---------------------------------------------------------------------------


def _transition(request: Request, ref: str, name: str, comment: str | None) -> Response:
    from hub import workflow

    user = _user(request)
    fn = {"submit": workflow.submit, "approve": workflow.approve, "reject": workflow.reject}[name]
    with session_scope() as s:
        row, _ = _see(s, request, ref)
        fn(s, row, user, comment=(comment or "").strip() or None)
        version = row.version
    words = {"submit": "已提交审核。", "approve": "已审核通过，等待政务公开办发布。", "reject": "已退回，并附意见。"}
    return _back(f"/console/v/{version}", words[name])


@route("POST", "/v/{ref}/submit", Action.RECORD_SUBMIT)
def submit(request: Request, ref: str, comment: str = Form("")) -> Response:
    return _transition(request, ref, "submit", comment)


@route("POST", "/v/{ref}/approve", Action.RECORD_APPROVE)
def approve(request: Request, ref: str, comment: str = Form("")) -> Response:
    return _transition(request, ref, "approve", comment)


@route("POST", "/v/{ref}/reject", Action.RECORD_REJECT)
def reject(request: Request, ref: str, comment: str = Form("")) -> Response:
    return _transition(request, ref, "reject", comment)


@route("POST", "/v/{ref}/withdraw", Action.RECORD_WITHDRAW)
def withdraw(request: Request, ref: str, comment: str = Form("", max_length=500),
             confirm: str = Form("")) -> Response:
    """撤回 on every channel, after the confirmation page (``hub.web.lifecycle.withdraw_form``)."""
    from hub.web.lifecycle import withdraw_confirmed

    return withdraw_confirmed(request, ref, comment, confirm)


@route("POST", "/v/{ref}/assign", Action.RECORD_ASSIGN)
def assign(request: Request, ref: str, department: str = Form("")) -> Response:
    """The office chooses the 公开责任部门 (``hub.departments.assign``); the issuer stays as found."""
    from hub.departments import assign as assign_department

    try:
        with session_scope() as s:
            row, _ = _see(s, request, ref, Action.RECORD_ASSIGN)
            new = assign_department(s, row.version, department, actor=_user(request))
            version = new.version
    except InputError as exc:
        return _back(f"/console/v/{ref}", str(exc))
    return _back(f"/console/v/{version}", f"已指定公开责任部门：{department.strip()}。")


@route("POST", "/v/{ref}/urge", Action.RECORD_URGE)
def urge(request: Request, ref: str, comment: str = Form(""), assignee: str = Form(""), due_on: str = Form(""),
         notify: str = Form("")) -> Response:
    """督办: a task for the record's author (or the person chosen), with a due day (``hub.office.urges``)."""
    from datetime import date
    from urllib.parse import quote

    from hub.office import urges

    with session_scope() as s:
        row, _ = _see(s, request, ref)
        version = row.version
    try:
        due = date.fromisoformat(due_on) if due_on.strip() else None
        with session_scope() as s:
            u = urges.create(s, version, _user(request), note=comment, due_on=due, assignee=assignee,
                             notify=bool(notify))
            who, when, mail = u.assignee, u.due_on, u.notified
    except (HubError, ValueError) as exc:
        msg = "督办期限应为日期（YYYY-MM-DD）。" if isinstance(exc, ValueError) else str(exc)
        return RedirectResponse(f"/console/v/{version}?err={quote(msg)}", status_code=303)
    return _back(f"/console/v/{version}", f"已督办 {who}，办理期限 {when.isoformat()}。" + (f"{mail}。" if mail else ""))


@route("POST", "/v/{ref}/findings/{finding_id}/waive", Action.FINDING_WAIVE)
def waive(request: Request, ref: str, finding_id: int, reason: str = Form("")) -> Response:
    from hub import workflow

    with session_scope() as s:
        row, _ = _see(s, request, ref)
        finding = s.get(FindingRow, finding_id)
        if finding is None or finding.version != row.version:
            raise NotFound(f"finding {finding_id}")
        workflow.waive(s, finding_id, _user(request), reason)
        version = row.version
    return _back(f"/console/v/{version}", "已豁免该项检查结果（已记录理由）。")


@route("POST", "/v/{ref}/publish", Action.RECORD_PUBLISH)
def publish(request: Request, ref: str, at: str = Form("", max_length=40), material: str = Form("")) -> Response:
    """Publish once (now, or 定时 at ``at``): the engine fans out to every target the routing selects."""
    from hub.app import deliveries as app_deliveries

    user = _user(request)
    with session_scope() as s:
        row, _ = _see(s, request, ref, Action.RECORD_PUBLISH)
        version = row.version
    when = app_deliveries.parse_local_time(at) if at.strip() else None
    done = app_deliveries.publish(version, actor=user, at=when, via="console", material=material == "yes")
    if when is not None:
        from hub.timeutil import to_local

        return _back(f"/console/v/{version}/deliveries",
                     f"已定时发布：{to_local(when):%Y-%m-%d %H:%M}，共 {len(done.ids)} 个渠道目标，到时自动发送。")
    return _back(f"/console/v/{version}/deliveries", f"已发布，共 {len(done.ids)} 个渠道目标。")


# --- previews ---------------------------------------------------------------------------


def preview_kinds() -> tuple[str, ...]:
    """The renditions the previews page renders on the spot: summary, QR and every channel's kind but the
    video (minutes of work: rendered on request, in the background)."""
    from hub.channels.registry import rendition_kinds

    return ("summary", "qr", *dict.fromkeys(k for k in rendition_kinds().values() if k != "video"))


@route("GET", "/v/{ref}/previews", Action.RECORD_VIEW)
def previews(request: Request, ref: str, msg: str | None = None) -> HTMLResponse:
    from hub.renderers.service import get_rendition, render_ref

    user = _user(request)
    out: dict[str, Any] = {}
    errors: dict[str, str] = {}
    video_running = False
    with session_scope() as s:
        row, record = _see(s, request, ref)
    # rendered between short transactions: no write lock is held while a renderer runs
    for kind in preview_kinds():
        try:
            out[kind] = render_ref(row.version, [kind])[0]
        except (RenderError, NotFound) as exc:
            errors[kind] = str(exc)
    with session_scope() as s:
        try:
            out["video"] = get_rendition(s, row.version, "video")
        except NotFound:
            if row.version in _VIDEO_ERRORS:
                errors["video"] = "视频生成失败：" + _VIDEO_ERRORS[row.version]
            job = _VIDEO_JOBS.get(row.version)
            video_running = job is not None and job.is_alive()
    return render(request, "console/previews.html", {
        "row": row, "record": record, "r": defaultdict(lambda: None, out), "errors": errors, "msg": msg,
        "texts": {k: preview_text(v) for k, v in out.items()}, "video_running": video_running,
        "can_edit": auth.can(user, Action.RECORD_EDIT, department=row.department or "")})


_VIDEO_JOBS: dict[str, threading.Thread] = {}
#: Why the last background video render of a version failed (shown on its previews page).
_VIDEO_ERRORS: dict[str, str] = {}


@route("POST", "/v/{ref}/previews/video", Action.RECORD_VIEW)
def render_video(request: Request, ref: str) -> Response:
    """Start rendering the TV package for preview in the background (minutes on a small machine)."""
    with session_scope() as s:
        row, _ = _see(s, request, ref)
        version = row.version
    job = _VIDEO_JOBS.get(version)
    if job is None or not job.is_alive():
        job = threading.Thread(target=_render_video, args=(version,), name=f"video-{version[:12]}", daemon=True)
        _VIDEO_JOBS[version] = job
        job.start()
    return _back(f"/console/v/{version}/previews", "视频正在生成，几分钟后刷新本页即可预览。")


def _render_video(version: str) -> None:
    from hub.renderers.service import render_ref

    _VIDEO_ERRORS.pop(version, None)
    try:
        render_ref(version, ["video"])  # minutes of work: never inside a transaction (SQLite write lock)
    except Exception as exc:  # noqa: BLE001 - a failed preview is reported on the page, never lost in a thread
        log.warning("video preview of %s failed: %s", version[:12], exc)
        _VIDEO_ERRORS[version] = f"{type(exc).__name__}: {exc}"


@route("GET", "/v/{ref}/subtitles.vtt", Action.RECORD_VIEW)
def subtitles(request: Request, ref: str) -> Response:
    """The TV package's SRT subtitles as WebVTT, for the preview player's <track>."""
    from hub.renderers.service import get_rendition
    from hub.web.media import srt_to_vtt

    with session_scope() as s:
        row, _ = _see(s, request, ref)
        art = get_rendition(s, row.version, "video").files.get("subtitles.srt")
    if art is None:
        raise NotFound("subtitles")
    return Response(srt_to_vtt(get_store().read_text(art)), media_type="text/vtt; charset=utf-8")


def preview_text(rendition: Any) -> str | None:
    """The plain text of a text rendition (SMS, Weibo, summary), read from its main artifact."""
    facts = rendition.facts or {}
    for key in ("text", "content"):
        if isinstance(facts.get(key), str):
            return str(facts[key])
    main = rendition.main
    if main.media_type.startswith("text/plain") or main.media_type == "application/json":
        try:
            return get_store().read_text(main)[:5000]
        except (OSError, NotFound, StorageUnavailable):
            return None
    return None


@route("GET", "/artifacts/{name}", Action.RECORD_VIEW)
def artifact(request: Request, name: str) -> Response:
    """A stored artifact by its content name; shown in sandboxed frames, never able to run script.

    The department rule holds here too: the artifact must belong to a rendition of a
    version the user may see (``artifact_departments``); else it does not exist for them.
    """
    from hub.web.security import ARTIFACT_CSP, artifact_departments

    if not _ARTIFACT_NAME.match(name):
        raise NotFound(name)
    user = _user(request)
    with session_scope() as s:
        owners = artifact_departments(s, name[:64])
    if not any(auth.can(user, Action.RECORD_VIEW, department=d) for d in owners):
        raise NotFound(name)
    # this node's file, else streamed from the shared object store (hub.artifacts); NotFound when neither has it
    resp = artifact_response(request, name, _media(name))
    resp.headers["Content-Security-Policy"] = ARTIFACT_CSP
    return resp


def _media(name: str) -> str:
    import mimetypes

    if name.endswith(".vtt"):
        return "text/vtt; charset=utf-8"
    if name.endswith(".srt"):
        return "text/plain; charset=utf-8"
    guess = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return guess + ("; charset=utf-8" if guess.startswith("text/") or guess.endswith("json") else "")


# --- delivery board -------------------------------------------------------------------


@route("GET", "/v/{ref}/deliveries", Action.DELIVERY_VIEW)
def deliveries(request: Request, ref: str, msg: str | None = None) -> HTMLResponse:
    user = _user(request)
    with session_scope() as s:
        row, record = _see(s, request, ref, Action.DELIVERY_VIEW)
        lines = board.lines(s, version=row.version)
        engagement = metrics_view.record_panel(s, row.record_id)
    live = any(not ln.terminal for ln in lines)
    return render(request, "console/deliveries.html", {
        "row": row, "record": record, "lines": lines, "live": live, "msg": msg, "engagement": engagement,
        "can_retry": auth.can(user, Action.DELIVERY_RETRY), "can_cancel": auth.can(user, Action.DELIVERY_CANCEL),
        "can_publish": auth.can(user, Action.RECORD_PUBLISH)})


def _delivery_action(request: Request, delivery_id: int, what: str) -> Response:
    from hub.app import deliveries as app_deliveries

    user = _user(request)
    with session_scope() as s:
        d = s.get(DeliveryRow, delivery_id)
        if d is None:
            raise NotFound(f"没有编号为 {delivery_id} 的投递")
        version = d.version
        auth.require(user, Action.DELIVERY_RETRY if what == "retry" else Action.DELIVERY_CANCEL,
                     department=_department_of(s, version))
    try:
        row = (app_deliveries.retry if what == "retry" else app_deliveries.cancel)(delivery_id, actor=user,
                                                                                  via="console")
    except HubError as exc:
        raise WorkflowError(str(exc)) from None
    if what == "retry":
        msg = "已安排重试。" if row.id == delivery_id else f"已重新发送（新投递 {row.id}）。"
    else:
        msg = "已取消。"
    return _back(f"/console/v/{version}/deliveries", msg)


def _department_of(s: Session, version: str) -> str:
    row = s.get(VersionRow, version)
    return (row.department or "") if row is not None else ""


@route("POST", "/deliveries/{delivery_id}/retry", Action.DELIVERY_RETRY)
def retry(request: Request, delivery_id: int) -> Response:
    return _delivery_action(request, delivery_id, "retry")


@route("POST", "/deliveries/{delivery_id}/cancel", Action.DELIVERY_CANCEL)
def cancel(request: Request, delivery_id: int) -> Response:
    return _delivery_action(request, delivery_id, "cancel")


@route("GET", "/county", Action.AUDIT_VIEW)
def county(request: Request) -> HTMLResponse:
    """The county at a glance: what is stuck, what failed, what is unconfirmed; and the audit log."""
    with session_scope() as s:
        overview = board.overview(s)
        audit_rows = list(s.scalars(select(AuditRow).order_by(AuditRow.id.desc()).limit(50)))
        engagement = metrics_view.county_panel(s)
    return render(request, "console/county.html", {"o": overview, "audit": audit_rows,
                                                   "live": bool(overview.active), "engagement": engagement})


@route("GET", "/report/assessment", Action.AUDIT_VIEW)
@route("GET", "/report/assessment.{fmt}", Action.AUDIT_VIEW)
def assessment_report(request: Request, period: str | None = None, level: str = "county",
                      fmt: str = "html") -> Response:
    """The department assessment (issue 15): the page, or its PDF / XLSX download with the same figures."""
    from hub.metrics import assessment

    period = period or assessment.last_month()
    if fmt not in assessment.FORMATS:
        raise NotFound(fmt)
    with session_scope() as s:
        report = assessment.build(s, period=period, level=level)
    if fmt != "html":
        media = {"pdf": "application/pdf",
                 "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}[fmt]
        return Response(assessment.export(report, fmt), media_type=media, headers={
            "Content-Disposition": f'attachment; filename="assessment-{period}-{level}.{fmt}"'})
    return render(request, "console/assessment.html", {
        "period": period, "level": level, "levels": assessment.LEVEL_LABELS,
        "body": assessment.to_html(report, fragment=True)})


# --- users (admin) ----------------------------------------------------------------------


@route("GET", "/users", Action.USERS_MANAGE)
def users(request: Request, msg: str | None = None) -> HTMLResponse:
    from hub.web.manage import users_context

    with session_scope() as s:
        rows = list(s.scalars(select(UserRow).order_by(UserRow.name)))
    return render(request, "console/users.html", {"rows": rows, "msg": msg, **users_context()})


@route("POST", "/users", Action.USERS_MANAGE)
def add_user(request: Request, name: str = Form(...), role: str = Form(...), department: str = Form(""),
             password: str = Form(...)) -> Response:
    try:
        with session_scope() as s:
            auth.add_user(s, name, role, department, password, actor=_user(request).name)
    except HubError as exc:
        from urllib.parse import quote

        from hub.web.wording import in_chinese

        return RedirectResponse(f"/console/users?err={quote(in_chinese(str(exc)))}", status_code=303)
    return _back("/console/users", f"已创建账号 {name}。")


async def _run_sync(fn: Callable[..., Response], *args: Any) -> Response:
    """Run a blocking handler body (database, argon2, renderers) off the event loop."""
    from starlette.concurrency import run_in_threadpool

    return await run_in_threadpool(fn, *args)


# the after-publish actions (定时, 人工确认, 处理记录, 撤回) register their routes on this router
from hub.web import lifecycle as _lifecycle  # noqa: E402,F401 - registers routes
