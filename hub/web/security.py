"""Sessions, CSRF, login throttling and security headers of the web app.

Sessions are signed cookies (itsdangerous): the server keeps no session table,
so a restart or a second process behind the same secret keeps everyone signed
in. The cookie holds only the user name, the CSRF token and the issue time,
never a password hash or a role (the role is read from the database on every
request, so a demoted user loses rights at once).

CSRF: every session carries a random token; every state-changing request
(POST) must echo it in the ``csrf_token`` form field or the ``X-CSRF-Token``
header. The check is one router-level dependency (``csrf_protect``), so a new
form cannot forget it.
"""

from __future__ import annotations

import hmac
import os
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import HTTPException, Request
from itsdangerous import BadSignature, URLSafeTimedSerializer

from hub.settings import get_settings

SESSION_COOKIE = "hub_session"
#: A signed-in session lasts one working day; after that the clerk signs in again.
SESSION_MAX_AGE_S = 12 * 3600
#: Failed log-ins allowed per (client address, user name) within the window.
LOGIN_MAX_FAILURES = 5
LOGIN_WINDOW_S = 300.0

#: Pages may load only our own CSS, images, media and the one small script; no inline script.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "media-src 'self'; frame-src 'self'; object-src 'self'; frame-ancestors 'self'; "
    "base-uri 'none'; form-action 'self'"
)
#: Stored artifacts (WeChat article HTML, portal page previews) are shown in sandboxed frames:
#: they carry inline styles by design (WeChat keeps only inline styles) but may never run script.
ARTIFACT_CSP = "default-src 'none'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; media-src 'self'; frame-ancestors 'self'; sandbox"

SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "SAMEORIGIN",
    "Referrer-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def secret_key() -> str:
    """The signing key: ``HUB_WEB_SECRET``, or a random key kept in ``var/web-secret`` (mode 0600).

    Generated on first start so a demo needs no configuration and nothing secret is committed.
    """
    env = os.environ.get("HUB_WEB_SECRET")
    if env:
        return env
    from hub.redact import register_secret

    path: Path = get_settings().var_dir / "web-secret"
    try:
        key = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(32)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(key)
    register_secret(key)  # never in a log line (the env-var form is scrubbed by name already)
    return key


class SessionCodec:
    """Signs and reads the session cookie."""

    def __init__(self, key: str) -> None:
        self._s = URLSafeTimedSerializer(key, salt="hub-session")

    def dumps(self, data: dict[str, Any]) -> str:
        return self._s.dumps(data)

    def loads(self, raw: str | None) -> dict[str, Any]:
        if not raw:
            return {}
        try:
            data = self._s.loads(raw, max_age=SESSION_MAX_AGE_S)
        except BadSignature:
            return {}
        return data if isinstance(data, dict) else {}


def session(request: Request) -> dict[str, Any]:
    """The request's session dict (loaded by the session middleware); mutate it to change the cookie."""
    data: dict[str, Any] = request.state.session
    return data


def csrf_token(request: Request) -> str:
    """This session's CSRF token, created on first use."""
    data = session(request)
    token = data.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(24)
        data["csrf"] = token
        request.state.session_dirty = True
    return token


async def csrf_protect(request: Request) -> None:
    """Router dependency: a POST must carry the session's CSRF token (form field or header)."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    expected = session(request).get("csrf")
    given = request.headers.get("x-csrf-token")
    if given is None:
        ctype = request.headers.get("content-type", "")
        if ctype.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()  # Starlette caches it: the handler's Form() params still work
            value = form.get("csrf_token")
            given = value if isinstance(value, str) else None
    if not isinstance(expected, str) or not given or not hmac.compare_digest(expected, given):
        raise HTTPException(status_code=403, detail="表单已过期或来源不明，请刷新页面后重试。")


@dataclass
class LoginThrottle:
    """Counts failed log-ins per key in a sliding window (in memory: one process serves the console).

    A key over the limit is refused without checking the password, so guessing
    costs the attacker the whole window, and argon2 work is not spent on them.
    """

    max_failures: int = LOGIN_MAX_FAILURES
    window_s: float = LOGIN_WINDOW_S
    _failures: dict[str, deque[float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _recent(self, key: str, now: float) -> deque[float]:
        q = self._failures.setdefault(key, deque())
        while q and now - q[0] > self.window_s:
            q.popleft()
        return q

    def blocked(self, key: str) -> float:
        """Seconds until ``key`` may try again, 0 when it may try now."""
        now = time.monotonic()
        with self._lock:
            q = self._recent(key, now)
            if len(q) < self.max_failures:
                return 0.0
            return max(1.0, self.window_s - (now - q[0]))

    def failed(self, key: str) -> None:
        now = time.monotonic()
        with self._lock:
            self._recent(key, now).append(now)
            if len(self._failures) > 10_000:  # bound memory under a spray of names
                for k in [k for k, q in self._failures.items() if not q][:5000]:
                    del self._failures[k]

    def succeeded(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)
