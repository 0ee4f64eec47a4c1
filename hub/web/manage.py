"""Management pages: accounts (users), one's own password, SMS subscribers, channel accounts.

The admin manages users (create with role and department from lists, disable,
reset password, change role), subscribers (import a CSV, list masked, opt out,
figures) and channel accounts (health, last success, token expiry, Weibo
re-authorisation); everyone changes their own password. The logic lives where
it already did (``hub.auth``, ``hub.audience.subscribers``,
``hub.channels.weibo_oauth``); these routes parse, call, and answer in words,
refusals always in the error box.
"""

from __future__ import annotations

import secrets
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import func, select

from hub import auth
from hub.auth import Action
from hub.errors import HubError, NotFound
from hub.store import repo
from hub.store.db import session_scope
from hub.store.models import DeliveryEventRow, DeliveryRow, SubscriberRow, UserRow
from hub.timeutil import utcnow
from hub.web.guard import console_router
from hub.web.pages import load_user, render
from hub.web.security import session as web_session

router, route = console_router()


def _user(request: Request) -> UserRow:
    user = load_user(request)
    assert user is not None  # the route dependency signed them in
    return user


def _ok(url: str, msg: str) -> RedirectResponse:
    return RedirectResponse(f"{url}?msg={quote(msg)}", status_code=303)


def _err(url: str, msg: str) -> RedirectResponse:
    return RedirectResponse(f"{url}?err={quote(msg)}", status_code=303)


def departments() -> list[str]:
    """The departments to choose from: ``office.toml: departments``, plus any an account or record already has."""
    from hub.office.settings import get_office_settings
    from hub.store.models import VersionRow

    try:
        listed = list(get_office_settings().departments)
    except HubError:
        listed = []
    with session_scope() as s:
        used = {d for (d,) in s.execute(select(UserRow.department).distinct()) if d}
        used |= {d for (d,) in s.execute(select(VersionRow.department).distinct()) if d}
    return listed + sorted(used - set(listed))


def users_context() -> dict[str, Any]:
    """What the users page (``console.users``) shows besides the accounts: lists to choose from."""
    return {"departments": departments(), "roles": auth.PERSON_ROLES}


# --- users --------------------------------------------------------------------------------------


def _user_action(request: Request, name: str, what: str, **form: str) -> Response:
    admin = _user(request)
    try:
        with session_scope() as s:
            if what == "disable":
                auth.set_active(s, name, False, actor=admin)
                msg = f"已停用账号 {name}：该账号不能再登录。"
            elif what == "enable":
                auth.set_active(s, name, True, actor=admin)
                msg = f"已启用账号 {name}。"
            elif what == "reset":
                password = auth.reset_password(s, name, actor=admin)
                msg = f"已重置 {name} 的密码，新密码：{password}（只显示这一次，请当面告知本人并提醒其修改）"
            else:
                auth.set_role(s, name, form.get("role", ""), form.get("department"), actor=admin)
                auth.set_email(s, name, form.get("email"), actor=admin)
                msg = f"已修改 {name} 的角色、部门和邮箱。"
    except HubError as exc:
        return _err("/console/users", str(exc))
    return _ok("/console/users", msg)


@route("POST", "/users/{name}/disable", Action.USERS_MANAGE)
def disable_user(request: Request, name: str) -> Response:
    return _user_action(request, name, "disable")


@route("POST", "/users/{name}/enable", Action.USERS_MANAGE)
def enable_user(request: Request, name: str) -> Response:
    return _user_action(request, name, "enable")


@route("POST", "/users/{name}/reset", Action.USERS_MANAGE)
def reset_user(request: Request, name: str) -> Response:
    return _user_action(request, name, "reset")


@route("POST", "/users/{name}/role", Action.USERS_MANAGE)
def role_user(request: Request, name: str, role: str = Form(""), department: str = Form(""),
              email: str = Form("", max_length=200)) -> Response:
    return _user_action(request, name, "role", role=role, department=department, email=email)


# --- one's own account ------------------------------------------------------------------------------


@route("GET", "/account", Action.ACCOUNT_SELF)
def account(request: Request, msg: str | None = None) -> HTMLResponse:
    return render(request, "console/account.html", {"msg": msg})


@route("POST", "/account/password", Action.ACCOUNT_SELF)
def change_password(request: Request, current: str = Form("", max_length=200), new: str = Form("", max_length=200),
                    again: str = Form("", max_length=200)) -> Response:
    user = _user(request)
    if new != again:
        return _err("/console/account", "两次输入的新密码不一致。")
    try:
        with session_scope() as s:
            auth.change_password(s, user.name, current, new)
    except HubError as exc:
        return _err("/console/account", str(exc))
    return _ok("/console/account", "密码已修改，下次登录请使用新密码。")


# --- SMS subscribers -------------------------------------------------------------------------------


@route("GET", "/subscribers", Action.RECIPIENTS_VIEW)
def subscribers(request: Request, msg: str | None = None, page: int = 1) -> HTMLResponse:
    """Subscribers, numbers masked, with figures by level and region."""
    from hub.audience.subscribers import describe

    page = max(1, page)
    with session_scope() as s:
        listed = SubscriberRow.listed.is_(True)  # not the askers known only from an answer notice
        active = SubscriberRow.opted_out_at.is_(None)
        total = int(s.scalar(select(func.count()).select_from(SubscriberRow).where(listed)) or 0)
        opted = int(s.scalar(select(func.count()).select_from(SubscriberRow).where(listed, ~active)) or 0)
        by_region = [(lv, rg or "全县", int(n)) for lv, rg, n in s.execute(
            select(SubscriberRow.level, SubscriberRow.region, func.count()).where(listed, active)
            .group_by(SubscriberRow.level, SubscriberRow.region).order_by(SubscriberRow.level, SubscriberRow.region))]
        rows = [describe(r) for r in s.scalars(select(SubscriberRow).where(listed).order_by(SubscriberRow.id)
                                               .offset((page - 1) * 100).limit(100))]
    return render(request, "console/subscribers.html", {
        "rows": rows, "total": total, "opted_out": opted, "by_region": by_region, "page": page,
        "more": page * 100 < total, "msg": msg,
        "can_manage": auth.can(_user(request), Action.CHANNELS_MANAGE)})


@route("POST", "/subscribers/import", Action.CHANNELS_MANAGE)
async def import_subscribers(request: Request, file: Annotated[UploadFile | None, File()] = None) -> Response:
    data = await file.read(5 * 1024 * 1024 + 1) if file is not None and file.filename else b""
    from starlette.concurrency import run_in_threadpool

    return await run_in_threadpool(_import, request, data, file.filename if file is not None else "")


def _import(request: Request, data: bytes, name: str | None) -> Response:
    from hub.audience import subscribers as subs

    if not data:
        return _err("/console/subscribers", "请选择 CSV 文件（表头：phone,level,region,topics）。")
    if len(data) > 5 * 1024 * 1024:
        return _err("/console/subscribers", "文件超过 5 MB，请分批导入。")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "subscribers.csv"
        path.write_bytes(data)
        try:
            with session_scope() as s:
                report = subs.import_csv(s, path)
                repo.audit(s, _user(request), "subscribers.import", None, file=name or "", added=report.added,
                           updated=report.updated, rejected=len(report.rejected))
        except HubError as exc:
            return _err("/console/subscribers", f"导入失败：{str(exc).replace(str(path), name or 'CSV')}")
    msg = f"导入完成：新增 {report.added}，更新 {report.updated}"
    if report.rejected:
        listed = "；".join(f"第 {ln} 行 {f}：{r}" for ln, f, r in report.rejected[:10])
        return _err("/console/subscribers", f"{msg}，跳过 {len(report.rejected)} 行（{listed}）")
    return _ok("/console/subscribers", msg + "。")


@route("POST", "/subscribers/optout", Action.CHANNELS_MANAGE)
def optout(request: Request, phone: str = Form("", max_length=40)) -> Response:
    from hub.audience import subscribers as subs

    try:
        with session_scope() as s:
            row = subs.opt_out(s, phone)
            shown = subs.masked(row)
            repo.audit(s, _user(request), "subscribers.optout", None, phone=shown)
    except HubError as exc:
        return _err("/console/subscribers", f"退订失败：{exc}")
    return _ok("/console/subscribers", f"{shown} 已退订，不再接收短信。")


# --- channel accounts ---------------------------------------------------------------------------------


def _accounts_view() -> list[dict[str, Any]]:
    """Each configured account: channel, health flags, last confirmed delivery, token expiry where known."""
    from hub.channels.registry import CHANNELS
    from hub.channels.sendstate import default_sessions
    from hub.channels.weibo_oauth import configured, stored_expiry
    from hub.config import get_config
    from hub.queue import ledger

    config = get_config()
    now = utcnow()
    out: list[dict[str, Any]] = []
    with session_scope() as s:
        flags = {f.key: f for f in ledger.flags(s, now=now)}
        targets_of: dict[str, list[str]] = {}
        for tname, t in config.targets.items():
            targets_of.setdefault(t.account, []).append(tname)
        for name, acct in sorted(config.accounts.items()):
            if acct.channel not in CHANNELS:
                continue
            targets = targets_of.get(name, [])
            last: datetime | None = None
            if targets:
                last = s.scalar(select(func.max(DeliveryEventRow.at))
                                .join(DeliveryRow, DeliveryRow.id == DeliveryEventRow.delivery_id)
                                .where(DeliveryRow.target.in_(targets), DeliveryEventRow.to_state == "confirmed"))
            auth_flag, quota_flag = flags.get(f"auth-expired:{name}"), flags.get(f"quota-exhausted:{name}")
            out.append({"name": name, "channel": acct.channel, "targets": targets, "last": last,
                        "auth_expired": auth_flag is not None,
                        "quota_until": quota_flag.expires_at if quota_flag is not None else None,
                        "token_expires": None, "authorised_at": None,
                        "can_reauthorise": acct.channel == _oauth_channel() and configured(acct)})
    for a in out:  # after the transaction above: SQLite allows one writer at a time
        if a["channel"] == _oauth_channel():
            a["token_expires"], a["authorised_at"] = stored_expiry(default_sessions(), a["name"])
            if a["token_expires"] is None and a["targets"]:
                a["token_expires"], a["token_error"] = _ask_expiry(a["name"], a["targets"][0])
    return out


def _oauth_channel() -> str:
    """The channel whose accounts re-authorise through OAuth from this page (Weibo's app tokens expire)."""
    from hub.channels.weibo import WeiboChannel

    return WeiboChannel.name


def _ask_expiry(account: str, target: str) -> tuple[datetime | None, str | None]:
    """When the token in use expires, asked of Weibo (``oauth2/get_token_info``); or why it could not be asked."""
    from datetime import timedelta

    from hub.channels.base import Target
    from hub.channels.registry import get_channel
    from hub.web.board import ERROR_WORDS

    try:
        channel: Any = get_channel(_oauth_channel())
        info = channel.token_info(Target(_oauth_channel(), target, account, {}))
        return utcnow() + timedelta(seconds=int(info.get("expire_in") or 0)), None
    except HubError as exc:
        return None, ERROR_WORDS.get(type(exc).__name__, "无法查询授权有效期")
    except (ValueError, TypeError):
        return None, "无法查询授权有效期"


@route("GET", "/channels", Action.CHANNELS_MANAGE)
def channels(request: Request, msg: str | None = None) -> HTMLResponse:
    return render(request, "console/channels.html", {"accounts": _accounts_view(), "msg": msg})


def _redirect_uri(request: Request) -> str:
    from hub.settings import get_settings

    return f"{get_settings().public_url.rstrip('/')}/console/channels/weibo/callback"


@route("GET", "/channels/{name}/reauthorise", Action.CHANNELS_MANAGE)
def reauthorise(request: Request, name: str) -> Response:
    """Send the admin to Weibo's authorisation page; ``state`` ties the answer to this session and account.

    A link (GET), not a form: the console's CSP ``form-action 'self'`` rightly stops a form from
    redirecting to another site, and starting an authorisation changes nothing until the admin grants it.
    """
    from hub.channels.weibo_oauth import authorize_url
    from hub.config import get_config

    acct = get_config().accounts.get(name)
    if acct is None or acct.channel != _oauth_channel():
        raise NotFound(name)
    state = secrets.token_urlsafe(16)
    web_session(request)["oauth"] = {"state": state, "account": name}
    request.state.session_dirty = True
    try:
        url = authorize_url(acct, name, redirect_uri=_redirect_uri(request), state=state)
    except HubError as exc:
        return _err("/console/channels", str(exc))
    return RedirectResponse(url, status_code=303)


@route("GET", "/channels/weibo/callback", Action.CHANNELS_MANAGE)
def weibo_callback(request: Request, code: str = "", state: str = "", error: str = "") -> Response:
    """Weibo's redirect back: check ``state``, trade the code for a token, store it (never shown, never logged)."""
    from hub.channels.weibo_oauth import exchange
    from hub.config import get_config
    from hub.queue import ledger

    pending = web_session(request).pop("oauth", None)
    request.state.session_dirty = True
    if not isinstance(pending, dict) or not state or not secrets.compare_digest(str(pending.get("state")), state):
        return _err("/console/channels", "授权结果与本次操作不匹配（可能已过期），请重新点击“重新授权”。")
    name = str(pending.get("account"))
    if error or not code:
        return _err("/console/channels", f"微博未授权（{error or '没有授权码'}）。")
    acct = get_config().accounts.get(name)
    if acct is None:
        raise NotFound(name)
    try:
        expires = exchange(acct, name, code=code, redirect_uri=_redirect_uri(request))
    except HubError as exc:
        return _err("/console/channels", str(exc))
    with session_scope() as s:
        ledger.clear_flag(s, f"auth-expired:{name}")
        repo.audit(s, _user(request), "channel.reauthorise", name, channel=_oauth_channel(), expires_at=expires.isoformat())
    return _ok("/console/channels", f"{name} 已重新授权，有效期至 {expires:%Y-%m-%d}。被暂停的发送可在发布情况中点“重试”。")
