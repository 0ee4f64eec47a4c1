"""Platform callbacks: Tencent SMS delivery reports and replies, and WeChat PUBLISHJOBFINISH events.

They come from the platforms, not from a browser, so they carry no CSRF token;
each is authenticated its own way instead:

- SMS: the callback URL configured at Tencent contains a secret path segment
  (``HUB_SMS_CALLBACK_SECRET``); without it set, the endpoint does not exist.
- WeChat: the standard ``signature``/``timestamp``/``nonce`` query, verified with
  ``wechatpy.utils.check_signature`` against the account's callback token; for
  events also a timestamp within ``HUB_WECHAT_CALLBACK_WINDOW`` seconds (300) of
  now and a nonce never seen before (kept in ``channel_state``, so every process
  shares the replay cache). Where the account has an EncodingAESKey
  (``encoding_aes_key_env``) only the encrypted safe-mode format is accepted
  (``wechatpy.crypto.WeChatCrypto``): its ``msg_signature`` covers the body, which
  the plain signature does not. Even then an event is only a hint: the delivery
  is made due for a status poll, and only ``freepublish/get`` confirms it
  (issue 18: a forged "publish finished" must not confirm a publish WeChat fails).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import PlainTextResponse, Response
from starlette.concurrency import run_in_threadpool

from hub.channels.wechat import WeChatChannel
from hub.errors import ConfigError
from hub.store import repo
from hub.store.db import session_scope

log = logging.getLogger(__name__)
router = APIRouter(prefix="/callbacks")
#: the channel whose platform posts events to /callbacks/wechat/<account>
CHANNEL = WeChatChannel.name


async def _sms_payload(secret: str, request: Request) -> Any:
    """The JSON body of a Tencent SMS callback whose path carries ``HUB_SMS_CALLBACK_SECRET`` (else 404).

    Tencent's SMS callbacks carry no signature: the secret path segment is the authentication,
    and without the variable set the endpoints do not exist.
    """
    expected = os.environ.get("HUB_SMS_CALLBACK_SECRET")
    if not expected or not hmac.compare_digest(secret.encode(), expected.encode()):
        raise HTTPException(status_code=404, detail="not found")
    try:
        return await request.json()
    except ValueError:
        raise HTTPException(status_code=400, detail="body is not JSON") from None


@router.post("/sms/{secret}")
async def sms_report(secret: str, request: Request) -> dict[str, Any]:
    payload = await _sms_payload(secret, request)

    def handle() -> Any:
        from hub.channels.sms import handle_sms_callback

        with session_scope() as s:
            return handle_sms_callback(s, payload)

    await run_in_threadpool(handle)
    return {"result": 0, "errmsg": "OK"}


@router.post("/sms-reply/{secret}")
async def sms_reply(secret: str, request: Request) -> dict[str, Any]:
    """Upstream SMS (a citizen's reply: opt-out or a question); the handling is ``hub.audience.replies``."""
    payload = await _sms_payload(secret, request)

    def handle() -> None:
        from hub.audience.replies import from_callback, handle

        for reply in from_callback(payload):
            handle(reply)

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


#: default seconds a WeChat callback's timestamp may differ from now
CALLBACK_WINDOW_S = 300.0
#: channel_state prefix of the nonces already seen (the replay cache)
NONCE_PREFIX = "wechat-nonce:"


def _window() -> float:
    try:
        return float(os.environ.get("HUB_WECHAT_CALLBACK_WINDOW") or CALLBACK_WINDOW_S)
    except ValueError:
        return CALLBACK_WINDOW_S


def _fresh(account: str, request: Request) -> None:
    """Refuse a stale event (timestamp outside the window) or a replayed one (timestamp + nonce seen before)."""
    from sqlalchemy import delete
    from sqlalchemy.exc import IntegrityError

    from hub.store.models import ChannelStateRow

    q = request.query_params
    window = _window()
    try:
        ts = int(q.get("timestamp", ""))
    except ValueError:
        raise HTTPException(status_code=403, detail="bad timestamp") from None
    if abs(time.time() - ts) > window:
        raise HTTPException(status_code=403, detail="stale callback")
    nonce = q.get("nonce", "")
    if not nonce:
        raise HTTPException(status_code=403, detail="no nonce")
    digest = hashlib.sha256(f"{account}\x1f{ts}\x1f{nonce}".encode()).hexdigest()
    now = datetime.now(UTC)
    try:
        with session_scope() as s:
            if s.get(ChannelStateRow, NONCE_PREFIX + digest) is not None:
                raise HTTPException(status_code=403, detail="replayed callback")
            s.execute(delete(ChannelStateRow).where(ChannelStateRow.key.like(f"{NONCE_PREFIX}%"),
                                                    ChannelStateRow.expires_at < now))
            s.add(ChannelStateRow(key=NONCE_PREFIX + digest, value={"account": account}, updated_at=now,
                                  expires_at=datetime.fromtimestamp(ts, UTC) + timedelta(seconds=2 * window)))
    except IntegrityError:  # another process took the same nonce first
        raise HTTPException(status_code=403, detail="replayed callback") from None


def _aes_key(account: str) -> tuple[str, str] | None:
    """(EncodingAESKey, app_id) when the account is in safe mode, else None."""
    from hub.config import get_config

    acc = get_config().accounts.get(account)
    if acc is None or not acc.get("encoding_aes_key_env"):
        return None
    try:
        key = acc.secret("encoding_aes_key_env", account).value
    except ConfigError:
        raise HTTPException(status_code=404, detail="not found") from None
    return key, str(acc.get("app_id") or "")


def _decrypt(account: str, request: Request, body: bytes) -> bytes:
    """The event XML: decrypted and checked against ``msg_signature`` in safe mode; plain otherwise."""
    safe = _aes_key(account)
    if safe is None:
        return body
    from wechatpy.crypto import WeChatCrypto
    from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException

    q = request.query_params
    if q.get("encrypt_type", "") != "aes" or not q.get("msg_signature"):
        raise HTTPException(status_code=403, detail="this account accepts encrypted events only")
    key, app_id = safe
    try:
        plain = WeChatCrypto(_token(account), key, app_id).decrypt_message(
            body.decode("utf-8"), q.get("msg_signature", ""), q.get("timestamp", ""), q.get("nonce", ""))
    except (InvalidSignatureException, InvalidAppIdException):
        raise HTTPException(status_code=403, detail="bad signature") from None
    except Exception:  # not the safe-mode envelope, bad padding, bad base64: not from WeChat
        raise HTTPException(status_code=400, detail="not an encrypted event") from None
    return plain.encode("utf-8") if isinstance(plain, str) else bytes(plain)


@router.get("/wechat/{account}")
def wechat_verify(account: str, request: Request) -> Response:
    """WeChat's server check when the callback URL is configured: echo ``echostr`` when signed."""
    _verify(account, request)
    return PlainTextResponse(request.query_params.get("echostr", ""))


@router.post("/wechat/{account}")
async def wechat_event(account: str, request: Request) -> Response:
    """A pushed event: signed, fresh, never replayed (and decrypted in safe mode); PUBLISHJOBFINISH is a hint.

    The event is kept (``handle_publish_event``, for the record) and the delivery is
    made due for its status poll now; the poll asks ``freepublish/get``, and only
    WeChat's own answer confirms or fails the delivery.
    """
    _verify(account, request)
    body = await request.body()
    if len(body) > MAX_EVENT_BYTES:
        raise HTTPException(status_code=413, detail="event too large")

    body = _decrypt(account, request, body)  # signature checks first: a forgery must not burn a nonce
    await run_in_threadpool(_fresh, account, request)
    event, publish_id = _event(body)
    if event in ("publishjobfinish", "freepublishjobfinish"):
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
    """Keep the verified event, make its ``submitted`` delivery due for a poll now, and hint ``confirm``.

    The poll asks ``freepublish/get``: the callback only says when to ask.
    """
    from hub.channels.wechat import handle_publish_event
    from hub.queue.confirm import poll_now

    ids: list[int] = []
    with session_scope() as s:
        handle_publish_event(s, account, body)
        if publish_id:
            ids = [i for i in poll_now(s, provider_ref=publish_id) if _is_wechat(s, i)]
        repo.audit(s, CHANNEL, "callback.publishjobfinish", account, publish_id=publish_id, deliveries=ids)
    from hub.queue.actors import hint

    for delivery_id in ids:
        hint("confirm", delivery_id, None)


def _is_wechat(s: Any, delivery_id: int) -> bool:
    from hub.store.models import DeliveryRow

    row = s.get(DeliveryRow, delivery_id)
    return row is not None and row.channel == CHANNEL
