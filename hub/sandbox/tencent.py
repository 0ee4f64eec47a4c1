"""A wire-faithful stand-in for the Tencent Cloud API: SMS (2021-01-11) and TTS (2019-08-23).

Why this exists: the hub's SMS and TTS adapters run the real
``tencentcloud-sdk-python`` clients; pointing their ``HttpProfile`` at this
fake exercises the SDK's own signing, serialising and error handling. So the
fake is strict where the real service is strict:

* one ``POST /`` dispatched on ``X-TC-Action`` / ``X-TC-Version``;
* TC3-HMAC-SHA256 recomputed from the request and checked against
  ``sandbox.credentials["tencent"]`` (unknown SecretId → ``AuthFailure.SecretIdNotFound``,
  wrong key → ``AuthFailure.SignatureFailure``, clock skew over 5 min →
  ``AuthFailure.SignatureExpire``);
* answers ``{"Response": {..., "RequestId"}}`` with HTTP 200 and a
  Content-Type of *exactly* ``application/json`` (the SDK ignores error bodies
  otherwise, channel-apis.md §3.1);
* ``SendSms`` enforces the approved signature and template of
  ``config/channels.toml`` ``[render.sms]``, ≤ 200 numbers, parameter count,
  length and "no URL in a parameter", and answers per number (``Ok`` with
  ``SerialNo`` and ``Fee``, or the per-number code: bad number, blacklist,
  same content within 30 s, daily cap);
* every accepted SMS lands in the sandbox inbox as the citizen sees it;
* upstream replies injected at ``POST /_sandbox/sms/reply`` queue up for ``PullSmsReplyStatus``
  and are POSTed to ``reply_callback_url`` as the documented reply callback object;
* delivery reports queue up for ``PullSmsSendStatus`` (each pulled once) and,
  when a callback URL is set, are POSTed as the documented JSON array; every
  report also stays in a log that ``PullSmsSendStatusByPhoneNumber`` reads (one
  number, ``BeginTime``…``EndTime`` on ``UserReceiveTime``, at most 7 days back,
  ``Offset`` fixed at 0, ``Limit`` ≤ 100), as the real API does;
* ``TextToVoice`` returns real speech (espeak-ng Mandarin) or a tone.

Vendor state (``sandbox.vendor("tencent")``), settable by tests and the demo:
``blacklist`` (numbers that sent 退订 to the operator), ``undeliverable``
(numbers whose report says FAIL), ``callback_url``, ``daily_limit``,
``report_delay`` (seconds), ``sensitive_words``, and ``error_code`` /
``error_action`` / ``error_count`` to answer any Tencent error code.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
import math
import os
import re
import shutil
import subprocess
import threading
import time
import urllib.request
import uuid
import wave
from collections import defaultdict
from datetime import UTC, datetime
from html import escape
from typing import Any

from hub.config import HubConfig
from hub.redact import mask_phone
from hub.sandbox.core import Sandbox, SandboxRequest, SandboxResponse
from hub.sandbox.inbox import InboxSection, when
from hub.timeutil import SHANGHAI

SMS_VERSION = "2021-01-11"
TTS_VERSION = "2019-08-23"
#: the real limit on PhoneNumberSet per SendSms
MAX_NUMBERS = 200
#: TC3 signatures older or newer than this are refused (the real service allows 5 minutes)
MAX_SKEW_S = 300
#: TextToVoice: at most this many characters per call
TTS_MAX_CHARS = 150
_URL = re.compile(r"(?i)(https?://|www\.|\b[a-z0-9-]+\.(com|cn|net|org|gov)\b)")
_CN_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_AUTH = re.compile(r"^TC3-HMAC-SHA256 Credential=([^/]+)/(\d{4}-\d{2}-\d{2})/([a-z]+)/tc3_request, "
                   r"SignedHeaders=([a-z;-]+), Signature=([0-9a-f]{64})$")


class ApiError(Exception):
    """A Tencent error answer: ``{"Response": {"Error": {"Code", "Message"}, "RequestId"}}``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code)
        self.code, self.message = code, message


def _answer(body: dict[str, Any]) -> SandboxResponse:
    body["RequestId"] = str(uuid.uuid4())
    # exactly "application/json": the SDK only reads Error from that (or text/plain)
    return SandboxResponse.json({"Response": body}, content_type="application/json")


def _error(code: str, message: str) -> SandboxResponse:
    return _answer({"Error": {"Code": code, "Message": message}})


# --- TC3 --------------------------------------------------------------------------------------


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode("utf-8"), hashlib.sha256).digest()


def tc3_signature(secret_key: str, *, date: str, service: str, timestamp: str, content_type: str,
                  host: str, body: bytes) -> str:
    """The TC3-HMAC-SHA256 signature of a ``POST /`` (channel-apis.md §3.1)."""
    canonical = "\n".join(["POST", "/", "", f"content-type:{content_type}\nhost:{host}\n",
                           "content-type;host", hashlib.sha256(body).hexdigest()])
    string_to_sign = "\n".join(["TC3-HMAC-SHA256", timestamp, f"{date}/{service}/tc3_request",
                                hashlib.sha256(canonical.encode("utf-8")).hexdigest()])
    key = _hmac(_hmac(_hmac(("TC3" + secret_key).encode("utf-8"), date), service), "tc3_request")
    return hmac.new(key, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


def verify_tc3(req: SandboxRequest, sandbox: Sandbox, service: str) -> str:
    """Check the request's signature; returns the SecretId or raises ``ApiError`` like the real service."""
    auth = req.headers.get("Authorization", "")
    m = _AUTH.match(auth)
    if m is None:
        raise ApiError("AuthFailure.SignatureFailure", "The provided credentials could not be validated.")
    secret_id, date, signed_service, signed_headers, signature = m.groups()
    keys = sandbox.credentials.get("tencent", {})
    if secret_id not in keys:
        raise ApiError("AuthFailure.SecretIdNotFound",
                       "The SecretId is not found, please ensure that your SecretId is correct.")
    timestamp = req.headers.get("X-TC-Timestamp", "")
    try:
        ts = int(timestamp)
    except ValueError:
        raise ApiError("AuthFailure.SignatureFailure", "X-TC-Timestamp is not a unix time.") from None
    if abs(time.time() - ts) > MAX_SKEW_S:
        raise ApiError("AuthFailure.SignatureExpire",
                       "Signature expired. Timestamp and server time cannot differ by more than 5 minutes.")
    if signed_headers != "content-type;host" or signed_service != service \
            or date != datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d"):
        raise ApiError("AuthFailure.SignatureFailure", "The provided credentials could not be validated.")
    expected = tc3_signature(keys[secret_id], date=date, service=service, timestamp=timestamp,
                             content_type=req.headers.get("Content-Type", ""),
                             host=req.headers.get("Host", ""), body=req.body)
    if not hmac.compare_digest(expected, signature):
        raise ApiError("AuthFailure.SignatureFailure",
                       "The provided credentials could not be validated. Please check your signature is correct.")
    return secret_id


# --- dispatch ---------------------------------------------------------------------------------

_ACTIONS: dict[str, tuple[str, str]] = {
    "SendSms": ("sms", SMS_VERSION),
    "PullSmsSendStatus": ("sms", SMS_VERSION),
    "PullSmsSendStatusByPhoneNumber": ("sms", SMS_VERSION),
    "PullSmsReplyStatus": ("sms", SMS_VERSION),
    "TextToVoice": ("tts", TTS_VERSION),
}


def _channel_of(req: SandboxRequest) -> str:
    """Fault knobs are per channel: SMS actions use ``sms``, TextToVoice uses ``tts``."""
    return _ACTIONS.get(req.headers.get("X-TC-Action", ""), ("sms", ""))[0]


def handle(req: SandboxRequest, sandbox: Sandbox) -> SandboxResponse:
    action = req.headers.get("X-TC-Action", "")
    found = _ACTIONS.get(action)
    try:
        if found is None:
            raise ApiError("InvalidAction", f"The action {action!r} is not found.")
        service, version = found
        if req.headers.get("X-TC-Version") != version:
            raise ApiError("NoSuchVersion", f"The API version {req.headers.get('X-TC-Version')!r} is not supported.")
        verify_tc3(req, sandbox, service)
        if sandbox.take_token_expiry(service):
            raise ApiError("AuthFailure.SecretIdNotFound",
                           "The SecretId is not found, please ensure that your SecretId is correct.")
        forced = _take_error_code(sandbox, action)
        if forced:
            raise ApiError(forced, f"{forced} (set by the sandbox's error_code knob)")
        if sandbox.roll(sandbox.fault(service).rate_limit_rate):
            raise ApiError("RequestLimitExceeded", "Your current request times equals to `20` in a second, "
                                                   "which exceeds the frequency limit `20` for a second.")
        try:
            params = req.json()
        except (ValueError, UnicodeDecodeError):
            raise ApiError("InvalidParameter", "The request body is not JSON.") from None
        if not isinstance(params, dict):
            raise ApiError("InvalidParameter", "The request body is not a JSON object.")
        if action == "SendSms":
            return _answer(send_sms(params, sandbox))
        if action == "PullSmsSendStatus":
            return _answer(pull_status(params, sandbox))
        if action == "PullSmsSendStatusByPhoneNumber":
            return _answer(pull_status_by_number(params, sandbox))
        if action == "PullSmsReplyStatus":
            return _answer(pull_replies(params, sandbox))
        return _answer(text_to_voice(params, sandbox))
    except ApiError as exc:
        return _error(exc.code, exc.message)


def _take_error_code(sandbox: Sandbox, action: str) -> str | None:
    """The Tencent error code forced by vendor state ``error_code`` (string codes; the core's knob is numeric).

    ``error_code`` = e.g. "FailedOperation.InsufficientBalanceInSmsPackage", optional
    ``error_action`` (only that action) and ``error_count`` (the next N requests; 0 = until cleared).
    """
    with sandbox.lock:
        state = sandbox.vendor("tencent")
        code = state.get("error_code")
        if not code or state.get("error_action", action) != action:
            return None
        count = int(state.get("error_count", 0))
        if count > 0:
            state["error_count"] = count - 1
            if count == 1:
                state["error_code"] = None
        return str(code)


def register(sandbox: Sandbox) -> None:
    sandbox.route("POST", "/", _channel_of, handle)
    sandbox.route("POST", "/_sandbox/sms/reply", "_sandbox", inject_reply)


# --- SMS --------------------------------------------------------------------------------------


def _approved(sandbox: Sandbox) -> dict[str, Any]:
    """The approved signature, template and limits: sandbox options win, else config/channels.toml."""
    if "tencent_sms" in sandbox.options:
        return dict(sandbox.options["tencent_sms"])
    from hub.config import get_config

    config = get_config()
    sms = config.render.sms
    apps = {str(a.get("sdk_app_id")) for a in config.accounts.values() if a.channel == "sms"}
    templates = {sms.template_id: sms.template}
    if sms.withdraw_template_id:
        templates[sms.withdraw_template_id] = sms.withdraw_template
    if sms.correct_template_id:
        templates[sms.correct_template_id] = sms.correct_template
    templates.update({t.template_id: t.template for t in sms.templates.values()})  # e.g. the consultation answer
    return {"signature": sms.signature, "template_id": sms.template_id, "template": sms.template,
            "templates": templates, "param_max_chars": sms.param_max_chars, "sdk_app_ids": sorted(apps)}


def fill_template(template: str, params: list[str]) -> str:
    """``{1}``…``{n}`` replaced by the parameters, as the operator does."""
    return re.sub(r"\{(\d+)\}", lambda m: params[int(m.group(1)) - 1], template)


def segments(text: str) -> int:
    """Billed segments: 70 characters in one SMS, 67 per segment when longer."""
    return 1 if len(text) <= 70 else math.ceil(len(text) / 67)


def _national(number: str) -> str | None:
    """The 11-digit mainland number of ``+86…``, ``86…`` or a bare number; None when invalid."""
    n = number.strip()
    if n.startswith("+86"):
        n = n[3:]
    elif n.startswith("0086"):
        n = n[4:]
    elif n.startswith("86") and len(n) == 13:
        n = n[2:]
    return n if _CN_MOBILE.match(n) else None


def _day(ts: float) -> str:
    return datetime.fromtimestamp(ts, SHANGHAI).strftime("%Y-%m-%d")


def send_sms(params: dict[str, Any], sandbox: Sandbox) -> dict[str, Any]:
    approved = _approved(sandbox)
    numbers = params.get("PhoneNumberSet") or []
    app_id = str(params.get("SmsSdkAppId") or "")
    sign = params.get("SignName")
    template_id = str(params.get("TemplateId") or "")
    tparams = [str(p) for p in (params.get("TemplateParamSet") or [])]
    session = str(params.get("SessionContext") or "")
    if not isinstance(numbers, list) or not numbers:
        raise ApiError("MissingParameter.EmptyPhoneNumberSet", "The PhoneNumberSet is empty.")
    if len(numbers) > MAX_NUMBERS:
        raise ApiError("LimitExceeded.PhoneNumberCountLimit",
                       f"The number of phone numbers exceeds the upper limit of {MAX_NUMBERS}.")
    if app_id not in approved.get("sdk_app_ids", [app_id]):
        raise ApiError("UnauthorizedOperation.SmsSdkAppIdVerifyFail", "The SmsSdkAppId verification failed.")
    if sign != approved["signature"]:
        raise ApiError("FailedOperation.SignatureIncorrectOrUnapproved",
                       "The signature is incorrect or has not been approved.")
    # every approved template of the account (the publication's and the withdrawal notice's)
    templates = {str(k): str(v) for k, v in
                 (approved.get("templates") or {approved["template_id"]: approved["template"]}).items()}
    if template_id not in templates:
        raise ApiError("FailedOperation.TemplateIncorrectOrUnapproved",
                       "The template is incorrect or has not been approved.")
    template = templates[template_id]
    if len(set(re.findall(r"\{(\d+)\}", template))) != len(tparams):
        raise ApiError("FailedOperation.TemplateParamSetNotMatchApprovedTemplate",
                       "The number of parameters does not match the approved template.")
    limit = int(approved.get("param_max_chars", 6))
    if any(len(p) > limit for p in tparams):
        raise ApiError("InvalidParameterValue.TemplateParameterLengthLimit",
                       f"A template parameter exceeds the length limit of {limit} characters.")
    if any(_URL.search(p) for p in tparams):
        raise ApiError("InvalidParameterValue.ProhibitedUseUrlInTemplateParameter",
                       "URLs are not allowed in template parameters.")
    if len(session.encode("utf-8")) >= 512:
        raise ApiError("InvalidParameterValue.ParameterLengthLimit", "SessionContext must be under 512 bytes.")
    text = f"【{sign}】" + fill_template(template, tparams)
    if len(text) > 500:
        raise ApiError("InvalidParameterValue.ContentLengthLimit", "The SMS content is too long.")
    state = sandbox.vendor("tencent")
    if any(w in text for w in state.get("sensitive_words", [])):
        raise ApiError("FailedOperation.ContainSensitiveWord", "The content contains sensitive words.")

    fee = segments(text)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
    now = time.time()
    daily_limit = int(state.get("daily_limit", 10))
    report_delay = float(state.get("report_delay", 0))
    statuses: list[dict[str, Any]] = []
    reports: list[dict[str, Any]] = []
    today = _day(now)
    with sandbox.lock:
        # history: E.164 → [day, [[time, content digest], ...]] (today's sends only)
        history: dict[str, list[Any]] = state.setdefault("history", {})
        blacklist = set(state.get("blacklist", []))
        undeliverable = set(state.get("undeliverable", []))
        for raw in numbers:
            number = str(raw)
            national = _national(number)
            status = {"SerialNo": "", "PhoneNumber": number, "Fee": 0, "SessionContext": session,
                      "IsoCode": "CN" if national else "DEF"}
            if national is None:
                statuses.append({**status, "Code": "InvalidParameterValue.IncorrectPhoneNumber",
                                 "Message": "The phone number is incorrect."})
                continue
            e164 = "+86" + national
            status["PhoneNumber"] = e164
            if e164 in blacklist:
                statuses.append({**status, "Code": "FailedOperation.PhoneNumberInBlacklist",
                                 "Message": "The phone number is in the blocklist (the user unsubscribed)."})
                continue
            entry = history.get(e164)
            past: list[list[Any]] = entry[1] if entry and entry[0] == today else []
            if any(h[1] == digest and now - h[0] < 30 for h in past):
                statuses.append({**status, "Code": "LimitExceeded.PhoneNumberThirtySecondLimit",
                                 "Message": "The same content was sent to this number within 30 seconds."})
                continue
            if len(past) >= daily_limit:
                statuses.append({**status, "Code": "LimitExceeded.PhoneNumberDailyLimit",
                                 "Message": "The number of messages to this number today exceeds the limit."})
                continue
            history[e164] = [today, [*past, [now, digest]]]
            state["serial"] = serial = int(state.get("serial", 0)) + 1
            serial_no = f"3369:{serial:019d}"
            statuses.append({**status, "SerialNo": serial_no, "Fee": fee, "Code": "Ok",
                             "Message": "send success"})
            sandbox.record("sms", "sms", app_id, {"phone": e164, "text": text, "serial_no": serial_no,
                                                  "fee": fee}, ref=session or None)
            ok = e164 not in undeliverable
            reports.append({"due": now + report_delay, "app_id": app_id, "report": {
                "UserReceiveTime": int(now + report_delay), "CountryCode": "86", "SubscriberNumber": national,
                "PhoneNumber": e164, "SerialNo": serial_no, "ReportStatus": "SUCCESS" if ok else "FAIL",
                "Description": "DELIVRD" if ok else "UNDELIV", "SessionContext": session}})
        state.setdefault("reports", []).extend(reports)
        state.setdefault("report_log", []).extend(reports)
    callback = state.get("callback_url") or sandbox.options.get("tencent_callback_url")
    if callback and reports:
        _post_callback(str(callback), [r["report"] for r in reports], report_delay)
    return {"SendStatusSet": statuses}


def _callback_item(report: dict[str, Any]) -> dict[str, Any]:
    """One element of the documented delivery-report callback array (channel-apis.md §3.3)."""
    ok = report["ReportStatus"] == "SUCCESS"
    return {"user_receive_time": datetime.fromtimestamp(report["UserReceiveTime"], SHANGHAI)
            .strftime("%Y-%m-%d %H:%M:%S"),
            "nationcode": report["CountryCode"], "mobile": report["SubscriberNumber"],
            "report_status": report["ReportStatus"], "errmsg": report["Description"],
            "description": "用户短信送达成功" if ok else "用户短信送达失败", "sid": report["SerialNo"]}


def _post_callback(url: str, reports: list[dict[str, Any]], delay: float) -> None:
    """POST the reports to the hub's callback URL (the documented report array; see ``_post_json``)."""
    _post_json(url, [_callback_item(r) for r in reports], delay=delay, name="tencent-callback")


def _pull_limit(params: dict[str, Any]) -> int:
    """``Limit`` of a pull call (1–100), refused as the real API refuses it."""
    try:
        limit = int(params.get("Limit", 0))
    except (TypeError, ValueError):
        limit = 0
    if not 1 <= limit <= 100:
        raise ApiError("InvalidParameterValue.LimitVerifyFail", "Limit must be between 1 and 100.")
    return limit


def pull_status(params: dict[str, Any], sandbox: Sandbox) -> dict[str, Any]:
    """Due reports of the app, each handed out once (the real API is a queue)."""
    limit = _pull_limit(params)
    app_id = str(params.get("SmsSdkAppId") or "")
    now = time.time()
    with sandbox.lock:
        state = sandbox.vendor("tencent")
        queue: list[dict[str, Any]] = state.setdefault("reports", [])
        taken: list[dict[str, Any]] = []
        kept: list[dict[str, Any]] = []
        i = 0
        while i < len(queue) and len(taken) < limit:  # stop scanning once the page is full
            item = queue[i]
            if item["app_id"] == app_id and item["due"] <= now:
                taken.append(item["report"])
            else:
                kept.append(item)
            i += 1
        state["reports"] = kept + queue[i:]
        sandbox.save()
    return {"PullSmsSendStatusSet": taken}


#: PullSmsSendStatusByPhoneNumber reaches at most this far back (the SDK's docstring: 7 days)
BY_NUMBER_MAX_AGE_S = 7 * 86400


def _int_param(params: dict[str, Any], name: str, code: str) -> int:
    value = params.get(name)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ApiError(code if value is not None else "MissingParameter",
                       f"{name} must be an integer." if value is not None else f"{name} is required.")
    return value


def pull_status_by_number(params: dict[str, Any], sandbox: Sandbox) -> dict[str, Any]:
    """Due reports of one number in ``BeginTime``…``EndTime`` (UserReceiveTime), newest last; not consumed."""
    begin = _int_param(params, "BeginTime", "InvalidParameterValue.BeginTimeVerifyFail")
    end = _int_param(params, "EndTime", "InvalidParameterValue.EndTimeVerifyFail")
    offset = _int_param(params, "Offset", "InvalidParameterValue.OffsetVerifyFail")
    limit = _int_param(params, "Limit", "InvalidParameterValue.LimitVerifyFail")
    now = time.time()
    if begin < now - BY_NUMBER_MAX_AGE_S or begin > now:
        raise ApiError("InvalidParameterValue.BeginTimeVerifyFail", "BeginTime must be within the last 7 days.")
    if end < begin:
        raise ApiError("InvalidParameterValue.EndTimeVerifyFail", "EndTime must not be before BeginTime.")
    if offset != 0:
        raise ApiError("InvalidParameterValue.OffsetVerifyFail", "Offset must be 0.")
    if not 1 <= limit <= 100:
        raise ApiError("InvalidParameterValue.LimitVerifyFail", "Limit must be between 1 and 100.")
    number = str(params.get("PhoneNumber") or "")
    if not number.startswith("+") or _national(number) is None:
        raise ApiError("InvalidParameterValue.IncorrectPhoneNumber", "PhoneNumber must be E.164, e.g. +8618501234444.")
    app_id = str(params.get("SmsSdkAppId") or "")
    if not app_id:
        raise ApiError("MissingParameter", "SmsSdkAppId is required.")
    e164 = "+86" + str(_national(number))
    with sandbox.lock:
        log = sandbox.vendor("tencent").get("report_log", [])
        found = [item["report"] for item in log
                 if item["app_id"] == app_id and item["due"] <= now and item["report"]["PhoneNumber"] == e164
                 and begin <= int(item["report"]["UserReceiveTime"]) <= end]
    return {"PullSmsSendStatusSet": found[:limit]}


# --- upstream SMS (citizens' replies) -----------------------------------------------------------


def inject_reply(req: SandboxRequest, sandbox: Sandbox) -> SandboxResponse:
    """Test/demo door: a handset sends ``{"phone", "text"[, "sign", "extend", "app_id"]}`` upstream.

    The reply is queued for ``PullSmsReplyStatus`` (each handed out once) and, when
    ``reply_callback_url`` is set (vendor state or option ``tencent_reply_callback_url``),
    POSTed as the documented reply callback object; it shows in the inbox's SMS thread.
    """
    try:
        body = req.json()
    except (ValueError, UnicodeDecodeError):
        return SandboxResponse.json({"error": "body must be JSON"}, 400)
    national = _national(str(body.get("phone") or "")) if isinstance(body, dict) else None
    if not isinstance(body, dict) or national is None or not str(body.get("text") or ""):
        return SandboxResponse.json({"error": "need phone (a mainland mobile) and text"}, 400)
    approved = _approved(sandbox)
    app_id = str(body.get("app_id") or (approved.get("sdk_app_ids") or [""])[0])
    now = int(time.time())
    reply = {"ExtendCode": str(body.get("extend") or ""), "CountryCode": "86", "PhoneNumber": "+86" + national,
             "SignName": str(body.get("sign") or approved["signature"]), "ReplyContent": str(body["text"]),
             "ReplyTime": datetime.fromtimestamp(now, SHANGHAI).strftime("%Y-%m-%d %H:%M:%S"),
             "SubscriberNumber": national}
    with sandbox.lock:
        state = sandbox.vendor("tencent")
        state.setdefault("replies", []).append({"app_id": app_id, "reply": reply})
        sandbox.save()
    sandbox.record("sms", "reply", app_id, {"phone": "+86" + national, "text": reply["ReplyContent"], "upstream": True})
    url = state.get("reply_callback_url") or sandbox.options.get("tencent_reply_callback_url")
    if url:
        callback = {"extend": reply["ExtendCode"], "mobile": national, "nationcode": "86",
                    "sign": reply["SignName"], "text": reply["ReplyContent"], "time": now}
        _post_json(str(url), callback)
    return SandboxResponse.json({"queued": True})


def _post_json(url: str, obj: Any, *, delay: float = 0.0, name: str = "tencent-reply-callback") -> None:
    """POST ``obj`` as JSON to a hub callback URL from a short-lived thread: loopback only, one try.

    The real service gives up after its retries too; the pull queue is the fallback (F12).
    """
    body = json.dumps(obj, ensure_ascii=False).encode("utf-8")

    def post() -> None:
        if delay:
            time.sleep(delay)
        request = urllib.request.Request(url, data=body, method="POST",  # noqa: S310 - loopback hub URL
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=5) as resp:  # noqa: S310 - loopback hub URL
                resp.read()
        except OSError:
            pass

    threading.Thread(target=post, name=name, daemon=True).start()


def pull_replies(params: dict[str, Any], sandbox: Sandbox) -> dict[str, Any]:
    """``PullSmsReplyStatus``: queued replies of the app, each handed out once (the real API is a queue)."""
    limit = _pull_limit(params)
    app_id = str(params.get("SmsSdkAppId") or "")
    with sandbox.lock:
        state = sandbox.vendor("tencent")
        queue: list[dict[str, Any]] = state.setdefault("replies", [])
        taken = [q["reply"] for q in queue if q["app_id"] == app_id][:limit]
        taken_ids = {id(r) for r in taken}
        state["replies"] = [q for q in queue if id(q["reply"]) not in taken_ids]
        sandbox.save()
    return {"PullSmsReplyStatusSet": taken}


# --- TTS --------------------------------------------------------------------------------------

_SAMPLE_RATES = (8000, 16000, 24000)


def text_to_voice(params: dict[str, Any], sandbox: Sandbox) -> dict[str, Any]:
    text = params.get("Text")
    session_id = params.get("SessionId")
    if not isinstance(text, str) or not text.strip():
        raise ApiError("MissingParameter", "Text is required.")
    if not session_id:
        raise ApiError("MissingParameter", "SessionId is required.")
    if len(text) > TTS_MAX_CHARS:
        raise ApiError("InvalidParameterValue.TextTooLong",
                       f"The text is too long: at most {TTS_MAX_CHARS} characters per request.")
    rate = int(params.get("SampleRate") or 16000)
    if rate not in _SAMPLE_RATES:
        raise ApiError("InvalidParameterValue.SampleRate", f"SampleRate must be one of {_SAMPLE_RATES}.")
    codec = str(params.get("Codec") or "wav")
    if codec not in ("wav", "pcm", "mp3"):
        raise ApiError("InvalidParameterValue.Codec", "Codec must be wav, mp3 or pcm.")
    pcm = speak(text, rate)
    if codec == "pcm":
        audio = pcm
    elif codec == "wav":
        audio = wav_bytes(pcm, rate)
    else:
        audio = _mp3(wav_bytes(pcm, rate))
    sandbox.record("tts", "voice", str(params.get("VoiceType", "")),
                   {"text": text, "sample_rate": rate, "codec": codec, "bytes": len(audio)}, ref=str(session_id))
    return {"Audio": base64.b64encode(audio).decode("ascii"), "SessionId": session_id, "Subtitles": []}


def wav_bytes(pcm: bytes, rate: int) -> bytes:
    """16-bit mono PCM wrapped in a WAV header."""
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm)
    return out.getvalue()


def speak(text: str, rate: int) -> bytes:
    """16-bit mono PCM of ``text`` at ``rate`` Hz: espeak-ng Mandarin when installed, else a tone."""
    import numpy as np

    exe = shutil.which("espeak-ng")
    if exe is not None:
        try:
            done = subprocess.run([exe, "-v", "cmn-latn-pinyin", "--stdout", text], capture_output=True, timeout=30,
                                  check=True)
            src_rate, samples = _read_espeak_wav(done.stdout)
            if samples.size:
                if src_rate != rate:
                    n = max(1, round(samples.size * rate / src_rate))
                    x = np.linspace(0, samples.size - 1, n)
                    samples = np.interp(x, np.arange(samples.size), samples.astype(np.float64))
                return bytes(np.clip(samples, -32768, 32767).astype("<i2").tobytes())
        except (OSError, subprocess.SubprocessError, ValueError):
            pass
    # a generated tone, 0.15 s per character, so durations still scale with the text
    seconds = max(0.3, 0.15 * len(text))
    t = np.arange(int(seconds * rate)) / rate
    tone = 0.3 * np.sin(2 * np.pi * 440 * t) * 32767
    return bytes(tone.astype("<i2").tobytes())


def _read_espeak_wav(data: bytes) -> tuple[int, Any]:
    """Parse espeak-ng's streamed WAV (its RIFF and data sizes are placeholders) into (rate, samples)."""
    import numpy as np

    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise ValueError("not a WAV stream")
    pos, rate = 12, 22050
    while pos + 8 <= len(data):
        cid, size = data[pos:pos + 4], int.from_bytes(data[pos + 4:pos + 8], "little")
        body = pos + 8
        if cid == b"fmt ":
            rate = int.from_bytes(data[body + 4:body + 8], "little")
        elif cid == b"data":
            end = len(data) if size == 0 or body + size > len(data) else body + size
            raw = data[body:end]
            return rate, np.frombuffer(raw[: len(raw) // 2 * 2], dtype="<i2")
        pos = body + size + (size & 1)
    raise ValueError("no data chunk")


def _mp3(wav: bytes) -> bytes:
    exe = shutil.which("ffmpeg")
    if exe is None:
        raise ApiError("InvalidParameterValue.Codec", "mp3 is not available in this sandbox; use wav or pcm.")
    done = subprocess.run([exe, "-loglevel", "error", "-f", "wav", "-i", "pipe:0", "-f", "mp3", "pipe:1"],
                          input=wav, capture_output=True, timeout=60, check=False)
    if done.returncode != 0:
        raise ApiError("InternalError", "mp3 encoding failed.")
    return done.stdout


def _threads(msgs: list[dict[str, Any]]) -> str:
    threads: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for m in msgs:
        threads[str(m["content"].get("phone") or "?")].append(m)
    out = []
    for phone, items in threads.items():
        bubbles = "".join(
            f'<div class="bubble{" up" if m["content"].get("upstream") else ""}">{escape(str(m["content"].get("text") or ""))}'
            f'<span class="meta">{escape(when(m["at"]))}</span></div>' for m in items)
        # a recipient's number is personal data: the inbox shows it masked, like every hub screen
        out.append(f'<div class="thread"><div class="num">{escape(mask_phone(phone))}</div>{bubbles}</div>')
    return "".join(out) or '<p class="meta">no SMS yet</p>'


def inbox_section(msgs: list[dict[str, Any]]) -> InboxSection:
    """The inbox's SMS part: one thread per number (masked), oldest message first."""
    sms = [m for m in reversed(msgs) if m["channel"] == "sms"]
    return InboxSection("短信 (SMS)", sms, _threads(sms))


def accepted_credentials(config: HubConfig) -> dict[str, dict[str, str]]:
    """``{"tencent": {secret_id: secret_key}}`` of every Tencent account (SMS and TTS)."""
    creds = {}
    for account in config.accounts.values():
        if account.channel in ("sms", "tts"):
            sid = os.environ.get(str(account.get("secret_id_env", "")))
            skey = os.environ.get(str(account.get("secret_key_env", "")))
            if sid and skey:
                creds[sid] = skey
    return {"tencent": creds}
