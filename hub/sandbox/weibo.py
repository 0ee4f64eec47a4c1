"""A wire-faithful stand-in of the Weibo open API (share.json, count.json, token info), for tests and the demo.

Faithful where the adapter depends on it (channel-apis.md §2): errors are HTTP
4xx with ``{"error","error_code","request"}`` (400, or 403 for the rate limits
10022-10024); the token is accepted as ``Authorization: OAuth2 <token>`` or an
``access_token`` parameter; ``status`` must carry a URL on the app's safe domain
(``options["weibo_safe_domain"]``, default ``127.0.0.1``) and fit 140 characters
(Weibo counts two ASCII characters as one, and a link as a fixed-length short
link); a picture needs multipart; repeating the same text is 20019; ``rip`` is
required; ``user_timeline.json`` returns the authorised user's own posts, newest
first, paged like the real API (``count`` ≤ 100, ``page``, ``since_id``,
``max_id``, ``trim_user``, with ``total_number``); the option
``weibo_timeline_limit`` (N) restricts it to the latest N posts, as the API does
for some apps, while ``total_number`` still counts them all.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
import secrets
import time
from datetime import datetime
from html import escape
from typing import Any
from urllib.parse import urlencode

from hub.config import HubConfig
from hub.sandbox import engagement
from hub.sandbox.core import Sandbox, SandboxRequest, SandboxResponse
from hub.sandbox.inbox import InboxSection, deleted_marker, mark_deleted, same_origin
from hub.timeutil import SHANGHAI

CHANNEL = "weibo"
#: a link counts like a t.cn short link (about 23 ASCII characters, i.e. 12 Chinese characters)
LINK_WEIGHT = 12
MAX_CHARS = 140
MAX_PIC = 5 * 1024 * 1024

ERRORS = {
    10001: "system error",
    10002: "service unavailable",
    10006: "source paramter (appkey) is missing",
    10009: "too many pending tasks, system is busy",
    10014: "insufficient app permissions",
    10016: "miss required parameter (%s) , see doc for more info",
    10017: "parameter (%s)'s value invalid",
    10022: "IP requests out of rate limit",
    10023: "User requests out of rate limit",
    10024: "User requests for (%s) out of rate limit",
    20005: "unsupported image type, only suport JPG, GIF, PNG",
    20006: "image size too large",
    20007: "does multipart has image",
    20012: "text too long, please input text less than 140 characters",
    20016: "out of limit",
    20017: "repeated weibo text",
    20018: "contain illegal website",
    20019: "repeat content",
    20101: "target weibo does not exist",
    20102: "not your own weibo",
    20021: "contain illegal content",
    20111: "repeated weibo text",
    21314: "token used",
    21315: "token expired",
    21316: "token revoked",
    21317: "token rejected",
    21327: "expired_token",
    21332: "invalid_access_token",
}

_URL = re.compile(r"https?://[^\s<>\"']+")


def error(req: SandboxRequest, code: int, detail: str = "") -> SandboxResponse:
    text = ERRORS.get(code, "error")
    if "%s" in text:
        text = text % detail
    status = 403 if code in (10022, 10023, 10024) else 400
    return SandboxResponse.json({"error": text, "error_code": code, "request": req.path}, status)


def state(sb: Sandbox) -> dict[str, Any]:
    data = sb.vendor(CHANNEL)
    for key in ("statuses", "images", "counters"):
        data.setdefault(key, {})
    return data


def weibo_length(text: str) -> int:
    """Characters as Weibo counts them: links as short links, two ASCII characters as one."""
    links = _URL.findall(text)
    rest = _URL.sub("", text)
    half = sum(1 for ch in rest if ord(ch) < 128)
    return math.ceil((len(rest) - half) + half / 2 + LINK_WEIGHT * len(links))


def uid_of(account: str) -> int:
    return 5000000000 + int(hashlib.sha256(account.encode()).hexdigest()[:8], 16) % 999999999


def created_at(ts: float) -> str:
    """Weibo's RFC-2822-ish timestamp in +0800, e.g. ``Wed Oct 24 23:49:17 +0800 2012``."""
    return datetime.fromtimestamp(ts, SHANGHAI).strftime("%a %b %d %H:%M:%S %z %Y")


def _token_of(req: SandboxRequest, form: dict[str, str]) -> str | None:
    auth = req.headers.get("Authorization", "")
    if auth.startswith("OAuth2 "):
        return auth[7:].strip()
    return req.arg("access_token") or form.get("access_token")


def _auth(req: SandboxRequest, sb: Sandbox, form: dict[str, str]) -> tuple[str | None, SandboxResponse | None]:
    """The account behind the token, or the error Weibo answers; then the fault knobs."""
    tok = _token_of(req, form)
    accounts = sb.credentials.get(CHANNEL, {})
    if not tok:
        return None, error(req, 10016, "access_token")
    account = next((acct for t, acct in accounts.items() if secrets.compare_digest(t, tok)), None)
    if account is None:
        return None, error(req, 21332)
    if sb.take_token_expiry(CHANNEL):
        return None, error(req, 21327)
    code = sb.take_error_code(CHANNEL, req.path)
    if code is not None:
        return None, error(req, code, "status")
    limited = sb.take_rate_limit(CHANNEL, 10023)
    if limited is not None:
        return None, error(req, limited, "statuses/share")
    return account, None


def _safe_domain_ok(sb: Sandbox, text: str) -> bool:
    domain = str(sb.options.get("weibo_safe_domain", "127.0.0.1")).lower()
    for url in _URL.findall(text):
        host = url.split("//", 1)[1].split("/", 1)[0].split(":", 1)[0].lower()
        if host == domain or host.endswith("." + domain):
            return True
    return False


def _image_type(data: bytes) -> str | None:
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    return None


def share(req: SandboxRequest, sb: Sandbox) -> SandboxResponse:
    """POST 2/statuses/share.json: form (status, rip) or multipart (status, rip, pic) → a status object."""
    parts = req.multipart()
    form = {k: v.decode("utf-8", "replace") for k, (fn, v) in parts.items() if fn is None} if parts else req.form()
    account, bad = _auth(req, sb, form)
    if bad:
        return bad
    assert account is not None
    text = form.get("status", "")
    if not text.strip():
        return error(req, 10016, "status")
    if not form.get("rip"):
        return error(req, 10016, "rip")
    if "pic" in form and not parts:
        return error(req, 20007)
    if weibo_length(text) > MAX_CHARS:
        return error(req, 20012)
    if not _safe_domain_ok(sb, text):
        return error(req, 20018)
    pic = parts.get("pic")
    if pic is not None:
        if _image_type(pic[1]) is None:
            return error(req, 20005)
        if len(pic[1]) >= MAX_PIC:
            return error(req, 20006)
    uid = uid_of(account)
    digest = hashlib.sha256(f"{uid}:{text}".encode()).hexdigest()
    now = time.time()
    with sb.lock:
        st = state(sb)
        if any(s["digest"] == digest for s in _live(st["statuses"]).values()):
            return error(req, 20019)
        sid = 4800000000000000 + int(st["counters"].get("status", 0)) * 7919 + secrets.randbelow(7000)
        st["counters"]["status"] = int(st["counters"].get("status", 0)) + 1
        idstr = str(sid)
        pic_url = None
        if pic is not None:
            sb.put_blob(f"weibo-{idstr}", pic[1])
            st["images"][idstr] = {"bytes": len(pic[1]), "type": _image_type(pic[1])}
            pic_url = f"{sb.url}/_sandbox/weibo-pic?id={idstr}"
        status: dict[str, Any] = {
            "created_at": created_at(now), "id": sid, "idstr": idstr, "mid": idstr, "text": text,
            "source": '<a href="http://app.weibo.com/t/feed/hub" rel="nofollow">政务公开发布平台</a>',
            "favorited": False, "truncated": False, "reposts_count": 0, "comments_count": 0,
            "attitudes_count": 0,
            "user": {"id": uid, "idstr": str(uid), "screen_name": account, "name": account},
        }
        if pic_url:
            status.update(thumbnail_pic=pic_url, bmiddle_pic=pic_url, original_pic=pic_url)
        st["statuses"][idstr] = {"status": status, "digest": digest, "uid": uid, "at": now, "account": account}
        sb.save()
    sb.record(CHANNEL, "status", account, {"idstr": idstr, "text": text, "pic_url": pic_url,
                                           "created_at": status["created_at"], "screen_name": account,
                                           "rip": form.get("rip")})
    return SandboxResponse.json(status)


def destroy(req: SandboxRequest, sb: Sandbox) -> SandboxResponse:
    """POST 2/statuses/destroy.json (form ``id``) → the deleted status object.

    Only the author may delete (20102); an id that does not exist or is already deleted answers
    20101 "target weibo does not exist", as Weibo does. Deleted posts leave count.json and the
    timeline, and the inbox shows them as deleted.
    """
    form = req.form()
    account, bad = _auth(req, sb, form)
    if bad:
        return bad
    assert account is not None
    idstr = (form.get("id") or req.arg("id") or "").strip()
    if not idstr:
        return error(req, 10016, "id")
    with sb.lock:
        entry = state(sb)["statuses"].get(idstr)
        if entry is None or entry.get("deleted_at"):
            return error(req, 20101)
        if entry["uid"] != uid_of(account):
            return error(req, 20102)
        entry["deleted_at"] = time.time()
        status = dict(entry["status"])
        sb.save()
    mark_deleted(sb, CHANNEL, "status", "idstr", idstr)
    sb.record(CHANNEL, "delete", account, {"idstr": idstr, "text": status.get("text")})
    return SandboxResponse.json(status)


def _live(statuses: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in statuses.items() if not v.get("deleted_at")}


def _counts(sb: Sandbox, idstr: str, entry: dict[str, Any]) -> dict[str, int]:
    """Counters that grow with the post's age (``hub.sandbox.engagement``: a test can compute them)."""
    hours = (engagement.now(sb) - float(entry["at"])) / 3600
    return {m: engagement.count(idstr, m, hours) for m in ("comments", "reposts", "attitudes")}


def count(req: SandboxRequest, sb: Sandbox) -> SandboxResponse:
    """GET 2/statuses/count.json?ids=a,b (≤ 100) → [{id, comments, reposts, attitudes}]; unknown ids omitted."""
    account, bad = _auth(req, sb, {})
    if bad:
        return bad
    ids = [i for i in (req.arg("ids") or "").split(",") if i]
    if not ids:
        return error(req, 10016, "ids")
    if len(ids) > 100:
        return error(req, 10017, "ids")
    with sb.lock:
        known = _live(state(sb)["statuses"])
        out = [{"id": int(known[i]["status"]["id"]), "idstr": i, **_counts(sb, i, known[i])} for i in ids if i in known]
    return SandboxResponse.json(out)


def _int_arg(req: SandboxRequest, name: str, default: int) -> int:
    raw = req.arg(name)
    return default if raw in (None, "") else int(str(raw))


def user_timeline(req: SandboxRequest, sb: Sandbox) -> SandboxResponse:
    """GET 2/statuses/user_timeline.json → the authorised user's own posts, newest first, one page of them.

    As the real API: ``since_id`` (only newer ids), ``max_id`` (ids ≤ it), then
    ``page`` of ``count`` (default 20, at most 100); ``trim_user=1`` puts the uid
    in place of the user object; ``next_cursor`` is the id to pass as ``max_id``
    for the following page (0 at the end).
    """
    account, bad = _auth(req, sb, {})
    if bad:
        return bad
    assert account is not None
    uid = uid_of(account)
    try:
        wanted = max(1, min(_int_arg(req, "count", 20), 100))
        page = max(1, _int_arg(req, "page", 1))
        since_id = _int_arg(req, "since_id", 0)
        max_id = _int_arg(req, "max_id", 0)
        trim = _int_arg(req, "trim_user", 0) == 1
    except ValueError:
        return error(req, 10017, "count/page/since_id/max_id")
    limit = sb.options.get("weibo_timeline_limit")
    with sb.lock:
        mine = sorted((s for s in _live(state(sb)["statuses"]).values() if s["uid"] == uid),
                      key=lambda s: int(s["status"]["id"]), reverse=True)
        visible = mine[:int(limit)] if limit else mine
        chosen = [s for s in visible if int(s["status"]["id"]) > since_id
                  and (not max_id or int(s["status"]["id"]) <= max_id)]
        window = chosen[(page - 1) * wanted:page * wanted]
        statuses = [dict(s["status"], user=s["uid"]) if trim else s["status"] for s in window]
        more = len(chosen) > page * wanted
    next_cursor = int(window[-1]["status"]["id"]) - 1 if window and more else 0
    previous_cursor = int(window[0]["status"]["id"]) if window and (page > 1 or max_id) else 0
    return SandboxResponse.json({"statuses": statuses, "total_number": len(mine),
                                 "previous_cursor": previous_cursor, "next_cursor": next_cursor})


def get_token_info(req: SandboxRequest, sb: Sandbox) -> SandboxResponse:
    """POST oauth2/get_token_info (form access_token) → {uid, appkey, scope, create_at, expire_in}."""
    form = req.form()
    tok = form.get("access_token") or req.arg("access_token")
    accounts = sb.credentials.get(CHANNEL, {})
    account = next((acct for t, acct in accounts.items() if tok and secrets.compare_digest(t, tok)), None)
    if account is None:
        return error(req, 21332)
    if sb.take_token_expiry(CHANNEL):
        return error(req, 21327)
    expire_in = int(sb.options.get("weibo_token_expire_in", 157679999))
    return SandboxResponse.json({"uid": uid_of(account), "appkey": "sandbox", "scope": "",
                                 "create_at": int(time.time()) - 3600, "expire_in": expire_in})


# --- OAuth 2.0 authorisation code flow (oauth2/authorize, oauth2/access_token) --------------------------

OAUTH_ERRORS = {
    21322: ("redirect_uri_mismatch", "重定向地址不匹配"),
    21323: ("invalid_request", "请求不合法"),
    21324: ("invalid_client", "client_id或client_secret参数无效"),
    21325: ("invalid_grant", "提供的Access Grant是无效的、过期的或已撤销的"),
}
CODE_TTL_S = 600


def oauth_error(req: SandboxRequest, code: int) -> SandboxResponse:
    """Weibo's OAuth error body: ``{"error", "error_code", "request", "error_uri", "error_description"}`` on 400."""
    name, description = OAUTH_ERRORS[code]
    return SandboxResponse.json({"error": name, "error_code": code, "request": req.path,
                                 "error_uri": req.path, "error_description": description}, 400)


def _apps(sb: Sandbox) -> dict[str, str]:
    """app key → app secret of the registered apps (``credentials["weibo_apps"]``)."""
    return sb.credentials.get("weibo_apps", {})


def _accounts(sb: Sandbox) -> list[str]:
    return sorted(set(sb.credentials.get(CHANNEL, {}).values()) | set(sb.options.get("weibo_accounts", [])))


def authorize(req: SandboxRequest, sb: Sandbox) -> SandboxResponse:
    """GET oauth2/authorize: the page where the account holder signs in and grants the app (here: picks the account).

    POST (the page's button) answers 302 to ``redirect_uri?code=…&state=…``, as Weibo does.
    """
    src = req.form() if req.method == "POST" else {}

    def value(k: str) -> str:
        return src.get(k) or req.arg(k) or ""

    client_id, redirect_uri, state_ = value("client_id"), value("redirect_uri"), value("state")
    if client_id not in _apps(sb):
        return oauth_error(req, 21324)
    if not redirect_uri.startswith(("http://", "https://")) or value("response_type") not in ("", "code"):
        return oauth_error(req, 21323)
    if req.method == "POST":
        account = value("account")
        if account not in _accounts(sb):
            return oauth_error(req, 21323)
        code = secrets.token_hex(16)
        with sb.lock:
            state(sb).setdefault("codes", {})[code] = {"client_id": client_id, "redirect_uri": redirect_uri,
                                                      "account": account, "at": time.time()}
        sep = "&" if "?" in redirect_uri else "?"
        target = f"{redirect_uri}{sep}{urlencode({'code': code, **({'state': state_} if state_ else {})})}"
        return SandboxResponse(302, b"", "text/plain", {"Location": target})
    options = "".join(f'<option value="{escape(a)}">{escape(a)}</option>' for a in _accounts(sb))
    hidden = "".join(f'<input type="hidden" name="{k}" value="{escape(v)}">' for k, v in (
        ("client_id", client_id), ("redirect_uri", redirect_uri), ("state", state_), ("response_type", "code")))
    return SandboxResponse.html(
        f"<!DOCTYPE html><html lang=zh-CN><head><meta charset=utf-8><title>微博授权（沙箱）</title></head><body>"
        f"<h1>授权应用访问你的微博帐号</h1><p>应用 {escape(client_id)} 请求发布微博等权限。</p>"
        f'<form method="post" action="/oauth2/authorize">{hidden}'
        f'<label>帐号 <select name="account">{options}</select></label> '
        f'<button type="submit" id="authorize">授权</button></form></body></html>')


def access_token(req: SandboxRequest, sb: Sandbox) -> SandboxResponse:
    """POST oauth2/access_token (grant_type=authorization_code): a code once → a new access token.

    Answers ``{"access_token", "remind_in", "expires_in", "uid", "isRealName"}``; the new token
    is accepted by the other routes from then on (the old one keeps working until it expires, as on Weibo).
    """
    form = req.form()
    client_id, secret = form.get("client_id") or req.arg("client_id") or "", form.get("client_secret") or ""
    known = _apps(sb).get(client_id)
    if known is None or not secrets.compare_digest(known, secret):
        return oauth_error(req, 21324)
    if (form.get("grant_type") or req.arg("grant_type")) != "authorization_code":
        return oauth_error(req, 21323)
    code = form.get("code") or req.arg("code") or ""
    with sb.lock:
        grant = state(sb).setdefault("codes", {}).pop(code, None)
    if grant is None or grant["client_id"] != client_id or time.time() - grant["at"] > CODE_TTL_S:
        return oauth_error(req, 21325)
    if (form.get("redirect_uri") or req.arg("redirect_uri")) != grant["redirect_uri"]:
        return oauth_error(req, 21322)
    token = "2.00" + secrets.token_hex(16)
    with sb.lock:
        sb.credentials.setdefault(CHANNEL, {})[token] = grant["account"]
    expires_in = int(sb.options.get("weibo_token_expire_in", 157679999))
    return SandboxResponse.json({"access_token": token, "remind_in": str(expires_in), "expires_in": expires_in,
                                 "uid": str(uid_of(grant["account"])), "isRealName": "true"})


def picture(req: SandboxRequest, sb: Sandbox) -> SandboxResponse:
    idstr = req.arg("id") or ""
    with sb.lock:
        img = state(sb)["images"].get(idstr)
    data = sb.get_blob(f"weibo-{idstr}") if img is not None else None
    if img is None or data is None:
        return SandboxResponse.json({"error": "no such picture"}, 404)
    return SandboxResponse(200, data, img["type"] or "application/octet-stream")


def register(sb: Sandbox) -> None:
    """Add the Weibo routes to the sandbox (safe domain: the option, else the configured account's)."""
    if "weibo_safe_domain" not in sb.options:
        from hub.config import get_config
        from hub.errors import ConfigError

        try:
            domains = [str(a.get("safe_domain")) for a in get_config().accounts.values()
                       if a.channel == CHANNEL and a.get("safe_domain")]
        except ConfigError:
            domains = []
        if domains:
            sb.options["weibo_safe_domain"] = domains[0]
    sb.route("POST", "/2/statuses/share.json", CHANNEL, share)
    sb.route("GET", "/2/statuses/count.json", CHANNEL, count)
    sb.route("POST", "/2/statuses/destroy.json", CHANNEL, destroy)
    sb.route("GET", "/2/statuses/user_timeline.json", CHANNEL, user_timeline)
    sb.route("POST", "/oauth2/get_token_info", CHANNEL, get_token_info)
    sb.route("GET", "/oauth2/authorize", CHANNEL, authorize)
    sb.route("POST", "/oauth2/authorize", CHANNEL, authorize)
    sb.route("POST", "/oauth2/access_token", CHANNEL, access_token)
    sb.route("GET", "/_sandbox/weibo-pic", "_sandbox", picture)


def _posts(msgs: list[dict[str, Any]]) -> str:
    out = []
    for m in msgs:
        c = m["content"]
        pic = f'<img alt="配图" src="{escape(same_origin(str(c["pic_url"])))}">' if c.get("pic_url") else ""
        out.append(f'<div class="card{" gone" if c.get("deleted_at") else ""}">{deleted_marker(c)}<div class="who">{escape(str(c.get("screen_name") or m["account"]))}</div>'
                   f'<div class="when">{escape(str(c.get("created_at") or ""))} · idstr {escape(str(c.get("idstr")))}</div>'
                   f'<p>{escape(str(c.get("text") or ""))}</p>{pic}</div>')
    return "".join(out) or '<p class="meta">no Weibo post yet</p>'


def inbox_section(msgs: list[dict[str, Any]]) -> InboxSection:
    """The inbox's Weibo part: each post as a card."""
    posts = [m for m in msgs if m["channel"] == CHANNEL and m["kind"] == "status"]
    return InboxSection("微博 (Weibo)", posts, _posts(posts))


def accepted_credentials(config: HubConfig) -> dict[str, dict[str, str]]:
    """``{"weibo": {access_token: account}, "weibo_apps": {app_key: app_secret}}`` from what the adapter reads.

    The app (key and secret) is what the console's OAuth re-authorisation signs in with.
    """
    creds: dict[str, str] = {}
    apps: dict[str, str] = {}
    for name, account in config.accounts.items():
        if account.channel == CHANNEL:
            token = os.environ.get(str(account.get("access_token_env", "")))
            if token:
                creds[token] = name
            app_secret = os.environ.get(str(account.get("app_secret_env", "")))
            if account.get("app_key") and app_secret:
                apps[str(account.get("app_key"))] = app_secret
    return {CHANNEL: creds, "weibo_apps": apps}


def options(config: HubConfig) -> dict[str, Any]:
    """The app's 安全域名 (links in a post must point at it)."""
    out: dict[str, Any] = {}
    for account in config.accounts.values():
        if account.channel == CHANNEL and account.get("safe_domain"):
            out["weibo_safe_domain"] = str(account.get("safe_domain"))
    return out
