"""Transport errors and HTTP statuses → the hub's typed channel outcomes, in one place for every adapter.

The rule (reliability F1, F8, F12, F15): a failure *before* the request could
reach the platform (connection refused, connect timeout, pool timeout, DNS) is
``Retryable``; a failure *after* the request was sent (read timeout, write
timeout, reset or closed connection, a 504 from a gateway) may have been
applied, so it is ``Ambiguous`` — unless the caller says the request was not a
publishing one (an upload, a token fetch, a draft), in which case nothing
public happened and it is ``Retryable``. Messages name the endpoint without
its query string and pass through ``hub.redact``.

Works for httpx (Weibo adapter) and requests (wechatpy, Tencent SDK).
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Mapping

import httpx
import requests

from hub.errors import Ambiguous, AuthExpired, ChannelError, Permanent, RateLimited, Retryable
from hub.redact import redact, redact_url

#: default backoff the engine applies when a platform says "slow down" without a Retry-After
DEFAULT_RATE_LIMIT_SECONDS = 60.0


def retry_after_seconds(headers: Mapping[str, str] | None) -> float | None:
    """``Retry-After`` as seconds (delta-seconds or an HTTP date), or None when absent or unreadable."""
    if not headers:
        return None
    value = headers.get("Retry-After") or headers.get("retry-after")
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def from_status(channel: str, what: str, status: int, headers: Mapping[str, str] | None = None,
                *, publishing: bool = True) -> ChannelError:
    """The outcome of an HTTP error status when the body carried no vendor code."""
    label = f"{channel} {what}: HTTP {status}"
    if status == 429:
        return RateLimited(label, retry_after_seconds(headers))
    if status == 504:
        return Ambiguous(f"{label} (gateway timeout after sending)") if publishing else Retryable(label)
    if status >= 500:
        return Retryable(label, retry_after_seconds(headers))
    if status in (401, 403):
        return AuthExpired(label)
    if status == 408:
        return Ambiguous(label) if publishing else Retryable(label)
    return Permanent(label)


def _phase(exc: BaseException) -> str:
    """"connect" when the request cannot have reached the server, else "sent"."""
    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout | httpx.UnsupportedProtocol):
        return "connect"
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return "connect"
    if isinstance(exc, requests.exceptions.ConnectionError) and not isinstance(exc, requests.exceptions.ReadTimeout):
        # requests wraps urllib3's errors: NewConnectionError (refused / DNS) means nothing was sent;
        # ProtocolError("Connection aborted", RemoteDisconnected) means the server dropped us after the request
        seen: set[int] = set()
        stack: list[object] = [exc]
        while stack:
            item = stack.pop()
            if id(item) in seen:
                continue
            seen.add(id(item))
            name = type(item).__name__
            if name in ("NewConnectionError", "ConnectTimeoutError", "NameResolutionError"):
                return "connect"
            if isinstance(item, BaseException):
                stack.extend(a for a in item.args if isinstance(a, BaseException))
                stack.extend(x for x in (item.__cause__, item.__context__) if x is not None)
                reason = getattr(item, "reason", None)
                if isinstance(reason, BaseException):
                    stack.append(reason)
    return "sent"


def from_transport(channel: str, what: str, exc: BaseException, *, publishing: bool = True) -> ChannelError:
    """The outcome of a transport exception (httpx or requests); the message never carries the URL's query."""
    kind = type(exc).__name__
    if _phase(exc) == "connect":
        return Retryable(f"{channel} {what}: {kind} (not sent)")
    if publishing:
        return Ambiguous(f"{channel} {what}: {kind} after the request was sent; it may have been applied")
    return Retryable(f"{channel} {what}: {kind} (not a publishing call)")


TRANSPORT_ERRORS: tuple[type[BaseException], ...] = (httpx.TransportError, requests.exceptions.RequestException)


def safe_message(text: object, limit: int = 300) -> str:
    """Vendor text fit for an error message: redacted and bounded."""
    return redact(str(text))[:limit]


__all__ = [
    "DEFAULT_RATE_LIMIT_SECONDS",
    "TRANSPORT_ERRORS",
    "from_status",
    "from_transport",
    "redact_url",
    "retry_after_seconds",
    "safe_message",
]
