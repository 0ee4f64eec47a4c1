"""What every page shares: the Jinja2 environment, the signed-in user, and role checks.

Role checks call ``hub.auth.require`` (the one role × action matrix); this
module only finds the user and remembers which action each console route
needs (``ROUTE_ACTIONS``), so the security tests can walk every route.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from functools import lru_cache
from typing import Any

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select

from hub.record import LEVEL_NAMES, Level, Stage, short_version
from hub.settings import get_settings
from hub.store.db import session_scope
from hub.store.models import UserRow
from hub.timeutil import to_local
from hub.web.security import csrf_token, session

ROLE_NAMES = {"author": "撰稿人", "reviewer": "审核人", "office": "政务公开办", "admin": "管理员", "station": "电视台"}
STATE_NAMES = {"draft": "草稿", "in_review": "待审核", "approved": "已审核", "rejected": "已退回",
               "published": "已发布", "withdrawn": "已撤回"}

#: The TV package's QC checks as a station engineer reads them.
QC_NAMES = {"resolution": "分辨率", "frame_rate": "帧率", "video_codec": "视频编码", "audio_codec": "音频编码",
            "duration": "时长", "loudness": "响度（LUFS）", "true_peak": "真峰值", "black_frames": "黑场",
            "frozen_frames": "静帧", "subtitle_width": "字幕位置", "narration_mandarin": "普通话朗读"}

#: (method, path, action) of every console route: the security tests walk this table.
ROUTE_ACTIONS: list[tuple[str, str, str]] = []


class LoginRequired(Exception):
    """Raised by a staff dependency when nobody is signed in; the app answers with the log-in page."""


@lru_cache(maxsize=4)
def _environment(path: str) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(path),
        autoescape=True,  # every page: editor text is never marked safe
        undefined=jinja2.ChainableUndefined,  # an optional file missing renders as nothing, not a 500
        trim_blocks=True,
        lstrip_blocks=True,
    )
    from hub.renderers.web import safe_href

    env.filters["safe_href"] = safe_href  # THE link filter of every template (renditions use it too)
    env.filters["local"] = fmt_time
    env.filters["day"] = fmt_day
    env.filters["short"] = short_version
    env.filters["state_name"] = lambda s: STATE_NAMES.get(s, s)
    env.filters["role_name"] = lambda s: ROLE_NAMES.get(s, s)
    env.filters["level_name"] = level_name
    from hub.channels.registry import label as channel_label
    from hub.web.board import ACTION_NAMES
    from hub.web.board import STATE_NAMES as DELIVERY_STATE_NAMES

    env.filters["channel_name"] = channel_label
    env.filters["dstate_name"] = lambda s: DELIVERY_STATE_NAMES.get(s, s)
    env.filters["action_name"] = lambda a: ACTION_NAMES.get(a, a)
    env.filters["qc_value"] = qc_value
    env.filters["qc_name"] = lambda n: QC_NAMES.get(n, n)
    env.filters["isotime"] = lambda v: fmt_time(datetime.fromisoformat(v)) if isinstance(v, str) and v else ""
    env.globals["STAGES"] = [s.value for s in Stage]
    env.globals["LEVELS"] = [(lv.value, LEVEL_NAMES[lv]) for lv in Level]
    return env


def environment() -> jinja2.Environment:
    return _environment(str(get_settings().templates_dir / "web"))


def qc_value(value: Any) -> str:
    """A QC measurement as a line of text (dicts as key=value, lists comma-separated, empty as —)."""
    if value in (None, [], {}, ""):
        return "—"
    if isinstance(value, dict):
        return "，".join(f"{k}={qc_value(v)}" for k, v in value.items())
    if isinstance(value, list):
        return "，".join(qc_value(v) for v in value)
    return str(value)


def level_name(value: str | None) -> str:
    try:
        return LEVEL_NAMES[Level(value)] if value else ""
    except ValueError:
        return value or ""


def fmt_time(value: datetime | None) -> str:
    """Asia/Shanghai, as people read it: 2017-11-15 14:52."""
    return "" if value is None else to_local(value).strftime("%Y-%m-%d %H:%M")


def fmt_day(value: date | datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = to_local(value).date()
    return f"{value.year}年{value.month:02d}月{value.day:02d}日"


def site_name() -> str:
    try:
        from hub.config import get_config

        return get_config().portal.site_name
    except Exception:  # noqa: BLE001 - a page must render even with a broken channels.toml
        return "政务公开"


def render(request: Request, template: str, context: dict[str, Any], *, status_code: int = 200) -> HTMLResponse:
    """Render ``templates/web/<template>`` with the shared globals (site, user, CSRF token)."""
    user = getattr(request.state, "user", None)
    ctx = {
        "request": request,
        "site_name": site_name(),
        "user": user,
        "csrf_token": csrf_token(request),
        "path": request.url.path,
        **context,
    }
    html = environment().get_template(template).render(ctx)
    return HTMLResponse(html, status_code=status_code)


def load_user(request: Request) -> UserRow | None:
    """The signed-in, active user of this request, read fresh from the database."""
    if hasattr(request.state, "user"):
        user: UserRow | None = request.state.user
        return user
    from hub.web.security import session_alive

    data = session(request)
    name = data.get("u")
    user = None
    if isinstance(name, str):
        with session_scope() as s:
            if session_alive(s, data.get("sid"), name):  # revoked (logged out) sessions open nothing
                user = s.scalars(select(UserRow).where(UserRow.name == name, UserRow.active.is_(True))).first()
    request.state.user = user
    return user


def staff(action: str) -> Callable[[Request], UserRow]:
    """A dependency: a signed-in user whom ``hub.auth`` allows ``action`` (else log-in page or 403)."""

    def dependency(request: Request) -> UserRow:
        from hub import auth

        user = load_user(request)
        if user is None:
            raise LoginRequired()
        auth.require(user, action)
        return user

    dependency.__name__ = f"staff_{action.replace('.', '_')}"
    return dependency
