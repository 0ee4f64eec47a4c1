"""Sessions, CSRF, login throttling and security headers of the web app.

Sessions are signed cookies (itsdangerous) naming a server-side session
(``channel_state`` ``web-session:<sha256(id)>``, checked on every request), so
log-out revokes the cookie at once, in every process. The cookie holds only the
user name, the session id, the CSRF token and the issue time, never a password
hash or a role (the role is read from the database on every request, so a
demoted user loses rights at once). A TV session opened with the pickup token
carries a keyed fingerprint of that token: changing the token ends it.

CSRF: every session carries a random token; every state-changing request
(POST) must echo it in the ``csrf_token`` form field or the ``X-CSRF-Token``
header. The check is one router-level dependency (``csrf_protect``), so a new
form cannot forget it.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
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
    """Counts failed log-ins per key in a sliding window, in the database (every process shares it).

    A key over the limit is refused without checking the password, so guessing
    costs the attacker the whole window, and argon2 work is not spent on them.
    One ``channel_state`` row per failure (``login-fail:<scope>:<sha256(key)>:<random>``,
    expiring with the window): counting is one query and concurrent failures never
    overwrite each other. Keys are hashed: no user name or address is stored in clear.
    """

    scope: str = "user"
    max_failures: int = LOGIN_MAX_FAILURES
    window_s: float = LOGIN_WINDOW_S

    def _prefix(self, key: str) -> str:
        return f"login-fail:{self.scope}:{hashlib.sha256(key.encode()).hexdigest()[:40]}:"

    def _recent(self, session: Any, key: str, now: datetime) -> list[datetime]:
        from sqlalchemy import select

        from hub.store.models import ChannelStateRow

        rows = session.execute(select(ChannelStateRow.updated_at).where(
            ChannelStateRow.key.like(self._prefix(key) + "%"), ChannelStateRow.expires_at > now)).all()
        return sorted(r[0] for r in rows)

    def blocked(self, key: str) -> float:
        """Seconds until ``key`` may try again, 0 when it may try now."""
        from hub.store.db import session_scope

        now = datetime.now(UTC)
        with session_scope() as s:
            times = self._recent(s, key, now)
        if len(times) < self.max_failures:
            return 0.0
        return max(1.0, self.window_s - (now - times[-self.max_failures]).total_seconds())

    def failed(self, key: str) -> None:
        from sqlalchemy import delete

        from hub.store.db import session_scope
        from hub.store.models import ChannelStateRow

        now = datetime.now(UTC)
        with session_scope() as s:
            s.execute(delete(ChannelStateRow).where(ChannelStateRow.key.like("login-fail:%"),
                                                    ChannelStateRow.expires_at <= now))
            s.add(ChannelStateRow(key=self._prefix(key) + secrets.token_hex(8), value={}, updated_at=now,
                                  expires_at=now + timedelta(seconds=self.window_s)))

    def succeeded(self, key: str) -> None:
        from sqlalchemy import delete

        from hub.store.db import session_scope
        from hub.store.models import ChannelStateRow

        with session_scope() as s:
            s.execute(delete(ChannelStateRow).where(ChannelStateRow.key.like(self._prefix(key) + "%")))


# --- the client's address: forwarded headers only from configured proxies ------------------------


def trusted_proxies() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """``HUB_TRUSTED_PROXIES``: comma-separated addresses or networks of the reverse proxies (none by default)."""
    out: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
    for part in os.environ.get("HUB_TRUSTED_PROXIES", "").split(","):
        if part.strip():
            try:
                out.append(ipaddress.ip_network(part.strip(), strict=False))
            except ValueError:
                continue
    return out


def _trusted(addr: str, nets: list[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> bool:
    try:
        ip = ipaddress.ip_address(addr)
    except ValueError:
        return False
    return any(ip in net for net in nets)


def client_address(request: Request) -> str:
    """Who is asking: the peer, or, when the peer is a configured proxy, the nearest untrusted X-Forwarded-For hop.

    Why: trusting the header from anyone (uvicorn's default trusts 127.0.0.1) let a
    client rotate it and get unlimited log-in guesses (issue 18). ``hub serve``
    runs uvicorn without its proxy-header rewriting; this is the one place that reads it.
    """
    peer = request.client.host if request.client else "-"
    nets = trusted_proxies()
    if not nets or not _trusted(peer, nets):
        return peer
    hops = [h.strip() for h in request.headers.get("x-forwarded-for", "").split(",") if h.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, nets):
            return hop
    return peer


# --- server-side sessions: revocable ----------------------------------------------------------------

#: channel_state prefix of a live console session (the key holds sha256 of the session id)
SESSION_PREFIX = "web-session:"


def _session_key(sid: str) -> str:
    return SESSION_PREFIX + hashlib.sha256(sid.encode()).hexdigest()


def open_session(name: str) -> str:
    """Record a new console session of ``name``; returns its id (kept in the signed cookie)."""
    from sqlalchemy import delete

    from hub.store.db import session_scope
    from hub.store.models import ChannelStateRow

    sid = secrets.token_urlsafe(24)
    now = datetime.now(UTC)
    with session_scope() as s:
        s.execute(delete(ChannelStateRow).where(ChannelStateRow.key.like(f"{SESSION_PREFIX}%"),
                                                ChannelStateRow.expires_at <= now))
        s.add(ChannelStateRow(key=_session_key(sid), value={"user": name}, updated_at=now,
                              expires_at=now + timedelta(seconds=SESSION_MAX_AGE_S)))
    return sid


def session_alive(session: Any, sid: object, name: str) -> bool:
    """True while the session ``sid`` of ``name`` exists server-side and has not expired."""
    from hub.store.models import ChannelStateRow

    if not isinstance(sid, str) or not sid:
        return False
    row = session.get(ChannelStateRow, _session_key(sid))
    return bool(row is not None and (row.value or {}).get("user") == name
                and (row.expires_at is None or row.expires_at > datetime.now(UTC)))


def close_session(sid: object) -> None:
    """Revoke one session (log-out): its cookie opens nothing any more."""
    from hub.store.db import session_scope
    from hub.store.models import ChannelStateRow

    if not isinstance(sid, str) or not sid:
        return
    with session_scope() as s:
        row = s.get(ChannelStateRow, _session_key(sid))
        if row is not None:
            s.delete(row)


def close_sessions_of(session: Any, name: str) -> int:
    """Revoke every session of ``name`` (a password change, a deactivated account)."""
    from sqlalchemy import select

    from hub.store.models import ChannelStateRow

    rows = session.scalars(select(ChannelStateRow).where(ChannelStateRow.key.like(f"{SESSION_PREFIX}%"))).all()
    gone = [r for r in rows if (r.value or {}).get("user") == name]
    for r in gone:
        session.delete(r)
    return len(gone)


def token_fingerprint(token: str) -> str:
    """A keyed fingerprint of the TV pickup token: a session opened with it stops working once it changes."""
    return hmac.new(secret_key().encode(), token.encode(), hashlib.sha256).hexdigest()[:32]


def artifact_departments(session: Any, sha256: str) -> set[str]:
    """The departments of the versions whose renditions include the artifact ``sha256`` ("" = none).

    A rendition's main file is its ``sha256`` column; its other files are named in its
    ``data`` JSON, which is searched as text (both databases cast JSON to text alike).
    """
    from sqlalchemy import String, cast, or_, select

    from hub.store.models import RenditionRow, VersionRow

    rows = session.execute(select(VersionRow.department).join(RenditionRow, RenditionRow.version == VersionRow.version)
                           .where(or_(RenditionRow.sha256 == sha256,
                                      cast(RenditionRow.data, String).contains(sha256)))).all()
    return {d or "" for (d,) in rows}
