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

from hub.errors import ConfigError
from hub.store import repo
from hub.store.db import session_scope

log = logging.getLogger(__name__)
router = APIRouter(prefix="/callbacks")


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
    if acc is None or acc.channel != "wechat":
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
    """A pushed event; PUBLISHJOBFINISH goes to the WeChat adapter, which confirms the delivery."""
    _verify(account, request)
    body = await request.body()
    from wechatpy import parse_message

    message = parse_message(body)
    event = str(getattr(message, "event", "") or "").lower()
    if event == "publishjobfinish":
        from starlette.concurrency import run_in_threadpool

        def handle() -> None:
            from hub.channels import wechat

            handler = getattr(wechat, "handle_publish_event", None)
            with session_scope() as s:
                repo.audit(s, "wechat", "callback.publishjobfinish", account,
                           publish_id=str(getattr(message, "publish_id", "") or ""))
                if callable(handler):
                    handler(s, account, message)

        await run_in_threadpool(handle)
    return PlainTextResponse("success")
