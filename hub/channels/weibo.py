"""The Weibo channel: one post with its picture through ``2/statuses/share.json``, over a thin httpx client.

No Weibo SDK on PyPI works on Python 3.11 with timeouts and error codes
(docs/decisions/2026-11-25-weibo-client.md), so this is ~one screen of httpx:

* the token goes in ``Authorization: OAuth2 <token>`` (never the query string,
  so it cannot reach a URL in a log); explicit per-phase timeouts;
* a post is ``status`` + ``rip`` as a form, or multipart with ``pic`` when the
  rendition has a picture; success needs a parsed status with ``idstr`` (F12);
* errors arrive as HTTP 4xx with ``{"error","error_code","request"}``: the body's
  code is mapped through ``ERROR_CODES`` (one table) whatever the status; only a
  body without a code falls back to the status (``hub.channels.http``);
* ``lookup``: the text's fingerprint (the post's idempotency marker: Weibo has
  no idempotency slot) and the send time are noted in ``channel_state`` before
  the post; afterwards the account's own timeline is paged back (``max_id``,
  100 a page) until a post older than the send time: found → the post; past the
  send time or the end of the timeline → None (conclusively not there); a
  timeline that stops short (restricted, page cap) → ``Ambiguous``, never None,
  so the engine does not resend on a guess (issue 18);
* 20019/20111/20017 (repeat content) on a send means "probably posted already":
  the send looks the post up at once and answers its receipt; only when the
  lookup cannot find it does ``DuplicateRejected`` go to the engine.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, ClassVar

import httpx

from hub import redact
from hub.channels.base import AccountConfig, ChannelBase, LinkUse
from hub.channels.boundary import artifact_file
from hub.channels.http import TRANSPORT_ERRORS, from_status, from_transport, retry_after_seconds, safe_message
from hub.channels.sendstate import SessionFactory, default_sessions, read_note, write_note
from hub.config import Account, HubConfig
from hub.deliverables import Artifact, DeliveryStatus, Receipt, Rendition, Target
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
from hub.timeutil import utcnow

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = httpx.Timeout(connect=5.0, read=20.0, write=20.0, pool=5.0)
SHARE = "/2/statuses/share.json"
DESTROY = "/2/statuses/destroy.json"
#: Weibo's hourly posting limits: without a Retry-After, wait this long
RATE_LIMIT_SECONDS = 600.0
#: the lookup reads the timeline this many posts a page (Weibo's maximum) ...
TIMELINE_PAGE = 100
#: ... and at most this many pages (a county account posts a few dozen a day)
TIMELINE_MAX_PAGES = 30
#: clock skew allowed between the hub's note of the send time and Weibo's ``created_at``
CLOCK_SKEW = timedelta(minutes=5)


def _rate(msg: str) -> ChannelError:
    return RateLimited(msg, None)


#: error_code → outcome. THE table (channel-apis.md §2.2); any other code is Permanent.
ERROR_CODES: dict[int, Any] = {
    20019: DuplicateRejected, 20111: DuplicateRejected, 20017: DuplicateRejected,
    10022: _rate, 10023: _rate, 10024: _rate, 20016: _rate,
    21327: AuthExpired, 21314: AuthExpired, 21315: AuthExpired, 21316: AuthExpired, 21317: AuthExpired,
    21332: AuthExpired, 21301: AuthExpired,
    10014: Permanent, 20012: Permanent, 20018: Permanent, 20021: Permanent,
    20005: Permanent, 20006: Permanent, 20007: Permanent,
    10001: Retryable, 10002: Retryable, 10009: Retryable,
}

_URL = re.compile(r"https?://\S+")


def fingerprint(text: str) -> str:
    """The post's identity for lookup: its text without links (Weibo may shorten them) and spacing."""
    return hashlib.sha256(" ".join(_URL.sub("", text).split()).encode("utf-8")).hexdigest()


def outcome_for_error(code: int, what: str, message: object, headers: httpx.Headers | None = None) -> ChannelError:
    msg = f"weibo {what}: error_code {code} {safe_message(message, 160)}".rstrip()
    outcome = ERROR_CODES.get(code, Permanent)(msg)
    assert isinstance(outcome, ChannelError)
    if isinstance(outcome, RateLimited):
        outcome.retry_after = retry_after_seconds(headers) or RATE_LIMIT_SECONDS
    outcome.vendor_code = code  # type: ignore[attr-defined]
    return outcome


def _capture(fn: Any) -> tuple[Any, BaseException | None]:
    try:
        return fn(), None
    except TRANSPORT_ERRORS as exc:
        return None, exc


class WeiboAccount(AccountConfig):
    """``[accounts.*]`` of a Weibo account (the app's token and its 安全域名)."""

    api_base: str = "https://api.weibo.com"
    access_token_env: str
    safe_domain: str = ""
    rip: str = "127.0.0.1"
    timeout: float | tuple[float, float] | None = None
    #: the app behind the console's OAuth re-authorisation (hub.channels.weibo_oauth)
    app_key: str = ""
    app_secret_env: str = ""
    required_env: ClassVar[tuple[str, ...]] = ("access_token_env",)
    optional_env: ClassVar[tuple[str, ...]] = ("app_secret_env",)


class WeiboChannel(ChannelBase):
    """Posts a rendered Weibo text (and picture) on the county's official Weibo account."""

    name: ClassVar[str] = "weibo"
    idempotent_upsert: ClassVar[bool] = False
    can_lookup: ClassVar[bool] = True
    rendition_kind: ClassVar[str] = "weibo"
    label: ClassVar[str] = "政务微博"
    links: ClassVar[LinkUse] = LinkUse.LINK
    account_model: ClassVar[type[AccountConfig]] = WeiboAccount
    sandbox: ClassVar[str | None] = "hub.sandbox.weibo"
    overridable: ClassVar[bool] = True
    new_media: ClassVar[bool] = True

    def __init__(self, config: HubConfig, settings: Settings, *, session_factory: SessionFactory | None = None) -> None:
        self.config, self.settings = config, settings
        self.sessions = session_factory or default_sessions()
        self._clients: dict[tuple[str, str], httpx.Client] = {}
        self._lock = threading.Lock()

    def _account(self, target: Target) -> tuple[str, Account]:
        account = self.config.accounts.get(target.account)
        if account is None or account.channel != self.name:
            raise ConfigError(f"channels.toml: targets.{target.name}: no weibo account {target.account!r}")
        return target.account, account

    def token(self, name: str, account: Account) -> str:
        """The account's access token: the one an admin re-authorised (``weibo_oauth``), else the env var's."""
        from hub.channels.weibo_oauth import stored_token

        return stored_token(self.sessions, name, account) or account.secret("access_token_env", name).value

    def http(self, target: Target) -> httpx.Client:
        """An httpx client for the account: base URL, OAuth2 header, explicit timeouts, no redirects."""
        name, account = self._account(target)
        token = self.token(name, account)
        redact.register_secret(token)
        base = str(account.get("api_base") or "https://api.weibo.com").rstrip("/")
        timeout = account.get("timeout")
        timeouts = httpx.Timeout(connect=float(timeout[0]), read=float(timeout[1]), write=float(timeout[1]),
                                 pool=float(timeout[0])) if isinstance(timeout, list) else DEFAULT_TIMEOUT
        return httpx.Client(base_url=base, timeout=timeouts, follow_redirects=False,
                            headers={"Authorization": f"OAuth2 {token}", "User-Agent": "hub/0.1"})

    def _client(self, target: Target) -> httpx.Client:
        """The account's pooled client (httpx clients are thread-safe; building one costs an SSL context)."""
        name, account = self._account(target)
        token = self.token(name, account)
        key = (name, hashlib.sha256(token.encode()).hexdigest())
        with self._lock:
            client = self._clients.get(key)
            if client is None or client.is_closed:
                client = self._clients[key] = self.http(target)
            return client

    def _request(self, target: Target, method: str, path: str, *, publishing: bool, **kwargs: Any) -> Any:
        """One call: transport errors, vendor error bodies and statuses → typed outcomes; the parsed JSON."""
        what = path.rsplit("/", 1)[-1]
        client = self._client(target)
        response, failure = _capture(lambda: client.request(method, path, **kwargs))
        if failure is not None:  # raised outside ``except``: no SDK exception kept as __context__
            raise from_transport("weibo", what, failure, publishing=publishing)
        assert isinstance(response, httpx.Response)
        try:
            body = response.json()
        except (ValueError, UnicodeDecodeError):
            body = None
        if isinstance(body, dict) and body.get("error_code") is not None:
            try:
                code = int(body["error_code"])  # sometimes a string
            except (TypeError, ValueError):
                code = -1
            raise outcome_for_error(code, what, body.get("error"), response.headers)
        if response.status_code >= 400:
            raise from_status("weibo", what, response.status_code, response.headers, publishing=publishing)
        if body is None:
            msg = f"weibo {what}: HTTP {response.status_code} with an unparsable answer"
            raise Ambiguous(msg + "; it may have been applied") if publishing else Retryable(msg)
        return body

    # --- send -----------------------------------------------------------------------------------

    @staticmethod
    def _post(rendition: Rendition) -> tuple[str, Artifact | None]:
        try:
            data = json.loads(artifact_file("weibo", rendition.main).read_text("utf-8"))
        except (OSError, ValueError) as exc:
            raise Permanent(f"weibo: rendition {rendition.main.sha256[:12]} unreadable: {type(exc).__name__}") from None
        text = data.get("status") or data.get("text") if isinstance(data, dict) else None
        if not isinstance(text, str) or not text.strip():
            raise Permanent("weibo: rendition has no status text")
        pic = rendition.files.get("pic") or rendition.files.get("picture") or rendition.files.get("image")
        return text, pic

    def send(self, rendition: Rendition, target: Target, key: str) -> Receipt:
        """share.json with the text (and picture): Receipt(provider_ref=idstr), confirmed on acceptance."""
        text, pic = self._post(rendition)
        _, account = self._account(target)
        form = {"status": text, "rip": str(account.get("rip") or "127.0.0.1")}
        note_key = f"weibo-send:{key}"
        # read before the note: a picture no store has (Permanent) or a store that is down (Retryable) ends it here
        pic_bytes = artifact_file("weibo", pic).read_bytes() if pic is not None else b""
        try:
            write_note(self.sessions, note_key, {"account": target.account, "fingerprint": fingerprint(text),
                                                 "links": _URL.findall(text), "at": utcnow().isoformat()})
        except Exception as exc:  # nothing posted yet
            raise Retryable(f"weibo: cannot note the post before sending ({type(exc).__name__})") from None
        try:
            if pic is not None:
                suffix = {"image/png": ".png", "image/gif": ".gif"}.get(pic.media_type, ".jpg")
                files = {"pic": (f"pic{suffix}", pic_bytes, pic.media_type)}
                body = self._request(target, "POST", SHARE, publishing=True, data=form, files=files)
            else:
                body = self._request(target, "POST", SHARE, publishing=True, data=form)
        except DuplicateRejected as exc:
            return self._already_posted(target, key, exc)
        idstr = str(body.get("idstr") or body.get("id") or "") if isinstance(body, dict) else ""
        if not idstr:
            raise Ambiguous("weibo share.json: HTTP 200 without a status id; it may have been posted")
        try:
            write_note(self.sessions, note_key, {"idstr": idstr})
        except Exception:
            log.warning("weibo: post %s accepted but the note could not be written", idstr)
        return Receipt(provider_ref=idstr, accepted_at=utcnow(), confirmed=True,
                       raw={"idstr": idstr, "created_at": body.get("created_at"),
                            "original_pic": body.get("original_pic")})

    # --- withdraw -----------------------------------------------------------------------------------

    def correct(self, rendition: Rendition, previous: Receipt, target: Target, key: str) -> Receipt:
        """更正: publish the corrected post (a new one; the platform has no edit for it).

        The old post is taken down by its own withdrawal step in the ledger, which the
        engine runs only once this correction has settled (``hub.app.lifecycle.correct``):
        each half keeps its own exactly-once key, retry and reconcile rules.
        """
        return self.send(rendition, target, key)

    def withdraw(self, receipt: Receipt, target: Target, key: str) -> Receipt:
        """Delete the post: ``POST 2/statuses/destroy.json`` (form ``id`` = the idstr the share returned).

        Idempotent: 20101 (target weibo does not exist) for the id we posted means it is already
        gone, so the engine may run it again after an unknown outcome without harm.
        """
        idstr = receipt.provider_ref
        try:
            self._request(target, "POST", DESTROY, publishing=True, data={"id": idstr})
        except Permanent as exc:
            if getattr(exc, "vendor_code", None) != 20101:
                raise
            return Receipt(provider_ref=f"deleted:{idstr}"[:200], accepted_at=utcnow(), confirmed=True,
                           raw={"idstr": idstr, "already_deleted": True})
        return Receipt(provider_ref=f"deleted:{idstr}"[:200], accepted_at=utcnow(), confirmed=True,
                       raw={"idstr": idstr})

    # --- status and lookup ----------------------------------------------------------------------------

    def status(self, receipt: Receipt, target: Target) -> DeliveryStatus:
        """count.json lists the post → DELIVERED; it omits deleted or hidden ids, which stay PENDING (unknown)."""
        try:
            rows = self._request(target, "GET", "/2/statuses/count.json", publishing=False,
                                 params={"ids": receipt.provider_ref})
        except Ambiguous as exc:
            raise Retryable(exc.message) from None
        found = any(str(r.get("idstr") or r.get("id")) == receipt.provider_ref for r in rows if isinstance(r, dict)) \
            if isinstance(rows, list) else False
        return DeliveryStatus.DELIVERED if found else DeliveryStatus.PENDING

    def counts(self, target: Target, ids: list[str]) -> dict[str, dict[str, int]]:
        """Reposts, comments and likes per idstr (≤ 100 ids; unknown ids are omitted by Weibo)."""
        rows = self._request(target, "GET", "/2/statuses/count.json", publishing=False,
                             params={"ids": ",".join(ids[:100])})
        return {str(r.get("idstr") or r.get("id")): {k: int(r.get(k) or 0) for k in ("reposts", "comments", "attitudes")}
                for r in rows if isinstance(r, dict)} if isinstance(rows, list) else {}

    def metrics(self, receipts: Sequence[Receipt], target: Target, *, now: datetime) -> dict[str, dict[str, int]]:
        """``statuses/count`` for up to 100 posts in one call: reposts → shares, comments, attitudes → likes."""
        counts = self.counts(target, [r.provider_ref for r in receipts])
        return {ref: {"shares": c["reposts"], "comments": c["comments"], "likes": c["attitudes"]}
                for ref, c in counts.items()}

    def token_info(self, target: Target) -> dict[str, Any]:
        """oauth2/get_token_info: ``expire_in`` seconds left, for the operator's re-authorisation alarm."""
        _, account = self._account(target)
        token = self.token(target.account, account)
        body = self._request(target, "POST", "/oauth2/get_token_info", publishing=False,
                             data={"access_token": token})
        return {k: body.get(k) for k in ("uid", "expire_in", "create_at", "scope")} if isinstance(body, dict) else {}

    def _already_posted(self, target: Target, key: str, duplicate: DuplicateRejected) -> Receipt:
        """Weibo refused the text as a repeat: find the earlier post of this key and answer its receipt.

        Why: 20019 after an ambiguous first attempt means the first one landed; the
        post is on the timeline and the ledger can say ``confirmed`` now. When the
        lookup cannot find it (or cannot tell), the refusal goes to the engine as
        ``DuplicateRejected`` (``unknown``, reconciled, never resent on a guess).
        """
        try:
            found = self.lookup(target, key)
        except ChannelError:
            found = None
        if found is None:
            raise duplicate
        return Receipt(provider_ref=found.provider_ref, accepted_at=utcnow(), confirmed=True,
                       raw={**found.raw, "after": f"error_code {getattr(duplicate, 'vendor_code', '')}".strip()})

    def lookup(self, target: Target, key: str) -> Receipt | None:
        """Did an earlier send with this key land? The noted idstr, or the post found on the own timeline.

        None only when the answer is certain: nothing was noted (never sent), or the
        timeline was read back past the send time (or to its end) without the
        post. A timeline that stops short raises ``Ambiguous``: the engine keeps
        the row ``unknown`` instead of resending on a guess.
        """
        note = read_note(self.sessions, f"weibo-send:{key}")
        if not note:
            return None
        if note.get("idstr"):
            return Receipt(provider_ref=str(note["idstr"]), accepted_at=utcnow(), confirmed=True,
                           raw={"from": "note"})
        sent_at = _parse_time(note.get("at"))
        max_id: int | None = None
        seen = 0
        for _ in range(TIMELINE_MAX_PAGES):
            params: dict[str, Any] = {"count": TIMELINE_PAGE, "trim_user": 1}
            if max_id is not None:
                params["max_id"] = max_id
            body = self._request(target, "GET", "/2/statuses/user_timeline.json", publishing=False, params=params)
            statuses = [st for st in (body.get("statuses") or []) if isinstance(st, dict)] \
                if isinstance(body, dict) else []
            total = body.get("total_number") if isinstance(body, dict) else None
            for status in statuses:
                if _is_the_post(status, note, sent_at):
                    idstr = str(status.get("idstr") or status.get("id"))
                    return Receipt(provider_ref=idstr, accepted_at=utcnow(), confirmed=True,
                                   raw={"from": "user_timeline", "created_at": status.get("created_at")})
            seen += len(statuses)
            if not statuses:
                if isinstance(total, int) and seen < total:
                    break  # the platform says there is more than it shows: restricted, not absent
                return None  # the end of the timeline
            oldest = _parse_time(statuses[-1].get("created_at"))
            if sent_at is not None and oldest is not None and oldest < sent_at - CLOCK_SKEW:
                return None  # read back past the send time: it is not there
            ids = [_int(st.get("idstr") or st.get("id")) for st in statuses]
            lowest = min((i for i in ids if i is not None), default=None)
            if lowest is None:
                break
            max_id = lowest - 1
        raise Ambiguous("weibo lookup: the timeline could not be read back to the send time; "
                        "not resending on a guess")


def _is_the_post(status: dict[str, Any], note: dict[str, Any], sent_at: datetime | None) -> bool:
    """The idempotency marker: the same text (links aside), not older than the send, and the same links.

    A corrected version of a record often has the same text with another short link:
    the fingerprint alone would take the old version's post for the new one. Links
    Weibo shortened (t.cn) cannot be compared; the time bound still holds then.
    """
    text = str(status.get("text") or "")
    if fingerprint(text) != note.get("fingerprint"):
        return False
    created = _parse_time(status.get("created_at"))
    if sent_at is not None and created is not None and created < sent_at - CLOCK_SKEW:
        return False
    noted, links = note.get("links"), _URL.findall(text)
    if noted and links and not any("t.cn/" in link for link in links):
        return sorted(links) == sorted(str(x) for x in noted)
    return True


def _parse_time(value: object) -> datetime | None:
    """An ISO time (the hub's note) or Weibo's ``Wed Oct 24 23:49:17 +0800 2012``; None when absent or odd."""
    if not isinstance(value, str) or not value:
        return None
    for parse in (datetime.fromisoformat, lambda v: datetime.strptime(v, "%a %b %d %H:%M:%S %z %Y")):
        try:
            parsed = parse(value)
        except ValueError:
            continue
        return parsed if parsed.tzinfo is not None else None
    return None


def _int(value: object) -> int | None:
    try:
        return int(str(value))
    except ValueError:
        return None


__all__ = ["ERROR_CODES", "WeiboChannel", "fingerprint", "outcome_for_error"]
