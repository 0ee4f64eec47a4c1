"""One place that keeps secrets and citizens' phone numbers out of logs, errors and broker messages.

Why one module: every adapter, the engine and the web layer meet the same
leaks (F16, F17 in ``reliability.md``): httpx logs full URLs at INFO and puts
them into ``raise_for_status`` messages, wechatpy logs request URLs carrying
``?access_token=``, urllib3 logs hosts and paths, and vendor error bodies may
echo a phone number back. So:

* ``redact(text)`` is the one scrubbing function. It removes
  - the value of every secret the process knows (``register_secret``, plus every
    environment variable whose name looks secret: ``*SECRET*``, ``*TOKEN*``,
    ``*KEY*``, ``*PASSWORD*``),
  - secret-looking query/form/JSON parameters (``access_token``, ``secret``,
    ``sign``, ``password``, …) and ``Authorization`` header values,
  - phone numbers, masked as ``+86*******1234`` (the last four digits stay, so a
    clerk can still tell recipients apart).
* ``redact_url(url)`` drops the query string entirely (for error messages that
  must name an endpoint).
* ``RedactingFilter`` scrubs a whole log record; ``hub.logs.configure()`` puts
  it on the handler of the one logging configuration each entry point applies,
  so every record of the process is scrubbed whichever logger it came from,
  and holds the chatty HTTP loggers (``NOISY_LOGGERS``) at WARNING. Library
  modules (the adapters) configure nothing.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Iterable
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit, urlunsplit

MASK = "****"

#: loggers that print URLs (with access tokens) or bodies at INFO/DEBUG
NOISY_LOGGERS = ("httpx", "httpcore", "urllib3", "requests", "wechatpy", "tencentcloud", "tencentcloud_sdk_common",
                 "hpack", "aiosmtpd")

#: environment variable names whose values are secrets
_SECRET_ENV = re.compile(r"(SECRET|TOKEN|KEY|PASSWORD|PASSWD|CREDENTIAL)", re.IGNORECASE)
#: values shorter than this are not scrubbed by value (too many false hits, e.g. "1")
_MIN_SECRET_LEN = 6

#: secret-looking parameter names in query strings, forms, JSON and ``key: value`` text
_PARAM_NAMES = frozenset({
    "access_token", "refresh_token", "accesstoken", "token", "secret", "appsecret", "app_secret", "client_secret",
    "secretkey", "secret_key", "secretid", "secret_id", "password", "passwd", "sign", "signature", "key", "ticket",
    "authorization"})
# name=value (query, form, cookie); the value stops at & ; whitespace, quotes and closing brackets
_KV = re.compile(r"\b([A-Za-z_]+)=([^&;\s\"'<>)\]},]+)")
# "name": "value" (JSON) and name: 'value' (repr)
_JSON_KV = re.compile(r"([\"']?)\b([A-Za-z_]+)\1(\s*:\s*)([\"'])(.*?)\4")
# Authorization header values: Bearer / OAuth2 / TC3-HMAC-SHA256 ... Signature=
_AUTH = re.compile(r"(?i)\b(Bearer|OAuth2|OAuth|Basic)\s+[A-Za-z0-9._~+/=\-]{6,}")
# Chinese mobile numbers (with or without +86 / 86 / 0086) and other E.164 numbers; a Chinese character
# right before the number (电话13800138000) must not hide it, so the boundary is ASCII, not \w; nor may
# a secret's mask right before it (****13800138000)
_CN_MOBILE = re.compile(r"(?<![0-9A-Za-z_])(?:\+?86[- ]?|0086[- ]?)?(1[3-9]\d)[- ]?(\d{4})[- ]?(\d{4})(?!\d)")
_DIGITS = re.compile(r"\d{4}")
_E164 = re.compile(r"(?<![0-9A-Za-z_])\+(\d{1,3})[- ]?(\d{3,13}?)(\d{4})(?!\d)")

_lock = threading.Lock()
_known: set[str] = set()
_cache: tuple[object, list[str]] | None = None


def register_secret(value: str | None) -> None:
    """Remember a secret value (e.g. a fetched access token) so ``redact`` removes it anywhere."""
    global _cache
    if value and len(value) >= _MIN_SECRET_LEN and value not in _known:
        with _lock:
            _known.add(value)
            _cache = None


@lru_cache(maxsize=64)
def _secret_names(names: tuple[str, ...]) -> tuple[str, ...]:
    """The secret-looking variable names among ``names`` (cached per set of names: it rarely changes)."""
    return tuple(name for name in names if _SECRET_ENV.search(name))


def _secret_values() -> list[str]:
    """Every value to scrub: registered secrets and secret-named environment variables.

    Cached per (secret variables' values, registered secrets): redaction runs on every log
    record, and listing the names plus a few lookups costs a few microseconds where decoding
    the whole environment each time cost ~15.
    """
    global _cache
    env = tuple((name, os.environ.get(name, "")) for name in _secret_names(tuple(os.environ)))
    fingerprint = (env, len(_known))
    cached = _cache
    if cached is not None and cached[0] == fingerprint:
        return cached[1]
    values = set(_known)
    values.update(value for _, value in env if len(value) >= _MIN_SECRET_LEN)
    # longest first, so a secret containing another is removed whole
    ordered = sorted(values, key=len, reverse=True)
    _cache = (fingerprint, ordered)
    return ordered


def _kv(m: re.Match[str]) -> str:
    return f"{m.group(1)}={MASK}" if m.group(1).lower() in _PARAM_NAMES else m.group(0)


def _json_kv(m: re.Match[str]) -> str:
    if m.group(2).lower() not in _PARAM_NAMES:
        return m.group(0)
    q = m.group(1)
    return f"{q}{m.group(2)}{q}{m.group(3)}{m.group(4)}{MASK}{m.group(4)}"


def mask_phone(number: str) -> str:
    """``+8613800000001`` → ``+86*******0001`` (the last four digits only)."""
    digits = re.sub(r"\D", "", number)
    if len(digits) < 7:
        return MASK
    if digits.startswith("0086"):
        digits = digits[4:]
    if len(digits) == 13 and digits.startswith("86"):
        digits = digits[2:]
    if len(digits) == 11 and digits.startswith("1"):
        return "+86*******" + digits[-4:]
    return "+" + "*" * (len(digits) - 4) + digits[-4:]


def _mask_cn(m: re.Match[str]) -> str:
    return "+86*******" + m.group(3)


def _mask_e164(m: re.Match[str]) -> str:
    return "+" + "*" * (len(m.group(1)) + len(m.group(2))) + m.group(3)


#: resident ID numbers (GB 11643: 17 digits and a check digit or X; the old 15-digit form)
_ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])(\d{14}|\d{11})(\d{3}[\dXx]|\d{4})(?![0-9A-Za-z])")


def _mask_id(m: re.Match[str]) -> str:
    digits = m.group(0)
    if len(digits) not in (15, 18):
        return digits
    return "*" * (len(digits) - 4) + digits[-4:]


def redact(text: str, *, extra: Iterable[str] = ()) -> str:
    """``text`` with secrets, secret parameters, auth headers, phone and ID numbers removed or masked."""
    if not text:
        return text
    for value in [*(v for v in extra if v and len(v) >= _MIN_SECRET_LEN), *_secret_values()]:
        if value in text:
            text = text.replace(value, MASK)
    if "=" in text:
        text = _KV.sub(_kv, text)
    if ":" in text:
        text = _JSON_KV.sub(_json_kv, text)
    lowered = text.lower()
    if "bearer" in lowered or "oauth" in lowered or "basic" in lowered:
        text = _AUTH.sub(lambda m: f"{m.group(1)} {MASK}", text)
    if _DIGITS.search(text):
        text = _ID_NUMBER.sub(_mask_id, text)
        text = _CN_MOBILE.sub(_mask_cn, text)
        text = _E164.sub(_mask_e164, text)
    return text


def redact_url(url: object) -> str:
    """A URL fit for an error message: scheme, host and path only (the query may carry a token)."""
    try:
        parts = urlsplit(str(url))
    except ValueError:
        return MASK
    return redact(urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], parts.path, "", "")))


def redact_value(value: Any) -> Any:
    """Redact strings inside JSON-like values (dicts, lists), e.g. a vendor body kept in ``Receipt.raw``."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: (MASK if isinstance(k, str) and k.lower() in _PARAM_NAMES else redact_value(v))
                for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_value(v) for v in value]
    return value


def _redact_arg(value: Any) -> Any:
    """One log argument, scrubbed; kept as it is (type and all) when there is nothing to scrub."""
    if value is None or isinstance(value, bool | int | float):
        return value
    text = value if isinstance(value, str) else str(value)  # e.g. httpx.URL, an exception
    cleaned = redact(text)
    return value if cleaned == text else cleaned


def redact_record(record: logging.LogRecord) -> logging.LogRecord:
    """Scrub one log record in place: its message, its args and any exception text.

    Args are scrubbed one by one and keep their shape, because some formatters
    unpack them (uvicorn's access log reads ``record.args`` as a 5-tuple). If the
    formatted message would still carry something to scrub (a secret split
    between the format string and an argument), the record is flattened to the
    scrubbed message with no args.
    """
    original = record.msg
    if isinstance(record.msg, str):
        record.msg = redact(record.msg)
    elif record.msg is not None and not isinstance(record.msg, bool | int | float):
        record.msg = _redact_arg(record.msg)
    if isinstance(record.args, dict):
        record.args = {k: _redact_arg(v) for k, v in record.args.items()}
    elif isinstance(record.args, tuple):
        record.args = tuple(_redact_arg(a) for a in record.args)
    try:
        message = record.getMessage()
    except Exception:  # scrubbing changed the placeholders (``secret=%s``), or a bad format string
        record.msg = original
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not break logging
            message = f"{original!r} {record.args!r}"
        record.msg, record.args = redact(message), None
    else:
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
    if record.exc_info and record.exc_info[1] is not None:
        formatted = logging.Formatter().formatException(record.exc_info)
        record.exc_text = redact(formatted)
        # the exception object itself (its message, its request URL) is not kept on the record
        exc_type = record.exc_info[0]
        record.exc_info = None
        record.__dict__["exc_type_name"] = getattr(exc_type, "__name__", "Exception")
    elif record.exc_text:
        record.exc_text = redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
    return record


class RedactingFilter(logging.Filter):
    """The redaction filter of ``hub.logs``' handlers: scrubs the record in place, always lets it through."""

    def filter(self, record: logging.LogRecord) -> bool:
        redact_record(record)
        return True
