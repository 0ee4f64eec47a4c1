"""The Tencent SMS reply callback (upstream SMS): ``POST /callbacks/sms-reply/<secret>``.

Authenticated like the delivery-report callback (``hub.web.callbacks``): the URL
configured at Tencent carries the secret path segment ``HUB_SMS_CALLBACK_SECRET``;
without it set the endpoint does not exist. The handling is ``hub.audience.replies``.
"""

from __future__ import annotations

import hmac
import os
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from starlette.concurrency import run_in_threadpool

router = APIRouter(prefix="/callbacks")


@router.post("/sms-reply/{secret}")
async def sms_reply(secret: str, request: Request) -> dict[str, Any]:
    expected = os.environ.get("HUB_SMS_CALLBACK_SECRET")
    if not expected or not hmac.compare_digest(secret.encode(), expected.encode()):
        raise HTTPException(status_code=404, detail="not found")
    try:
        payload = await request.json()
    except ValueError:
        raise HTTPException(status_code=400, detail="body is not JSON") from None

    def handle() -> None:
        from hub.audience.replies import from_callback, handle

        for reply in from_callback(payload):
            handle(reply)

    await run_in_threadpool(handle)
    return {"result": 0, "errmsg": "OK"}
