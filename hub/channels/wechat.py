"""The WeChat official-account channel: cover upload, draft, freepublish — through wechatpy 1.8.18.

How it talks (channel-apis.md §1):

* ``wechatpy.WeChatClient`` with ``auto_retry=False`` (1.8.18 re-fetches the token
  and retries *without bound* on 40001/42001) and explicit (connect, read)
  timeouts; ``API_BASE_URL`` is the account's ``api_base``, so the sandbox and
  production differ by configuration only. draft/freepublish go through
  ``client.post`` (1.8.18 has no wrappers for them).
* The token comes from ``cgi-bin/stable_token`` (a POST we make on a session of
  our own: wechatpy only knows ``cgi-bin/token``, whose every call invalidates the
  other workers' token). It is shared between workers in ``channel_state`` (key
  ``wechat-token:<app_id>``), encrypted with a key derived from the app secret,
  and considered expired ``min(300 s, ttl/10)`` early. On a token error (40001,
  40014, 42001): evict, refresh once, retry that call once; a second token error
  in the same send is ``AuthExpired``. Never a loop.
* Every errcode maps through ``ERRCODES`` (one table); transport failures and
  HTTP statuses through ``hub.channels.http``. Only ``freepublish/submit`` is a
  publishing call: a read timeout, dropped connection, 504 or unparsable body
  there is ``Ambiguous``; on the uploads and the draft (nothing public yet) the
  same failures are ``Retryable``.
* ``lookup``: before submitting, the draft's media_id, title and
  ``content_source_url`` are noted in ``channel_state`` (``wechat-send:<key>``);
  the publish_id after. See docs/decisions/2026-11-25-wechat-token-and-lookup.md.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import re
import threading
import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from io import BytesIO
from typing import Any, ClassVar

import requests
import xmltodict
from cryptography.fernet import Fernet, InvalidToken
from PIL import Image
from pydantic import Field
from wechatpy import WeChatClient
from wechatpy.exceptions import WeChatClientException
from wechatpy.session import SessionStorage

from hub import redact
from hub.channels.base import AccountConfig, ChannelBase, LinkUse
from hub.channels.boundary import artifact_file
from hub.channels.http import TRANSPORT_ERRORS, from_status, from_transport, safe_message
from hub.channels.sendstate import SessionFactory, default_sessions, read_note, write_note
from hub.config import Account, HubConfig
from hub.deliverables import DeliveryStatus, Receipt, Rendition, Target
from hub.errors import (
    Ambiguous,
    AuthExpired,
    ChannelError,
    ConfigError,
    DuplicateRejected,
    Permanent,
    RateLimited,
    Retryable,
)
from hub.settings import Settings
from hub.timeutil import SHANGHAI, utcnow

log = logging.getLogger(__name__)

#: token errors: evict, refresh once, retry once
TOKEN_ERRCODES = frozenset({40001, 40014, 42001})
#: the longest the hub trusts a token before its stated expiry
TOKEN_MARGIN_SECONDS = 300.0
DEFAULT_TIMEOUT = (5.0, 20.0)  # (connect, read) seconds; sum stays below the worker's time limit
THUMB_MAX_BYTES = 64 * 1024
UPLOADIMG_MAX_BYTES = 1024 * 1024 - 1
BATCHGET_PAGES = 3  # lookup scans the newest 3 × 20 published articles


def _seconds_to_beijing_midnight() -> float:
    """WeChat's daily quotas reset at 00:00 Beijing time."""
    now = datetime.now(SHANGHAI)
    tomorrow = (now + timedelta(days=1)).replace(hour=0, minute=0, second=5, microsecond=0)
    return (tomorrow - now).total_seconds()


def _daily(msg: str) -> ChannelError:
    return RateLimited(msg, _seconds_to_beijing_midnight(), daily=True)


#: errcode → how to build the outcome. THE table (channel-apis.md §1.7); anything else non-zero is Permanent.
ERRCODES: dict[int, Any] = {
    -1: lambda m: Retryable(m, 30.0),
    40001: AuthExpired, 40014: AuthExpired, 42001: AuthExpired,  # after the one refresh
    40013: AuthExpired,  # invalid appid: the account's configuration needs a person
    40125: AuthExpired,  # invalid appsecret
    40164: AuthExpired,  # caller IP not whitelisted on the MP platform
    41001: AuthExpired,  # access_token missing (the token fetch failed silently)
    40005: Permanent, 40006: Permanent, 40009: Permanent,  # file type / size: fix the rendition
    40007: lambda m: Retryable(m),  # invalid media_id: the next attempt uploads again
    45001: Permanent, 45002: Permanent, 45003: Permanent, 45004: Permanent, 45110: Permanent,
    44003: Permanent, 44004: Permanent, 40035: Permanent, 47001: Permanent,
    45009: _daily,  # daily API quota
    45011: lambda m: RateLimited(m, 60.0),  # per-minute limit
    45028: _daily,  # no mass-send quota
    45065: DuplicateRejected,  # clientmsgid already used: sent before
    48001: Permanent,  # API not authorised for this account type
    53500: Permanent,  # publishing banned
    53501: lambda m: RateLimited(m, 60.0),  # publishing too frequently
    53502: Permanent, 53600: Permanent,  # bad publish_id / article_id
}

#: freepublish/get publish_status → (status, words)
PUBLISH_STATUS: dict[int, tuple[DeliveryStatus, str]] = {
    0: (DeliveryStatus.DELIVERED, "发布成功"),
    1: (DeliveryStatus.PENDING, "发布中"),
    2: (DeliveryStatus.FAILED, "原创声明失败 (originality check failed)"),
    3: (DeliveryStatus.FAILED, "常规失败 (publishing failed)"),
    4: (DeliveryStatus.FAILED, "平台审核不通过 (rejected by the platform's review)"),
    5: (DeliveryStatus.FAILED, "成功后用户删除所有文章 (deleted by the account after publishing)"),
    6: (DeliveryStatus.FAILED, "成功后系统封禁所有文章 (banned by the platform after publishing)"),
}


def outcome_for_errcode(code: int, what: str, errmsg: object) -> ChannelError:
    """The hub outcome for a WeChat errcode (message redacted, never the URL)."""
    msg = f"wechat {what}: errcode {code} {safe_message(errmsg, 160)}".rstrip()
    build = ERRCODES.get(code, Permanent)
    outcome = build(msg)
    assert isinstance(outcome, ChannelError)
    outcome.vendor_code = code  # type: ignore[attr-defined]
    return outcome


# --- the shared token -------------------------------------------------------------------------


class SharedTokenStorage(SessionStorage):  # type: ignore[misc]
    """wechatpy session storage: the access token in ``channel_state``, encrypted, shared by every worker.

    A per-process copy avoids a database read on every call; ``delete`` (eviction
    after a token error) clears both. Values are encrypted with a key derived from
    the app secret, so the database alone does not hand out a working token.
    """

    _memory: ClassVar[dict[str, tuple[str, float]]] = {}
    _lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, sessions: SessionFactory, *, scope: str, secret: str) -> None:
        self.sessions, self.scope = sessions, scope
        self.fernet = Fernet(base64.urlsafe_b64encode(hashlib.sha256(b"hub-wechat-token:" + secret.encode()).digest()))

    def _mem_key(self, key: str) -> str:
        return f"{self.scope}|{key}"

    @staticmethod
    def row_key(key: str) -> str:
        return "wechat-token:" + key.removesuffix("_access_token")

    def get(self, key: str, default: Any = None) -> Any:
        now = time.time()
        with self._lock:
            cached = self._memory.get(self._mem_key(key))
        if cached and cached[1] > now:
            return cached[0]
        note = read_note(self.sessions, self.row_key(key))
        if not note or float(note.get("use_until", 0)) <= now:
            return default
        try:
            token = self.fernet.decrypt(str(note["token"]).encode()).decode()
        except (InvalidToken, KeyError):
            return default
        redact.register_secret(token)
        with self._lock:
            self._memory[self._mem_key(key)] = (token, float(note["use_until"]))
        return token

    def set(self, key: str, value: Any, ttl: int | None = None) -> None:
        if not value:
            return  # never overwrite a stored token with an empty one (Postiz #1884)
        ttl_s = float(ttl or 7200)
        use_until = time.time() + ttl_s - min(TOKEN_MARGIN_SECONDS, ttl_s / 10)
        token = str(value)
        redact.register_secret(token)
        write_note(self.sessions, self.row_key(key),
                   {"token": self.fernet.encrypt(token.encode()).decode(), "use_until": use_until},
                   expires_at=utcnow() + timedelta(seconds=ttl_s), merge=False)
        with self._lock:
            self._memory[self._mem_key(key)] = (token, use_until)

    def delete(self, key: str) -> None:
        with self._lock:
            self._memory.pop(self._mem_key(key), None)
        write_note(self.sessions, self.row_key(key), {"token": "", "use_until": 0}, merge=False,
                   expires_at=utcnow())


class HubWeChatClient(WeChatClient):  # type: ignore[misc]
    """wechatpy's client pointed at the account's base URL, fetching tokens from ``stable_token``.

    wechatpy 1.8.18 has no ``stable_token`` call, and its public ``post`` adds an access
    token to every request (fetching one first, which would recurse here). The single token
    call therefore goes through a ``requests.Session`` of our own (``token_http``), with the
    client's timeout, as wechatpy's own session is configured; every other call goes through
    wechatpy's public ``get``/``post``. See docs/decisions/2026-12-03-public-apis-only.md.
    """

    def __init__(self, app_id: str, secret: str, *, api_base: str, storage: SharedTokenStorage,
                 timeout: tuple[float, float]) -> None:
        super().__init__(app_id, secret, session=storage, timeout=timeout, auto_retry=False)
        self.API_BASE_URL = api_base
        self.storage = storage
        self.token_http = requests.Session()

    def fetch_access_token(self) -> dict[str, Any]:
        """POST cgi-bin/stable_token (normal mode: every worker gets the same token until it nears expiry)."""
        body = json.dumps({"grant_type": "client_credential", "appid": self.appid, "secret": self.secret,
                           "force_refresh": False}).encode("utf-8")
        res = self.token_http.post(self.API_BASE_URL + "stable_token", data=body, timeout=self.timeout,
                                   headers={"Content-Type": "application/json"})
        if res.status_code != 200:
            raise WeChatClientException(None, None, client=self, request=res.request, response=res)
        try:
            result = res.json()
        except ValueError:
            raise WeChatClientException(None, "unparsable token answer", client=self, response=res) from None
        if not isinstance(result, dict):
            raise WeChatClientException(None, "unparsable token answer", client=self, response=res)
        if int(result.get("errcode") or 0) != 0:
            raise WeChatClientException(int(result["errcode"]), result.get("errmsg"), client=self, response=res)
        token = result.get("access_token")
        if not token:
            raise WeChatClientException(None, "token answer without access_token", client=self, response=res)
        redact.register_secret(str(token))
        self.session.set(self.access_token_key, token, int(result.get("expires_in") or 7200))
        return {"expires_in": result.get("expires_in")}  # never hand the token back to callers


def _capture(fn: Any) -> tuple[Any, BaseException | None]:
    """Call ``fn``; return (result, None) or (None, the SDK/transport exception) so the caller raises afresh."""
    try:
        return fn(), None
    except (WeChatClientException, *TRANSPORT_ERRORS) as exc:
        return None, exc


_fetch_locks: dict[str, threading.Lock] = {}
_fetch_locks_guard = threading.Lock()


def _fetch_lock(scope: str) -> threading.Lock:
    with _fetch_locks_guard:
        return _fetch_locks.setdefault(scope, threading.Lock())


class _Send:
    """Per-call bookkeeping: the one token refresh a send (or status, or lookup) may spend."""

    def __init__(self, client: HubWeChatClient) -> None:
        self.client = client
        self.refreshed = False


class WeChatAccount(AccountConfig):
    """``[accounts.*]`` of a WeChat official account (公众号)."""

    api_base: str = "https://api.weixin.qq.com/cgi-bin/"
    app_id: str = Field(pattern=r"^wx[0-9a-zA-Z]{16}$")
    secret_env: str
    callback_token_env: str = ""
    timeout: float | tuple[float, float] | None = None
    required_env: ClassVar[tuple[str, ...]] = ("secret_env",)
    optional_env: ClassVar[tuple[str, ...]] = ("callback_token_env",)


class WeChatChannel(ChannelBase):
    """Publishes a rendered article to a WeChat official account (freepublish)."""

    name: ClassVar[str] = "wechat"
    idempotent_upsert: ClassVar[bool] = False
    can_lookup: ClassVar[bool] = True
    rendition_kind: ClassVar[str] = "wechat"
    label: ClassVar[str] = "微信公众号"
    links: ClassVar[LinkUse] = LinkUse.QR
    account_model: ClassVar[type[AccountConfig]] = WeChatAccount
    sandbox: ClassVar[str | None] = "hub.sandbox.wechat"
    overridable: ClassVar[bool] = True
    new_media: ClassVar[bool] = True
    callbacks: ClassVar[bool] = True  # PUBLISHJOBFINISH events (hub.web.callbacks)
    #: one datacube call answers a whole publication day, however many articles: batch by day, not by 100
    metrics_batch: ClassVar[int] = 20_000

    def __init__(self, config: HubConfig, settings: Settings, *, session_factory: SessionFactory | None = None) -> None:
        self.config, self.settings = config, settings
        self.sessions = session_factory or default_sessions()

    # --- plumbing ---------------------------------------------------------------------------

    def _account(self, target: Target) -> tuple[str, Account]:
        account = self.config.accounts.get(target.account)
        if account is None or account.channel != self.name:
            raise ConfigError(f"channels.toml: targets.{target.name}: no wechat account {target.account!r}")
        return target.account, account

    def client(self, target: Target) -> HubWeChatClient:
        """A wechatpy client for the target's account (cheap; the token lives in the shared storage)."""
        name, account = self._account(target)
        app_id = str(account.get("app_id") or "")
        if not app_id:
            raise ConfigError(f"channels.toml: accounts.{name}.app_id is missing")
        secret = account.secret("secret_env", name).value
        redact.register_secret(secret)
        api_base = str(account.get("api_base") or "https://api.weixin.qq.com/cgi-bin/")
        if not api_base.endswith("/"):
            api_base += "/"
        timeout = account.get("timeout")
        timeouts = (float(timeout[0]), float(timeout[1])) if isinstance(timeout, list) else DEFAULT_TIMEOUT
        # which token cache this is: database, endpoint and secret (hashed: the URL may hold a DB password)
        scope = hashlib.sha256(f"{self.settings.database_url}|{api_base}|{app_id}|{secret}".encode()).hexdigest()
        storage = SharedTokenStorage(self.sessions, scope=scope, secret=secret)
        client = HubWeChatClient(app_id, secret, api_base=api_base, storage=storage, timeout=timeouts)
        # the statistics API lives beside cgi-bin/ (https://api.weixin.qq.com/datacube/)
        client.datacube.API_BASE_URL = re.sub(r"cgi-bin/$", "datacube/", api_base)
        return client

    def _refresh(self, send: _Send, what: str) -> None:
        """Evict the token and fetch one (the single refresh a call may spend)."""
        client = send.client
        client.session.delete(client.access_token_key)
        self._fetch(client)

    def _fetch(self, client: HubWeChatClient) -> None:
        _, failure = _capture(client.fetch_access_token)
        if failure is not None:
            raise self._outcome(failure, "stable_token", publishing=False)

    def _outcome(self, failure: BaseException, what: str, *, publishing: bool) -> ChannelError:
        if isinstance(failure, WeChatClientException):
            return self._from_wechat(failure, what, publishing=publishing)
        return from_transport("wechat", what, failure, publishing=publishing)

    def _ensure_token(self, send: _Send) -> None:
        """Fetch a token before a call when none is usable, so a token failure is never taken for a publish.

        Threads of one process wait for each other's fetch (one stable_token call, not one per thread);
        other processes may fetch too, and stable_token hands them the same token.
        """
        client = send.client
        if client.session.get(client.access_token_key):
            return
        with _fetch_lock(client.storage.scope):
            if client.session.get(client.access_token_key):
                return
            self._fetch(client)

    @staticmethod
    def _from_wechat(exc: WeChatClientException, what: str, *, publishing: bool) -> ChannelError:
        if exc.errcode is None:
            response = getattr(exc, "response", None)
            status = getattr(response, "status_code", None)
            if response is None or status is None or int(status) < 400:  # e.g. a 200 that is not JSON
                msg = f"wechat {what}: {safe_message(exc.errmsg or 'unexpected answer')}"
                return Ambiguous(msg + "; it may have been applied") if publishing else Retryable(msg)
            return from_status("wechat", what, int(status), dict(response.headers), publishing=publishing)
        return outcome_for_errcode(int(exc.errcode), what, exc.errmsg)

    def _call(self, send: _Send, what: str, request: Any, *, publishing: bool = False,
              marker: str | None = None) -> dict[str, Any]:
        """One API call with the bounded token rule; the answer must be a JSON object (with ``marker``)."""
        for _attempt in range(2):
            self._ensure_token(send)
            # raised outside any ``except``: the SDK's exception (its request URL carries the token)
            # is not even kept as ``__context__`` of the hub error
            result, failure = _capture(request)
            if failure is not None:
                code = getattr(failure, "errcode", None)
                if isinstance(failure, WeChatClientException) and code is not None \
                        and int(code) in TOKEN_ERRCODES and not send.refreshed:
                    send.refreshed = True
                    log.info("wechat %s: token rejected (errcode %s); refreshing once", what, code)
                    del failure
                    self._refresh(send, what)
                    continue
                raise self._outcome(failure, what, publishing=publishing)
            if not isinstance(result, dict) or (marker is not None and not result.get(marker)):
                kind = "unparsable answer" if not isinstance(result, dict) else f"answer without {marker}"
                msg = f"wechat {what}: HTTP 200 with an {kind}"
                raise (Ambiguous(msg + "; it may have been applied") if publishing else Retryable(msg))
            return result
        raise AuthExpired(f"wechat {what}: token rejected again after one refresh")  # pragma: no cover

    # --- send -----------------------------------------------------------------------------------

    @staticmethod
    def _articles(rendition: Rendition) -> list[dict[str, Any]]:
        try:
            data = json.loads(artifact_file("wechat", rendition.main).read_text("utf-8"))
        except (OSError, ValueError) as exc:
            raise Permanent(f"wechat: rendition {rendition.main.sha256[:12]} unreadable: {type(exc).__name__}") from None
        articles = data.get("articles") if isinstance(data, dict) and "articles" in data else [data]
        if not isinstance(articles, list) or not articles or not all(isinstance(a, dict) for a in articles):
            raise Permanent("wechat: rendition has no article")
        return [dict(a) for a in articles]

    @staticmethod
    def thumb_jpeg(data: bytes) -> bytes:
        """The cover as WeChat's thumb wants it: JPEG ≤ 64 KB (re-encoded only when it is not already)."""
        if data.startswith(b"\xff\xd8\xff") and len(data) <= THUMB_MAX_BYTES:
            return data
        img = Image.open(BytesIO(data)).convert("RGB")
        for quality in (85, 75, 65, 55, 45, 35):
            out = BytesIO()
            img.save(out, "JPEG", quality=quality, optimize=True)
            if out.tell() <= THUMB_MAX_BYTES:
                return out.getvalue()
            if quality == 55:
                img = img.resize((img.width * 2 // 3, img.height * 2 // 3))
        raise Permanent("wechat: cover cannot be brought under 64 KB")

    def send(self, rendition: Rendition, target: Target, key: str) -> Receipt:
        """Upload the cover and inline images, add the draft, submit it: Receipt(provider_ref=publish_id)."""
        articles = self._articles(rendition)
        send = _Send(self.client(target))
        client = send.client
        cover = rendition.files.get("cover") or rendition.files.get("thumb")
        thumb_id: str | None = None
        if cover is not None:
            thumb = self.thumb_jpeg(artifact_file("wechat", cover).read_bytes())
            thumb_id = str(self._call(send, "material/add_material", lambda: client.post(
                "material/add_material", params={"type": "thumb"},
                files={"media": ("cover.jpg", thumb, "image/jpeg")}), marker="media_id")["media_id"])
        for art in articles:
            if art.get("article_type", "news") == "news" and not art.get("thumb_media_id"):
                if thumb_id is None:
                    raise Permanent("wechat: a news article needs a cover (rendition has no files['cover'])")
                art["thumb_media_id"] = thumb_id
            art["content"] = self._inline_images(send, rendition, str(art.get("content") or ""))
        draft = self._call(send, "draft/add", lambda: client.post("draft/add", data={"articles": articles}),
                           marker="media_id")
        draft_id = str(draft["media_id"])
        note_key = f"wechat-send:{key}"
        try:
            write_note(self.sessions, note_key, {
                "account": target.account, "draft_media_id": draft_id, "title": articles[0].get("title"),
                "content_source_url": articles[0].get("content_source_url"), "submitting_at": time.time()})
        except Exception as exc:  # nothing is public yet: safe to try again later
            raise Retryable(f"wechat: cannot note the draft before submitting ({type(exc).__name__})") from None
        result = self._call(send, "freepublish/submit",
                            lambda: client.post("freepublish/submit", data={"media_id": draft_id}),
                            publishing=True, marker="publish_id")
        publish_id = str(result["publish_id"])
        try:
            write_note(self.sessions, note_key, {"publish_id": publish_id, "msg_data_id": result.get("msg_data_id")})
        except Exception:  # the receipt below carries the publish_id; the note only helps lookup
            log.warning("wechat: publish %s submitted but the note could not be written", publish_id)
        return Receipt(provider_ref=publish_id, accepted_at=utcnow(), confirmed=False,
                       raw={"publish_id": publish_id, "msg_data_id": str(result.get("msg_data_id") or ""),
                            "draft_media_id": draft_id, "thumb_media_id": thumb_id,
                            "token_refreshed": send.refreshed})

    _IMG_SRC = re.compile(r"""(<img\b[^>]*?\bsrc\s*=\s*["'])artifact:([\w.\-]+)(["'])""", re.IGNORECASE)

    def _inline_images(self, send: _Send, rendition: Rendition, content: str) -> str:
        """``<img src="artifact:ROLE">`` → the URL ``media/uploadimg`` gives for ``rendition.files[ROLE]``."""
        urls: dict[str, str] = {}
        client = send.client

        def upload(role: str) -> str:
            if role not in urls:
                art = rendition.files.get(role)
                if art is None:
                    raise Permanent(f"wechat: content refers to a missing image {role!r}")
                data = artifact_file("wechat", art).read_bytes()
                if len(data) > UPLOADIMG_MAX_BYTES or art.media_type not in ("image/jpeg", "image/png"):
                    raise Permanent(f"wechat: inline image {role!r} must be jpg/png under 1 MB")
                suffix = ".png" if art.media_type == "image/png" else ".jpg"
                result = self._call(send, "media/uploadimg", lambda: client.post(
                    "media/uploadimg", files={"media": (role + suffix, data, art.media_type)}), marker="url")
                urls[role] = str(result["url"])
            return urls[role]

        return self._IMG_SRC.sub(lambda m: m.group(1) + upload(m.group(2)) + m.group(3), content)

    # --- withdraw ---------------------------------------------------------------------------------

    def correct(self, rendition: Rendition, previous: Receipt, target: Target, key: str) -> Receipt:
        """更正: publish the corrected article (a new one; the platform has no edit for it).

        The old article is taken down by its own withdrawal step in the ledger, which the
        engine runs only once this correction has settled (``hub.app.lifecycle.correct``):
        each half keeps its own exactly-once key, retry and reconcile rules.
        """
        return self.send(rendition, target, key)

    def withdraw(self, receipt: Receipt, target: Target, key: str) -> Receipt:
        """Take the published article down: ``freepublish/delete`` {article_id, index 0} (all its articles).

        The receipt of the publication names the publish task (or ``article:<id>`` from a lookup);
        freepublish/get gives the article_id. Idempotent: a publication already deleted (status 5/6,
        or errcode 53600 invalid article_id for an id freepublish/get gave us) counts as done, so the
        engine may run it again after an unknown outcome without a second take-down.
        """
        send = _Send(self.client(target))
        ref = receipt.provider_ref
        if ref.startswith("article:"):
            article_id = ref.split(":", 1)[1]
        else:
            try:
                result = self._call(send, "freepublish/get",
                                    lambda: send.client.post("freepublish/get", data={"publish_id": ref}))
            except Ambiguous as exc:  # a status read applies nothing
                raise Retryable(exc.message) from None
            status = int(result.get("publish_status", -1))
            if status == 1:
                raise Retryable("wechat: the publication is still running; withdrawing when it ends", 30.0)
            if status in (2, 3, 4, 5, 6):  # never public, or already taken down
                return Receipt(provider_ref=f"deleted:{ref}"[:200], accepted_at=utcnow(), confirmed=True,
                               raw={"publish_id": ref, "publish_status": status, "nothing_to_delete": True})
            article_id = str(result.get("article_id") or "")
            if not article_id:
                raise Retryable("wechat freepublish/get: published but no article_id yet")
        client = send.client
        try:
            self._call(send, "freepublish/delete",
                       lambda: client.post("freepublish/delete", data={"article_id": article_id, "index": 0}),
                       publishing=True)
        except Permanent as exc:
            if "errcode 53600" not in exc.message:
                raise
            return Receipt(provider_ref=f"deleted:{article_id}"[:200], accepted_at=utcnow(), confirmed=True,
                           raw={"article_id": article_id, "already_deleted": True})
        return Receipt(provider_ref=f"deleted:{article_id}"[:200], accepted_at=utcnow(), confirmed=True,
                       raw={"article_id": article_id, "publish_id": ref})

    # --- status -----------------------------------------------------------------------------------

    def describe(self, receipt: Receipt, target: Target) -> tuple[DeliveryStatus, str]:
        """(status, the reason in words) from ``freepublish/get``: WeChat's own answer, never a pushed event.

        A PUBLISHJOBFINISH callback only makes the poll come sooner (issue 18: a
        forged "publish finished" must not confirm a publish WeChat fails).
        """
        ref = receipt.provider_ref
        if ref.startswith("article:"):
            return DeliveryStatus.DELIVERED, "listed among the account's published articles"
        send = _Send(self.client(target))
        try:
            result = self._call(send, "freepublish/get",
                                lambda: send.client.post("freepublish/get", data={"publish_id": ref}),
                                marker=None)
        except Ambiguous as exc:  # a status read applies nothing
            raise Retryable(exc.message) from None
        if not str(result.get("publish_status", "")).lstrip("-").isdigit():
            # an explicit status is required: a missing one is not success (F12)
            raise Retryable("wechat freepublish/get: answer without publish_status")
        return self._words(result, "")

    @staticmethod
    def _words(result: dict[str, Any], source: str) -> tuple[DeliveryStatus, str]:
        code = int(result["publish_status"])
        status, words = PUBLISH_STATUS.get(code, (DeliveryStatus.FAILED, f"unknown publish_status {code}"))
        if status is DeliveryStatus.FAILED and result.get("fail_idx"):
            words += f"; failed articles {result['fail_idx']}"
        if status is DeliveryStatus.DELIVERED:
            items = (result.get("article_detail") or {}).get("item") or []
            if isinstance(items, dict):  # one <item> in the event XML parses as a dict
                items = [items]
            if items:
                words += f": {safe_message(items[0].get('article_url'), 200)}"
        return status, f"{words} {source}".rstrip()

    def status(self, receipt: Receipt, target: Target) -> DeliveryStatus:
        return self.describe(receipt, target)[0]

    # --- metrics ------------------------------------------------------------------------------------

    def metrics(self, receipts: Sequence[Receipt], target: Target, *, now: datetime) -> dict[str, dict[str, int]]:
        """Reads, read users, shares and favourites per article from ``datacube/getarticletotal``.

        The API's limits decide the calls: one day per call (begin = end = the publication
        day), end date at most yesterday (Beijing), figures for seven days after publication.
        So one call per publication day serves every article of that day; a publication
        submitted late in the evening may land the next day, which is asked too. An
        article is ``msgid`` = ``<msg_data_id>_<idx>``; its cumulative figures are the
        latest ``details`` entry. errcode 45009 (daily quota) is ``RateLimited``.
        """
        yesterday = (now.astimezone(SHANGHAI) - timedelta(days=1)).date()
        wanted: dict[str, str] = {}  # msgid → provider_ref
        days: set[Any] = set()
        for r in receipts:
            msg_data_id = str(r.raw.get("msg_data_id") or "")
            if not msg_data_id:
                continue
            wanted[f"{msg_data_id}_1"] = r.provider_ref
            day = r.accepted_at.astimezone(SHANGHAI).date()
            days.update(d for d in (day, day + timedelta(days=1)) if d <= yesterday)
        if not wanted:
            return {}
        send = _Send(self.client(target))
        out: dict[str, dict[str, int]] = {}
        for day in sorted(days):
            result = self._call(send, "datacube/getarticletotal",
                                lambda d=day: {"list": send.client.datacube.get_article_total(d, d)})
            for item in result["list"] or []:
                ref = wanted.get(str(item.get("msgid")))
                details = sorted(item.get("details") or [], key=lambda x: str(x.get("stat_date")))
                if ref is None or not details:
                    continue
                last = details[-1]
                out[ref] = {"reads": int(last.get("int_page_read_count") or 0),
                            "read_users": int(last.get("int_page_read_user") or 0),
                            "shares": int(last.get("share_count") or 0),
                            "favorites": int(last.get("add_to_fav_count") or 0)}
        return out

    # --- lookup -------------------------------------------------------------------------------------

    def lookup(self, target: Target, key: str) -> Receipt | None:
        """Did an earlier ``send`` with this key land? Receipt, None (safe to send again) or Ambiguous.

        1. The note has a publish_id → that publish.
        2. The note has a draft: the newest published articles (freepublish/batchget)
           are searched for the same title and content_source_url → the article.
        3. The draft is still in the draft box (draft/get) → the submit did not
           take: None, sending again is safe.
        4. Otherwise the draft was submitted and is not (yet) published →
           Ambiguous: check again later, or let a person decide.
        No note at all → no draft was ever added, nothing can be public: None.
        """
        note = read_note(self.sessions, f"wechat-send:{key}")
        if not note:
            return None
        if note.get("publish_id"):
            return Receipt(provider_ref=str(note["publish_id"]), accepted_at=utcnow(), confirmed=False,
                           raw={"from": "note"})
        send = _Send(self.client(target))
        client = send.client
        for page in range(BATCHGET_PAGES):
            listing = self._call(send, "freepublish/batchget", lambda p=page: client.post(
                "freepublish/batchget", data={"offset": p * 20, "count": 20, "no_content": 1}))
            items = listing.get("item") or []
            for item in items:
                for news in (item.get("content") or {}).get("news_item") or []:
                    if news.get("title") == note.get("title") and \
                            news.get("content_source_url") == note.get("content_source_url"):
                        return Receipt(provider_ref=f"article:{item.get('article_id')}", accepted_at=utcnow(),
                                       confirmed=True, raw={"from": "batchget", "url": news.get("url")})
            if len(items) < 20:
                break
        try:
            self._call(send, "draft/get", lambda: client.post(
                "draft/get", data={"media_id": note.get("draft_media_id")}))
        except Retryable as exc:
            if getattr(exc, "vendor_code", None) != 40007:
                raise
        else:
            return None
        raise Ambiguous("wechat: the draft was submitted but is not among the published articles yet")


# --- the PUBLISHJOBFINISH push ----------------------------------------------------------------


PUBLISH_EVENTS = ("publishjobfinish", "freepublishjobfinish")  # the docs once showed the second name


def publish_event(message: bytes | str) -> dict[str, Any] | None:
    """The PublishEventInfo of a callback's (decrypted) XML.

    Returns ``{"publish_id", "publish_status", "article_id", "article_detail", "fail_idx"}`` with
    publish_status as an int, or None when the message is not a publish-finished event.
    Parsed with ``xmltodict`` as wechatpy's ``parse_message`` does: wechatpy makes an
    ``UnknownMessage`` of this event and keeps its fields only in a private attribute.
    """
    data = xmltodict.parse(message).get("xml")
    if not isinstance(data, dict) or str(data.get("Event") or "").lower() not in PUBLISH_EVENTS:
        return None
    info = data.get("PublishEventInfo")
    if not isinstance(info, dict) or not info.get("publish_id"):
        return None
    if not str(info.get("publish_status", "")).strip().isdigit():
        return None  # an explicit status is required: a missing one is not success (issue 18)
    fail_idx = info.get("fail_idx") or []
    fail_idx = [int(i) if str(i).isdigit() else i for i in (fail_idx if isinstance(fail_idx, list) else [fail_idx])]
    return {"publish_id": str(info["publish_id"]), "publish_status": int(str(info["publish_status"]).strip()),
            "article_id": info.get("article_id"), "article_detail": info.get("article_detail") or {},
            "fail_idx": fail_idx}


def handle_publish_event(session: Any, account: str, message: bytes | str) -> dict[str, Any] | None:
    """Keep a verified PUBLISHJOBFINISH event where ``status()`` finds it (``wechat-publish:<publish_id>``).

    Called by the hub's callback endpoint inside its transaction (the signature is checked there);
    the engine's next status poll then confirms the delivery without asking WeChat.
    """
    from hub.store.models import ChannelStateRow

    info = publish_event(message)
    if info is None:
        return None
    key, now = f"wechat-publish:{info['publish_id']}", utcnow()
    row = session.get(ChannelStateRow, key)
    value = {**info, "account": account, "received_at": now.isoformat()}
    if row is None:
        session.add(ChannelStateRow(key=key, value=value, expires_at=None, updated_at=now))
    else:
        row.value, row.updated_at = value, now
    return info


__all__ = ["ERRCODES", "PUBLISH_STATUS", "HubWeChatClient", "SharedTokenStorage", "WeChatChannel",
           "handle_publish_event", "outcome_for_errcode", "publish_event"]
