"""A wire-faithful stand-in of the WeChat official-account API (``/cgi-bin/...``), for tests and the demo.

Faithful where the adapter's correctness depends on it (channel-apis.md §1):
errors are ``{"errcode","errmsg"}`` bodies on HTTP 200; JSON bodies arrive
without a Content-Type; uploads are multipart field ``media``; tokens expire and
an unknown or expired token answers 40001/42001; ``cgi-bin/token`` and
``cgi-bin/stable_token`` keep separate tokens, and ``stable_token`` in normal
mode returns the same token until the last refresh window before expiry;
``freepublish/submit`` only *submits* (status 1 until ``publish_delay`` has passed,
then 0 or the configured failure ``publish_status``); when
``options["wechat_callback_url"]`` is set, the PUBLISHJOBFINISH event XML is
POSTed there, signed with ``options["wechat_callback_token"]`` as WeChat signs
its server callbacks; with ``options["wechat_callback_aes_key"]`` (the account's
EncodingAESKey) it goes in the encrypted safe-mode envelope (``wechatpy.crypto``),
with ``msg_signature`` and ``encrypt_type=aes`` in the query, as WeChat does.

What is deliberately simpler than the real thing: one article per draft is the
common case but up to 8 are accepted; image URLs point back at the sandbox
(``/_sandbox/media?id=``) so the inbox can show them; quotas are only the
fault knobs (``rate_limit_rate`` → 45009, or ``rate_limit_code`` e.g. 45011).
"""

from __future__ import annotations

import hashlib
import html
import os
import re
import secrets
import threading
import time
import urllib.request
from datetime import datetime, timedelta
from html import escape
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from hub.config import HubConfig
from hub.sandbox import engagement
from hub.sandbox.core import Sandbox, SandboxRequest, SandboxResponse
from hub.sandbox.inbox import InboxSection, deleted_marker, mark_deleted, same_origin, when
from hub.timeutil import SHANGHAI

CHANNEL = "wechat"
TOKEN_TTL = 7200
BASE = "/cgi-bin/"

ERRMSG = {
    -1: "system error",
    40001: "invalid credential, access_token is invalid or not latest",
    40002: "invalid grant_type",
    40005: "invalid file type",
    40006: "invalid media size",
    40007: "invalid media_id",
    40009: "invalid image size",
    40013: "invalid appid",
    40014: "invalid access_token",
    40035: "invalid parameter",
    40125: "invalid appsecret",
    40164: "invalid ip, not in whitelist",
    41001: "access_token missing",
    41005: "media data missing",
    42001: "access_token expired",
    44003: "empty news data",
    44004: "empty content",
    45001: "media size out of limit",
    45002: "content size out of limit",
    45003: "title size out of limit",
    45004: "description size out of limit",
    45009: "reach max api daily quota limit",
    45011: "api minute-quota reach limit, must slower, retry next minute",
    45028: "has no masssend quota",
    45065: "clientmsgid exist",
    45110: "author size out of limit",
    47001: "data format error",
    48001: "api unauthorized",
    53500: "publish banned",
    53501: "publish too frequently",
    53502: "invalid publish_id",
    53600: "invalid article_id",
    61500: "date format error",
    61501: "date range error",
}


def err(code: int, extra: str = "") -> SandboxResponse:
    """An error as WeChat sends it: HTTP 200 and an errcode body."""
    msg = ERRMSG.get(code, "error")
    rid = secrets.token_hex(4)
    return SandboxResponse.json({"errcode": code, "errmsg": f"{msg}{(': ' + extra) if extra else ''} rid: {rid}"})


def ok(**fields: Any) -> SandboxResponse:
    return SandboxResponse.json({"errcode": 0, "errmsg": "ok", **fields})


def state(sb: Sandbox) -> dict[str, Any]:
    data = sb.vendor(CHANNEL)
    for key in ("tokens", "stable", "media", "images", "drafts", "publishes", "articles", "counters"):
        data.setdefault(key, {})
    return data


def _ttl(sb: Sandbox) -> float:
    return float(sb.options.get("wechat_token_ttl", TOKEN_TTL))


def _refresh_window(ttl: float) -> float:
    """stable_token normal mode hands out a new token this long before the old one expires."""
    return min(300.0, ttl / 10)


def _next_id(sb: Sandbox, name: str, start: int) -> int:
    counters = state(sb)["counters"]
    counters[name] = int(counters.get(name, start)) + 1
    return int(counters[name])


def _check_secret(sb: Sandbox, appid: str | None, secret: str | None) -> SandboxResponse | None:
    accounts = sb.credentials.get(CHANNEL, {})
    if not appid or appid not in accounts:
        return err(40013)
    if not secret or not secrets.compare_digest(accounts[appid], secret):
        return err(40125)
    return None


def _new_token(sb: Sandbox, appid: str, kind: str, ttl: float) -> str:
    token = secrets.token_urlsafe(48)
    state(sb)["tokens"][token] = {"appid": appid, "kind": kind, "expires_at": time.time() + ttl}
    return token


def token(req: SandboxRequest, sb: Sandbox) -> SandboxResponse:
    """GET cgi-bin/token?grant_type=client_credential&appid=&secret= (each call issues a new token)."""
    if req.arg("grant_type") != "client_credential":
        return err(40002)
    appid = req.arg("appid")
    bad = _check_secret(sb, appid, req.arg("secret"))
    if bad:
        return bad
    assert appid is not None
    with sb.lock:
        ttl = _ttl(sb)
        # a new cgi-bin/token invalidates the previous one of this appid (after a grace period we skip)
        tokens = state(sb)["tokens"]
        for tok in [t for t, v in tokens.items() if v["appid"] == appid and v["kind"] == "token"]:
            del tokens[tok]
        tok = _new_token(sb, appid, "token", ttl)
        sb.save()
    return SandboxResponse.json({"access_token": tok, "expires_in": int(ttl)})


def stable_token(req: SandboxRequest, sb: Sandbox) -> SandboxResponse:
    """POST cgi-bin/stable_token {grant_type, appid, secret, force_refresh}."""
    try:
        body = req.json()
    except ValueError:
        return err(47001)
    if not isinstance(body, dict) or body.get("grant_type") != "client_credential":
        return err(40002)
    appid = body.get("appid")
    bad = _check_secret(sb, appid, body.get("secret"))
    if bad:
        return bad
    with sb.lock:
        ttl, now = _ttl(sb), time.time()
        st = state(sb)
        current = st["stable"].get(appid)
        info = st["tokens"].get(current) if current else None
        fresh = info is not None and info["expires_at"] - now > _refresh_window(ttl)
        if body.get("force_refresh") or not fresh:
            if body.get("force_refresh") and current:
                st["tokens"].pop(current, None)  # force_refresh invalidates the old token at once
            current = _new_token(sb, str(appid), "stable", ttl)
            st["stable"][appid] = current
            info = st["tokens"][current]
        assert info is not None and current is not None
        st["counters"][f"stable_token:{appid}"] = int(st["counters"].get(f"stable_token:{appid}", 0)) + 1
        sb.save()
        expires_in = max(1, int(info["expires_at"] - now))
    return SandboxResponse.json({"access_token": current, "expires_in": expires_in})


def _auth(req: SandboxRequest, sb: Sandbox) -> tuple[str | None, SandboxResponse | None]:
    """The appid behind the request's access_token, or the error WeChat answers; then the fault knobs."""
    tok = req.arg("access_token")
    if not tok:
        return None, err(41001)
    with sb.lock:
        info = state(sb)["tokens"].get(tok)
    if info is None:
        return None, err(40001)
    if info["expires_at"] <= time.time():
        return None, err(42001)
    if sb.take_token_expiry(CHANNEL):
        return None, err(42001)
    code = sb.take_error_code(CHANNEL, req.path)
    if code is not None:
        return None, err(code)
    limited = sb.take_rate_limit(CHANNEL, 45009)
    if limited is not None:
        return None, err(limited)
    return str(info["appid"]), None


def _media_url(sb: Sandbox, media_id: str) -> str:
    return f"{sb.url}/_sandbox/media?id={media_id}"


def _image_type(data: bytes) -> str | None:
    if data.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if data.startswith(b"BM"):
        return "bmp"
    return None


def _store_image(sb: Sandbox, appid: str, data: bytes, kind: str, filename: str | None) -> tuple[str, str]:
    media_id = secrets.token_urlsafe(24)
    url = _media_url(sb, media_id)
    sb.put_blob(f"wechat-{media_id}", data)
    with sb.lock:
        state(sb)["images"][media_id] = {"appid": appid, "kind": kind, "filename": filename,
                                         "bytes": len(data), "type": _image_type(data)}
    return media_id, url


def add_material(req: SandboxRequest, sb: Sandbox) -> SandboxResponse:
    """POST material/add_material?type=thumb|image, multipart ``media`` → {media_id, url} (permanent)."""
    appid, bad = _auth(req, sb)
    if bad:
        return bad
    assert appid is not None
    kind = req.arg("type")
    if kind not in ("thumb", "image"):
        return err(40004 if kind else 40035)
    parts = req.multipart()
    if "media" not in parts:
        return err(41005)
    filename, data = parts["media"]
    itype = _image_type(data)
    if kind == "thumb":
        if itype != "jpg":
            return err(40005, "thumb must be JPG")
        if len(data) > 64 * 1024:
            return err(40009, "thumb larger than 64KB")
    else:
        if itype is None:
            return err(40005)
        if len(data) > 10 * 1024 * 1024:
            return err(40009)
    media_id, url = _store_image(sb, appid, data, kind, filename)
    with sb.lock:
        state(sb)["media"][media_id] = {"appid": appid, "type": kind, "url": url}
    sb.record(CHANNEL, f"material:{kind}", appid, {"media_id": media_id, "url": url, "filename": filename,
                                                    "bytes": len(data)})
    return SandboxResponse.json({"media_id": media_id, "url": url, "item": []})


def uploadimg(req: SandboxRequest, sb: Sandbox) -> SandboxResponse:
    """POST media/uploadimg, multipart ``media`` (jpg/png, < 1 MB) → {url}."""
    appid, bad = _auth(req, sb)
    if bad:
        return bad
    assert appid is not None
    parts = req.multipart()
    if "media" not in parts:
        return err(41005)
    filename, data = parts["media"]
    if _image_type(data) not in ("jpg", "png"):
        return err(40005, "only jpg/png")
    if len(data) >= 1024 * 1024:
        return err(40009, "image must be smaller than 1MB")
    media_id, url = _store_image(sb, appid, data, "uploadimg", filename)
    sb.record(CHANNEL, "uploadimg", appid, {"url": url, "filename": filename, "bytes": len(data)})
    return SandboxResponse.json({"url": url})


_SCRIPT = re.compile(r"<script\b.*?</script\s*>", re.IGNORECASE | re.DOTALL)
_IMG = re.compile(r"<img\b[^>]*>", re.IGNORECASE)
_SRC = re.compile(r"""\bsrc\s*=\s*["']([^"']*)["']""", re.IGNORECASE)


def _clean_content(sb: Sandbox, appid: str, content: str) -> str:
    """What WeChat does to article HTML: scripts removed, images not from uploadimg filtered out."""
    content = _SCRIPT.sub("", content)
    images = state(sb)["images"]
    own = {_media_url(sb, mid) for mid, v in images.items() if v["appid"] == appid}

    def keep(m: re.Match[str]) -> str:
        src = _SRC.search(m.group(0))
        return m.group(0) if src and html.unescape(src.group(1)) in own else ""

    return _IMG.sub(keep, content)


def _check_article(sb: Sandbox, appid: str, art: Any) -> SandboxResponse | None:
    if not isinstance(art, dict):
        return err(44003)
    title, content = art.get("title"), art.get("content")
    if not isinstance(title, str) or not title.strip():
        return err(44003, "title missing")
    if not isinstance(content, str) or not content.strip():
        return err(44004)
    if len(title) > 32:
        return err(45003)
    if len(str(art.get("author") or "")) > 16:
        return err(45110)
    if len(str(art.get("digest") or "")) > 128:
        return err(45004)
    if len(content) >= 20000 or len(content.encode("utf-8")) >= 1024 * 1024:
        return err(45002)
    if len(str(art.get("content_source_url") or "").encode("utf-8")) > 1024:
        return err(40035, "content_source_url")
    if art.get("article_type", "news") == "news":
        media = state(sb)["media"].get(str(art.get("thumb_media_id") or ""))
        if media is None or media["appid"] != appid:
            return err(40007, "thumb_media_id")
    return None


def draft_add(req: SandboxRequest, sb: Sandbox) -> SandboxResponse:
    """POST draft/add {"articles": [...]} → {media_id} (the draft id)."""
    appid, bad = _auth(req, sb)
    if bad:
        return bad
    assert appid is not None
    try:
        body = req.json()
    except ValueError:
        return err(47001)
    articles = body.get("articles") if isinstance(body, dict) else None
    if not isinstance(articles, list) or not articles or len(articles) > 8:
        return err(44003)
    for art in articles:
        bad = _check_article(sb, appid, art)
        if bad:
            return bad
    cleaned = []
    with sb.lock:
        for art in articles:
            kept = {k: art.get(k) for k in ("article_type", "title", "author", "digest", "content",
                                            "content_source_url", "thumb_media_id", "need_open_comment",
                                            "only_fans_can_comment") if k in art}
            kept["content"] = _clean_content(sb, appid, str(art["content"]))
            if kept.get("thumb_media_id"):
                kept["thumb_url"] = state(sb)["media"][kept["thumb_media_id"]]["url"]
            cleaned.append(kept)
        media_id = secrets.token_urlsafe(32)
        state(sb)["drafts"][media_id] = {"appid": appid, "articles": cleaned, "created": int(time.time())}
        sb.save()
    sb.record(CHANNEL, "draft", appid, {"media_id": media_id, "title": cleaned[0]["title"]})
    return SandboxResponse.json({"media_id": media_id})


def draft_get(req: SandboxRequest, sb: Sandbox) -> SandboxResponse:
    """POST draft/get {media_id} → {news_item: [...]}; 40007 once the draft was published."""
    appid, bad = _auth(req, sb)
    if bad:
        return bad
    try:
        media_id = str(req.json().get("media_id"))
    except (ValueError, AttributeError):
        return err(47001)
    with sb.lock:
        draft = state(sb)["drafts"].get(media_id)
    if draft is None or draft["appid"] != appid:
        return err(40007)
    return SandboxResponse.json({"news_item": draft["articles"]})


def _publish_view(sb: Sandbox, pub: dict[str, Any]) -> dict[str, Any]:
    """A publish task as freepublish/get shows it now (status 1 until the delay has passed)."""
    if time.time() < pub["final_at"]:
        return {"publish_id": pub["publish_id"], "publish_status": 1}
    status = int(pub["final_status"])
    view: dict[str, Any] = {"publish_id": pub["publish_id"], "publish_status": status}
    if status in (0, 5, 6):
        view["article_id"] = pub["article_id"]
        view["article_detail"] = {"count": len(pub["articles"]),
                                  "item": [{"idx": i + 1, "article_url": a["url"]}
                                           for i, a in enumerate(pub["articles"])]}
    if status in (2, 3, 4):
        view["fail_idx"] = [1]
    if status == 0:
        _settle(sb, pub)
    return view


def _settle(sb: Sandbox, pub: dict[str, Any]) -> None:
    """Record a successful publication in the inbox exactly once (the article is now public)."""
    with sb.lock:
        if pub.get("settled"):
            return
        pub["settled"] = True
        state(sb)["articles"][pub["article_id"]] = {"appid": pub["appid"], "publish_id": pub["publish_id"],
                                                    "articles": pub["articles"], "update_time": int(time.time())}
    for art in pub["articles"]:
        sb.record(CHANNEL, "article", pub["appid"],
                  {"title": art.get("title"), "author": art.get("author"), "digest": art.get("digest"),
                   "content": art.get("content"), "content_source_url": art.get("content_source_url"),
                   "thumb_url": art.get("thumb_url"), "article_url": art["url"],
                   "publish_id": pub["publish_id"], "article_id": pub["article_id"]})


def freepublish_submit(req: SandboxRequest, sb: Sandbox) -> SandboxResponse:
    """POST freepublish/submit {media_id} → {errcode 0, publish_id, msg_data_id} (submitted, not yet published)."""
    appid, bad = _auth(req, sb)
    if bad:
        return bad
    assert appid is not None
    try:
        media_id = str(req.json().get("media_id"))
    except (ValueError, AttributeError):
        return err(47001)
    faults = sb.fault(CHANNEL)
    with sb.lock:
        draft = state(sb)["drafts"].get(media_id)
        if draft is None or draft["appid"] != appid:
            return err(40007)
        del state(sb)["drafts"][media_id]  # a submitted draft leaves the draft box
        publish_id = str(_next_id(sb, "publish_id", 2247480000))
        msg_data_id = str(_next_id(sb, "msg_data_id", 2247490000))
        article_id = secrets.token_urlsafe(24)
        articles = []
        for i, art in enumerate(draft["articles"]):
            sn = hashlib.sha256(f"{article_id}:{i}".encode()).hexdigest()[:16]
            articles.append({**art, "url": f"{sb.url}/_sandbox/article?id={article_id}&idx={i + 1}&sn={sn}"})
        pub = {"appid": appid, "publish_id": publish_id, "msg_data_id": msg_data_id, "article_id": article_id,
               "draft_media_id": media_id, "articles": articles, "submitted_at": time.time(),
               "final_at": time.time() + faults.publish_delay, "final_status": faults.publish_status}
        state(sb)["publishes"][publish_id] = pub
        sb.save()
    sb.record(CHANNEL, "publish", appid, {"publish_id": publish_id, "media_id": media_id,
                                          "title": articles[0].get("title")})
    _schedule_event(sb, pub, faults.publish_delay)
    return ok(publish_id=publish_id, msg_data_id=msg_data_id)


def freepublish_get(req: SandboxRequest, sb: Sandbox) -> SandboxResponse:
    """POST freepublish/get {publish_id} → publish_status 0-6 (1 while publishing)."""
    appid, bad = _auth(req, sb)
    if bad:
        return bad
    try:
        publish_id = str(req.json().get("publish_id"))
    except (ValueError, AttributeError):
        return err(47001)
    with sb.lock:
        pub = state(sb)["publishes"].get(publish_id)
    if pub is None or pub["appid"] != appid:
        return err(53502)
    return SandboxResponse.json(_publish_view(sb, pub))


def freepublish_batchget(req: SandboxRequest, sb: Sandbox) -> SandboxResponse:
    """POST freepublish/batchget {offset, count, no_content} → the account's successfully published articles."""
    appid, bad = _auth(req, sb)
    if bad:
        return bad
    try:
        body = req.json()
        offset, count = int(body.get("offset", 0)), int(body.get("count", 20))
        no_content = bool(int(body.get("no_content", 0)))
    except (ValueError, AttributeError, TypeError):
        return err(47001)
    if count < 1 or count > 20:
        return err(40035, "count")
    with sb.lock:
        for pub in list(state(sb)["publishes"].values()):
            if pub["appid"] == appid:
                _publish_view(sb, pub)  # settle finished tasks
        mine = sorted(((aid, a) for aid, a in state(sb)["articles"].items() if a["appid"] == appid),
                      key=lambda x: x[1]["update_time"], reverse=True)
    items = []
    for aid, a in mine[offset:offset + count]:
        news = [{k: v for k, v in art.items() if not (no_content and k == "content")} for art in a["articles"]]
        items.append({"article_id": aid, "content": {"news_item": news}, "update_time": a["update_time"]})
    return SandboxResponse.json({"total_count": len(mine), "item_count": len(items), "item": items})


def freepublish_delete(req: SandboxRequest, sb: Sandbox) -> SandboxResponse:
    """POST freepublish/delete {article_id, index} → errcode 0: the published article is taken down.

    ``index`` is 1-based; 0 or absent deletes every article of the publication (what the hub
    sends). An unknown article_id, another account's, or one already deleted answers 53600
    (invalid article_id), as WeChat does. Afterwards freepublish/get reports publish_status 5
    (deleted by the publisher), batchget no longer lists it, and the inbox shows it deleted.
    """
    appid, bad = _auth(req, sb)
    if bad:
        return bad
    assert appid is not None
    try:
        body = req.json()
        article_id = str(body.get("article_id") or "")
        index = int(body.get("index") or 0)
    except (ValueError, AttributeError, TypeError):
        return err(47001)
    if not article_id:
        return err(47001)
    with sb.lock:
        art = state(sb)["articles"].get(article_id)
        if art is None or art["appid"] != appid:
            return err(53600)
        if index < 0 or index > len(art["articles"]):
            return err(40035, "index")
        del state(sb)["articles"][article_id]
        pub = state(sb)["publishes"].get(art["publish_id"])
        if pub is not None:
            pub["final_status"] = 5
        sb.save()
    mark_deleted(sb, CHANNEL, "article", "article_id", article_id)
    sb.record(CHANNEL, "delete", appid, {"article_id": article_id, "index": index,
                                         "title": art["articles"][0].get("title") if art["articles"] else None})
    return ok()


# --- datacube (article statistics) ---------------------------------------------------------------

#: datacube/getarticletotal: details cover the publication day and the next six
ARTICLE_TOTAL_DAYS = 7
#: the datacube figures of one article, wire name → the growth curve's metric
DATACUBE_FIELDS = {"int_page_read_count": "reads", "int_page_read_user": "read_users",
                   "share_count": "shares", "share_user": "share_users",
                   "add_to_fav_count": "favorites", "add_to_fav_user": "favorite_users"}


def _day(ts: float) -> str:
    return datetime.fromtimestamp(ts, SHANGHAI).strftime("%Y-%m-%d")


def _day_end(day: str) -> float:
    start = datetime.strptime(day, "%Y-%m-%d").replace(tzinfo=SHANGHAI)
    return (start + timedelta(days=1)).timestamp()


def datacube_article_total(req: SandboxRequest, sb: Sandbox) -> SandboxResponse:
    """POST datacube/getarticletotal {begin_date, end_date}: per article published that day, cumulative details.

    As the real API: span one day (begin = end), end date at most yesterday (Beijing),
    else 61501; each article's ``msgid`` is ``<msg_data_id>_<idx>``; ``details`` hold
    the cumulative figures at the end of each day from publication, at most seven days
    and never past yesterday. Figures come from ``hub.sandbox.engagement`` (the
    sandbox clock is ``engagement.now``). Quota: the ``rate_limit_rate`` knob → 45009.
    """
    appid, bad = _auth(req, sb)
    if bad:
        return bad
    try:
        body = req.json()
        begin, end = str(body["begin_date"]), str(body["end_date"])
        _day_end(begin), _day_end(end)
    except (ValueError, KeyError, TypeError, AttributeError):
        return err(61500)
    yesterday = _day(engagement.now(sb) - 86400)
    if begin != end or end > yesterday:
        return err(61501)
    with sb.lock:
        for pub in list(state(sb)["publishes"].values()):
            if pub["appid"] == appid:
                _publish_view(sb, pub)  # settle finished tasks
        pubs = [p for p in state(sb)["publishes"].values()
                if p["appid"] == appid and p.get("settled") and _day(float(p["final_at"])) == begin]
    out = []
    for pub in pubs:
        for i, art in enumerate(pub["articles"]):
            msgid = f"{pub['msg_data_id']}_{i + 1}"
            details = []
            for n in range(ARTICLE_TOTAL_DAYS):
                stat_day = _day(_day_end(begin) + (n - 1) * 86400 + 1)
                if stat_day > yesterday:
                    break
                hours = (_day_end(stat_day) - float(pub["final_at"])) / 3600
                details.append({"stat_date": stat_day, "target_user": 1000,
                                **{wire: engagement.count(msgid, m, hours) for wire, m in DATACUBE_FIELDS.items()}})
            out.append({"ref_date": begin, "msgid": msgid, "title": art.get("title"), "details": details})
    return SandboxResponse.json({"list": out})


# --- the PUBLISHJOBFINISH push ---------------------------------------------------------------


def event_xml(pub: dict[str, Any], status: int, to_user: str) -> str:
    """The PUBLISHJOBFINISH event as WeChat POSTs it to the account's server URL."""
    detail = ""
    if status in (0, 5, 6):
        items = "".join(f"<item><idx>{i + 1}</idx><article_url><![CDATA[{a['url']}]]></article_url></item>"
                        for i, a in enumerate(pub["articles"]))
        detail = f"<article_id><![CDATA[{pub['article_id']}]]></article_id>" \
                 f"<article_detail><count>{len(pub['articles'])}</count>{items}</article_detail>"
    fails = "<fail_idx>1</fail_idx>" if status in (2, 3, 4) else ""
    return (f"<xml><ToUserName><![CDATA[{to_user}]]></ToUserName><FromUserName><![CDATA[mphelper]]></FromUserName>"
            f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
            f"<Event><![CDATA[PUBLISHJOBFINISH]]></Event><PublishEventInfo>"
            f"<publish_id>{pub['publish_id']}</publish_id><publish_status>{status}</publish_status>"
            f"{detail}{fails}</PublishEventInfo></xml>")


def sign(token: str, timestamp: str, nonce: str) -> str:
    """WeChat's server-callback signature: sha1 of the sorted token, timestamp and nonce."""
    return hashlib.sha1("".join(sorted([token, timestamp, nonce])).encode()).hexdigest()  # noqa: S324 - WeChat's scheme


def _schedule_event(sb: Sandbox, pub: dict[str, Any], delay: float) -> None:
    """When the task ends: the article becomes public (inbox), and the event goes to the hub if configured."""

    def fire() -> None:
        status = int(pub["final_status"])
        if status == 0:
            _settle(sb, pub)
        url = sb.options.get("wechat_callback_url")
        if not url:
            return
        ts, nonce = str(int(time.time())), secrets.token_hex(8)
        token = str(sb.options.get("wechat_callback_token", ""))
        full = f"{url}{'&' if '?' in url else '?'}signature={sign(token, ts, nonce)}&timestamp={ts}&nonce={nonce}"
        body = event_xml(pub, status, f"gh_{pub['appid']}").encode("utf-8")
        aes_key = sb.options.get("wechat_callback_aes_key")
        if aes_key:
            from xml.etree import ElementTree as ET  # noqa: S405 - our own XML

            from wechatpy.crypto import WeChatCrypto

            envelope = WeChatCrypto(token, str(aes_key), str(pub["appid"])).encrypt_message(
                body.decode("utf-8"), nonce, ts)
            msg_signature = ET.fromstring(envelope).findtext("MsgSignature") or ""  # noqa: S314
            full += f"&encrypt_type=aes&msg_signature={msg_signature}"
            body = envelope.encode("utf-8")
        request = urllib.request.Request(full, data=body, method="POST",  # noqa: S310 - loopback hub URL
                                         headers={"Content-Type": "text/xml"})
        try:
            with urllib.request.urlopen(request, timeout=5):  # noqa: S310
                pass
            outcome = "delivered"
        except OSError as exc:
            outcome = type(exc).__name__
        with sb.lock:
            pub["event"] = outcome

    timer = threading.Timer(max(delay, 0.0), fire)
    timer.daemon = True
    timer.start()


def media(req: SandboxRequest, sb: Sandbox) -> SandboxResponse:
    """GET /_sandbox/media?id= → the uploaded image (so the inbox can show covers and inline images)."""
    media_id = req.arg("id") or ""
    with sb.lock:
        img = state(sb)["images"].get(media_id)
    data = sb.get_blob(f"wechat-{media_id}") if img is not None else None
    if img is None or data is None:
        return SandboxResponse.json({"error": "no such media"}, 404)
    ctype = {"jpg": "image/jpeg", "png": "image/png", "gif": "image/gif", "bmp": "image/bmp"}.get(
        img.get("type") or "", "application/octet-stream")
    return SandboxResponse(200, data, ctype, {"Cache-Control": "max-age=3600"})


ARTICLE_STYLE = ("body{margin:0;padding:16px 16px 40px;font-family:'WenQuanYi Micro Hei',sans-serif;"
                 "font-size:16px;line-height:1.75;color:#333}img{max-width:100%}"
                 "h1.t{font-size:22px;line-height:1.4;margin:0 0 8px}.m{color:#888;font-size:14px;margin-bottom:16px}"
                 "a.src{display:block;margin-top:24px;color:#576b95;font-size:14px}")


def article_document(content: dict[str, Any]) -> str:
    """A WeChat article page (title, author, body, 阅读原文): the document shown inside the phone frame."""
    title = escape(str(content.get("title") or ""))
    author = escape(str(content.get("author") or ""))
    source = str(content.get("content_source_url") or "")
    link = f'<a class="src" href="{escape(source)}">阅读原文</a>' if source else ""
    cover = content.get("thumb_url")
    cover_html = f'<img alt="封面" src="{escape(same_origin(str(cover)))}">' if cover else ""
    # the body is the article HTML WeChat accepted (scripts already stripped by the fake); it is
    # rendered only inside a sandboxed iframe without scripts, under the page's CSP
    body = str(content.get("content") or "")
    return (f'<!doctype html><html><head><meta charset="utf-8"><style>{ARTICLE_STYLE}</style></head><body>'
            f'<h1 class="t">{title}</h1><div class="m">{author}</div>{cover_html}{body}{link}</body></html>')


def _article_idx(content: dict[str, Any]) -> str:
    query = parse_qs(urlsplit(str(content.get("article_url") or "")).query)
    return (query.get("idx") or ["1"])[0]


def _articles(msgs: list[dict[str, Any]]) -> str:
    out = []
    for m in msgs:
        c = m["content"]
        # the phone frame loads the article's own public page (same origin, its own CSP, no scripts)
        src = "/_sandbox/article?" + urlencode({"id": str(c.get("article_id") or ""), "idx": _article_idx(c)})
        out.append(
            f'<div class="phone{" gone" if c.get("deleted_at") else ""}"><div class="bar">'
            f'{escape(m["account"])} · {escape(when(m["at"]))}</div>{deleted_marker(c)}'
            f'<iframe sandbox title="{escape(str(c.get("title") or ""))}" src="{escape(src)}"></iframe>'
            f'<div class="bar">publish_id {escape(str(c.get("publish_id")))} · '
            f'<a href="{escape(src)}">article_url</a></div></div>')
    return "".join(out) or '<p class="meta">no WeChat article published yet</p>'


def inbox_section(msgs: list[dict[str, Any]]) -> InboxSection:
    """The inbox's WeChat part: each published article in a phone frame."""
    articles = [m for m in msgs if m["channel"] == CHANNEL and m["kind"] == "article"]
    return InboxSection("微信公众号 (WeChat)", articles, _articles(articles))


def article_page(req: SandboxRequest, sb: Sandbox) -> SandboxResponse:
    """A published WeChat article's public page (what its ``article_url`` shows)."""
    aid, idx = req.arg("id") or "", req.arg("idx") or "1"
    for m in sb.messages(CHANNEL, "article"):
        if m["content"].get("deleted_at"):
            continue  # taken down by freepublish/delete: the public page is gone
        if aid and str(m["content"].get("article_id") or "") == aid and _article_idx(m["content"]) == idx:
            doc = article_document(m["content"])
            response = SandboxResponse.html(doc)
            response.headers["Content-Security-Policy"] = "default-src 'none'; img-src 'self' data:; " \
                                                          "style-src 'unsafe-inline'; script-src 'none'"
            return response
    return SandboxResponse.html("<!doctype html><p>该内容已被发布者删除</p>", 404)


def accepted_credentials(config: HubConfig) -> dict[str, dict[str, str]]:
    """``{"wechat": {app_id: secret}}`` from the secrets the adapter reads (unset ones are left out)."""
    creds = {}
    for account in config.accounts.values():
        if account.channel == CHANNEL:
            secret = os.environ.get(str(account.get("secret_env", "")))
            if secret:
                creds[str(account.get("app_id"))] = secret
    return {CHANNEL: creds}


def options(config: HubConfig) -> dict[str, Any]:
    """The event callback: its token from the account's ``callback_token_env``, its URL from
    ``HUB_WECHAT_CALLBACK_URL``."""
    out: dict[str, Any] = {}
    for account in config.accounts.values():
        if account.channel == CHANNEL and account.get("callback_token_env"):
            token = os.environ.get(str(account.get("callback_token_env")))
            if token:
                out["wechat_callback_token"] = token
    callback = os.environ.get("HUB_WECHAT_CALLBACK_URL")
    if callback:
        out["wechat_callback_url"] = callback
    return out


def register(sb: Sandbox) -> None:
    """Add the WeChat routes to the sandbox."""
    for method, path, handler in (
        ("GET", "token", token),
        ("POST", "stable_token", stable_token),
        ("POST", "material/add_material", add_material),
        ("POST", "media/uploadimg", uploadimg),
        ("POST", "draft/add", draft_add),
        ("POST", "draft/get", draft_get),
        ("POST", "freepublish/submit", freepublish_submit),
        ("POST", "freepublish/get", freepublish_get),
        ("POST", "freepublish/batchget", freepublish_batchget),
        ("POST", "freepublish/delete", freepublish_delete),
    ):
        sb.route(method, BASE + path, CHANNEL, handler)
    sb.route("POST", "/datacube/getarticletotal", CHANNEL, datacube_article_total)
    sb.route("GET", "/_sandbox/media", "_sandbox", media)
    sb.route("GET", "/_sandbox/article", "_sandbox", article_page)
