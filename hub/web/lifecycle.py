"""Console routes for what happens after "publish": 定时 (publish now / cancel), 人工确认送达,
per-delivery 处理记录 (event history). They call ``hub.app`` only; the routes are registered on
the console's router with its role guard (``hub.web.console.route``).
"""

from __future__ import annotations

from fastapi import Form, Request
from fastapi.responses import HTMLResponse, Response

from hub.auth import Action
from hub.channels.registry import label as channel_label
from hub.errors import HubError, NotFound, WorkflowError
from hub.store.db import session_scope
from hub.store.models import DeliveryRow
from hub.web.board import PURPOSE_NAMES, STATE_NAMES
from hub.web.console import _back, _see, _user, route
from hub.web.pages import render


@route("POST", "/v/{ref}/publish-now", Action.RECORD_PUBLISH)
def publish_now(request: Request, ref: str) -> Response:
    """定时 → 立即: the version's scheduled deliveries are sent now."""
    from hub.app import deliveries

    with session_scope() as s:
        row, _ = _see(s, request, ref, Action.RECORD_PUBLISH)
        version = row.version
    ids = deliveries.publish_now(version, actor=_user(request), via="console")
    return _back(f"/console/v/{version}/deliveries", f"已改为立即发布，共 {len(ids)} 个渠道目标。")


@route("POST", "/v/{ref}/unschedule", Action.DELIVERY_CANCEL)
def unschedule(request: Request, ref: str) -> Response:
    """Cancel the version's scheduled deliveries that have not been sent."""
    from hub.app import deliveries

    with session_scope() as s:
        row, _ = _see(s, request, ref, Action.DELIVERY_CANCEL)
        version = row.version
    ids = deliveries.cancel_schedule(version, actor=_user(request), via="console")
    return _back(f"/console/v/{version}/deliveries", f"已取消定时发布，共 {len(ids)} 个渠道目标。")


def _delivery_version(request: Request, delivery_id: int, action: Action) -> str:
    with session_scope() as s:
        d = s.get(DeliveryRow, delivery_id)
        if d is None:
            raise NotFound(f"没有编号为 {delivery_id} 的投递")
        row, _ = _see(s, request, d.version, action)
        return row.version


@route("POST", "/deliveries/{delivery_id}/mark-delivered", Action.DELIVERY_RETRY)
def mark_delivered(request: Request, delivery_id: int, note: str = Form("", max_length=500)) -> Response:
    """A person confirmed the delivery outside any API (e.g. the newspaper desk by phone)."""
    from hub.app import deliveries

    version = _delivery_version(request, delivery_id, Action.DELIVERY_RETRY)
    try:
        deliveries.mark_delivered(delivery_id, actor=_user(request), note=note, via="console")
    except HubError as exc:
        raise WorkflowError(str(exc)) from None
    return _back(f"/console/v/{version}/deliveries", "已标记为已送达（说明已记录）。")


@route("GET", "/deliveries/{delivery_id}/events", Action.DELIVERY_VIEW)
def delivery_events(request: Request, delivery_id: int) -> HTMLResponse:
    """One delivery's history: every state change, who made it, and the (redacted) reason."""
    from hub.app import deliveries

    version = _delivery_version(request, delivery_id, Action.DELIVERY_VIEW)
    row, events = deliveries.events(delivery_id)
    return render(request, "console/events.html", {
        "d": row, "version": version, "events": events, "states": STATE_NAMES,
        "channel_name": channel_label(row.channel),
        "purpose_name": PURPOSE_NAMES.get(row.purpose, row.purpose)})


@route("GET", "/v/{ref}/withdraw", Action.RECORD_WITHDRAW)
def withdraw_form(request: Request, ref: str, msg: str | None = None) -> HTMLResponse:
    """The confirmation step of 撤回: what will happen on each channel, and the reason (required)."""
    from hub.web import board

    with session_scope() as s:
        row, record = _see(s, request, ref, Action.RECORD_WITHDRAW)
        lines = [ln for ln in board.lines(s, version=row.version) if ln.purpose != "withdraw"]
    return render(request, "console/withdraw.html", {"row": row, "record": record, "lines": lines, "msg": msg})


def withdraw_confirmed(request: Request, ref: str, reason: str, confirm: str) -> Response:
    """POST of the confirmation page: the reason and the ticked box are both required."""
    from hub.app import lifecycle

    with session_scope() as s:
        row, _ = _see(s, request, ref, Action.RECORD_WITHDRAW)
        version = row.version
    if not reason.strip():
        return _back(f"/console/v/{version}/withdraw", "撤回必须写明原因。")
    if confirm != "yes":
        return _back(f"/console/v/{version}/withdraw", "请勾选确认后再撤回。")
    try:
        done = lifecycle.withdraw(version, actor=_user(request), reason=reason, via="console")
    except HubError as exc:
        raise WorkflowError(str(exc)) from None
    return _back(f"/console/v/{done.version}/deliveries",
                 f"已撤回：{len(done.ids)} 个渠道正在撤下，{len(done.cancelled)} 个未发出的投递已取消。")
