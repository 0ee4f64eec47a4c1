"""Weibo re-authorisation (OAuth 2.0 authorisation code): the admin grants the app again, the hub keeps the token.

A Weibo access token expires (about five years for a verified government app,
far less in development); the adapter then answers ``AuthExpired`` and the board
says "需要管理员重新授权". The admin page sends the admin to ``oauth2/authorize``
(the account holder signs in there and grants the app), Weibo redirects back
with a code, and ``exchange`` trades it at ``oauth2/access_token`` for a new
token. The token is stored in ``channel_state`` under ``weibo-token:<account>``,
encrypted with a key derived from the app secret (as WeChat's tokens are), and
``stored_token`` is what the adapter reads before the environment variable, so
every worker picks the new token up without a restart. The token never reaches
a log: it is registered with ``hub.redact`` as soon as it is known.

Account keys: ``app_key`` and ``app_secret_env`` (next to ``access_token_env``).
"""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import httpx
from cryptography.fernet import Fernet, InvalidToken

from hub import redact
from hub.channels.sendstate import SessionFactory, default_sessions, read_note, write_note
from hub.config import Account
from hub.errors import AuthExpired, ConfigError
from hub.timeutil import utcnow


def _key(account_name: str) -> str:
    return f"weibo-token:{account_name}"


def _fernet(account: Account, name: str) -> Fernet:
    secret = account.secret("app_secret_env", name).value
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(b"hub-weibo-token:" + secret.encode()).digest()))


def _base(account: Account) -> str:
    return str(account.get("api_base") or "https://api.weibo.com").rstrip("/")


def configured(account: Account) -> bool:
    """Can this account be re-authorised from the console (an app key and its secret's variable named)?"""
    return bool(account.get("app_key") and account.get("app_secret_env"))


def authorize_url(account: Account, name: str, *, redirect_uri: str, state: str) -> str:
    """Where to send the admin: the platform's authorisation page for the account's app."""
    if not configured(account):
        raise ConfigError(f"channels.toml: accounts.{name} needs app_key and app_secret_env to be re-authorised")
    query = urlencode({"client_id": str(account.get("app_key")), "redirect_uri": redirect_uri,
                       "response_type": "code", "state": state})
    return f"{_base(account)}/oauth2/authorize?{query}"


def exchange(account: Account, name: str, *, code: str, redirect_uri: str,
             sessions: SessionFactory | None = None) -> datetime:
    """Trade ``code`` for a token at ``oauth2/access_token``, store it encrypted; returns when it expires."""
    secret = account.secret("app_secret_env", name).value
    redact.register_secret(secret)
    try:
        resp = httpx.post(f"{_base(account)}/oauth2/access_token", timeout=httpx.Timeout(10.0),
                          data={"client_id": str(account.get("app_key")), "client_secret": secret,
                                "grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri})
    except httpx.HTTPError as exc:
        raise AuthExpired(f"微博授权服务器无法访问（{type(exc).__name__}），请稍后重试") from None
    body: Any = resp.json() if resp.headers.get("content-type", "").startswith("application/json") else {}
    token = str(body.get("access_token") or "") if isinstance(body, dict) else ""
    if resp.status_code != 200 or not token:
        code_ = body.get("error_code") if isinstance(body, dict) else None
        raise AuthExpired(f"微博拒绝了授权（{code_ or resp.status_code}），请重新授权")
    redact.register_secret(token)
    expires = utcnow() + timedelta(seconds=int(body.get("expires_in") or 0))
    write_note(sessions or default_sessions(), _key(name),
               {"token": _fernet(account, name).encrypt(token.encode()).decode(), "uid": str(body.get("uid") or ""),
                "authorised_at": utcnow().isoformat()}, expires_at=expires, merge=False)
    return expires


def stored_token(sessions: SessionFactory, name: str, account: Account) -> str | None:
    """The token the admin last granted for ``name`` (None: none stored, expired, or no app secret here)."""
    if not configured(account):
        return None
    note = read_note(sessions, _key(name))
    if not note or not note.get("token"):
        return None
    try:
        token = _fernet(account, name).decrypt(str(note["token"]).encode()).decode()
    except (InvalidToken, ConfigError):
        return None
    redact.register_secret(token)
    return token


def stored_expiry(sessions: SessionFactory, name: str) -> tuple[datetime | None, str | None]:
    """(expires_at, authorised_at) of the stored grant, for the accounts page."""
    from hub.store.models import ChannelStateRow

    with sessions() as s:
        row = s.get(ChannelStateRow, _key(name))
        if row is None:
            return None, None
        return row.expires_at, str((row.value or {}).get("authorised_at") or "") or None
