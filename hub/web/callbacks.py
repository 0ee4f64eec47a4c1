"""Platform callbacks: Tencent SMS delivery reports and WeChat PUBLISHJOBFINISH events.

They come from the platforms, not from a browser, so they carry no CSRF token;
each is authenticated its own way instead:

- SMS: the callback URL configured at Tencent contains a secret path segment
  (``HUB_SMS_CALLBACK_SECRET``); without it set, the endpoint does not exist.
- WeChat: the standard ``signature``/``timestamp``/``nonce`` query, verified with
  ``wechatpy.utils.check_signature`` against the account's callback token.
"""

from __future__ import annotations

import hmac
import logging
import os
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import PlainTextResponse, Response

from hub.channels.wechat import WeChatChannel
from hub.errors import ConfigError
from hub.store import repo
from hub.store.db import session_scope

log = logging.getLogger(__name__)
router = APIRouter(prefix="/callbacks")
#: the channel whose platform posts events to /callbacks/wechat/<account>
CHANNEL = WeChatChannel.name


@router.post("/sms/{secret}")
async def sms_report(secret: str, request: Request) -> dict[str, Any]:
    expected = os.environ.get("HUB_SMS_CALLBACK_SECRET")
    if not expected or not hmac.compare_digest(secret.encode(), expected.encode()):
        raise HTTPException(status_code=404, detail="not found")
    try:
        payload = await request.json()
    except ValueError:
        raise HTTPException(status_code=400, detail="body is not JSON") from None
    from starlette.concurrency import run_in_threadpool

    def handle() -> Any:
        from hub.channels.sms import handle_sms_callback

        with session_scope() as s:
            return handle_sms_callback(s, payload)

    await run_in_threadpool(handle)
    return {"result": 0, "errmsg": "OK"}


def _token(account: str) -> str:
    from hub.config import get_config

    acc = get_config().accounts.get(account)
    if acc is None or acc.channel != CHANNEL:
        raise HTTPException(status_code=404, detail="not found")
    try:
        return acc.secret("callback_token_env", account).value
    except ConfigError:
        raise HTTPException(status_code=404, detail="not found") from None


def _verify(account: str, request: Request) -> None:
    from wechatpy.exceptions import InvalidSignatureException
    from wechatpy.utils import check_signature

    q = request.query_params
    try:
        check_signature(_token(account), q.get("signature", ""), q.get("timestamp", ""), q.get("nonce", ""))
    except InvalidSignatureException:
        raise HTTPException(status_code=403, detail="bad signature") from None


@router.get("/wechat/{account}")
def wechat_verify(account: str, request: Request) -> Response:
    """WeChat's server check when the callback URL is configured: echo ``echostr`` when signed."""
    _verify(account, request)
    return PlainTextResponse(request.query_params.get("echostr", ""))


@router.post("/wechat/{account}")
async def wechat_event(account: str, request: Request) -> Response:
    """A pushed event. PUBLISHJOBFINISH is kept for the WeChat adapter and the delivery confirmed now.

    Only a signature-checked event is kept (``handle_publish_event``): the adapter's
    ``status()`` then answers from it instead of spending the small daily quota of
    ``freepublish/get``; without an event, the engine's poll asks WeChat as before.
    """
    _verify(account, request)
    body = await request.body()
    if len(body) > MAX_EVENT_BYTES:
        raise HTTPException(status_code=413, detail="event too large")
    event, publish_id = _event(body)
    if event == "publishjobfinish":
        from starlette.concurrency import run_in_threadpool

        await run_in_threadpool(_confirm_publish, account, publish_id, body)
    return PlainTextResponse("success")


#: A WeChat event push is a few hundred bytes; anything far larger is not one.
MAX_EVENT_BYTES = 64 * 1024


def _event(body: bytes) -> tuple[str, str]:
    """(event name lower-cased, publish_id) of a pushed XML event (wechatpy has no type for PUBLISHJOBFINISH)."""
    import xml.etree.ElementTree as ET  # noqa: S405 - small, size-capped; expat refuses entity expansion bombs

    try:
        root = ET.fromstring(body)  # noqa: S314
    except ET.ParseError:
        raise HTTPException(status_code=400, detail="not an XML event") from None
    event = (root.findtext("Event") or "").strip().lower()
    publish_id = (root.findtext("PublishEventInfo/publish_id") or "").strip()
    return event, publish_id


def _confirm_publish(account: str, publish_id: str, body: bytes) -> None:
    """Keep the verified event for the adapter's ``status()`` (no freepublish/get poll spent), then confirm."""
    from sqlalchemy import select

    from hub.channels.wechat import handle_publish_event
    from hub.store.models import DeliveryRow

    ids: list[int] = []
    with session_scope() as s:
        handle_publish_event(s, account, body)
        if publish_id:
            ids = list(s.scalars(select(DeliveryRow.id).where(DeliveryRow.channel == CHANNEL,
                                                              DeliveryRow.provider_ref == publish_id,
                                                              DeliveryRow.state == "submitted")))
        repo.audit(s, CHANNEL, "callback.publishjobfinish", account, publish_id=publish_id, deliveries=ids)
    from hub.queue.actors import hint

    for delivery_id in ids:
        hint("confirm", delivery_id, None)
