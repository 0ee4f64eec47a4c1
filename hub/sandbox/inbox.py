"""The sandbox's own surface: what it accepted (JSON and as a person sees it), fault control, reset.

Routes (all under ``/_sandbox/``, never part of a vendor API):

* ``GET /_sandbox/messages[?channel=&kind=]`` — every accepted post, upload and SMS as JSON.
* ``GET /_sandbox/`` — the same as a citizen would see it: each WeChat article in
  a phone-width frame, each Weibo post as a card, one SMS thread per number,
  the newspaper desk's mails. Everything is escaped; article HTML is shown only
  in its own page inside ``<iframe sandbox>`` (no scripts), both under a strict CSP.
* ``GET /_sandbox/article?id=&idx=`` — a published WeChat article's public page (its ``article_url``).
* ``GET /_sandbox/faults`` / ``POST /_sandbox/faults`` with ``{channel: {knob: value}}`` — read or
  change the fault knobs at run time; an unknown knob is a 400 naming it and nothing changes.
* ``POST /_sandbox/reset`` — forget inbox, vendor state and faults.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime
from html import escape
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from hub.redact import mask_phone
from hub.sandbox.core import Faults, Sandbox, SandboxRequest, SandboxResponse, faults_json
from hub.timeutil import to_local

CSP = ("default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; frame-src 'self' about:; "
       "base-uri 'none'; form-action 'none'")

PAGE_STYLE = """
body{font-family:"WenQuanYi Micro Hei","Noto Sans CJK SC",sans-serif;background:#eef0f3;margin:0;padding:16px;color:#222}
h1{font-size:20px} h2{font-size:17px;margin:24px 0 8px;border-bottom:1px solid #ccc}
.row{display:flex;flex-wrap:wrap;gap:16px;align-items:flex-start}
.phone{width:375px;border:10px solid #222;border-radius:24px;background:#fff;overflow:hidden}
.phone .bar{background:#ededed;padding:8px 12px;font-size:13px;color:#555}
.phone iframe{width:375px;height:600px;border:0;display:block}
.card{width:420px;background:#fff;border-radius:6px;padding:12px;box-shadow:0 1px 3px #0002}
.card .who{font-weight:bold;color:#eb7350} .card .when{color:#999;font-size:12px}
.card img{max-width:100%;margin-top:8px;border-radius:4px}
.thread{width:320px;background:#fff;border-radius:12px;padding:10px}
.thread .num{text-align:center;color:#666;font-size:13px;margin-bottom:8px}
.bubble{background:#e9e9eb;border-radius:14px;padding:8px 10px;margin:6px 0;font-size:14px;white-space:pre-wrap}
.bubble .meta{display:block;color:#888;font-size:11px;margin-top:4px}
.bubble.up{background:#95ec69;margin-left:48px}
.mail{width:420px;background:#fff;padding:12px;border-left:4px solid #3a6ea5}
.meta{color:#888;font-size:12px}
pre{white-space:pre-wrap;word-break:break-all;background:#fafafa;padding:6px;font-size:12px}
"""

ARTICLE_STYLE = ("body{margin:0;padding:16px 16px 40px;font-family:'WenQuanYi Micro Hei',sans-serif;"
                 "font-size:16px;line-height:1.75;color:#333}img{max-width:100%}"
                 "h1.t{font-size:22px;line-height:1.4;margin:0 0 8px}.m{color:#888;font-size:14px;margin-bottom:16px}"
                 "a.src{display:block;margin-top:24px;color:#576b95;font-size:14px}")


def _when(at: str) -> str:
    try:
        return to_local(datetime.fromisoformat(at)).strftime("%Y-%m-%d %H:%M:%S")
    except ValueError:
        return at


def same_origin(url: str) -> str:
    """A sandbox-served URL as a path, so images still show when the sandbox restarts on another port.

    The fakes answer absolute URLs as the real APIs do (mmbiz.qpic.cn, sinaimg.cn); the
    inbox page only needs the path on whatever port it is served from now.
    """
    parts = urlsplit(url)
    if parts.hostname in ("127.0.0.1", "localhost") and parts.path.startswith("/_sandbox/"):
        return parts.path + (f"?{parts.query}" if parts.query else "")
    return url


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


def _wechat(msgs: list[dict[str, Any]]) -> str:
    out = []
    for m in msgs:
        c = m["content"]
        # the phone frame loads the article's own public page (same origin, its own CSP, no scripts)
        src = "/_sandbox/article?" + urlencode({"id": str(c.get("article_id") or ""), "idx": _article_idx(c)})
        out.append(
            f'<div class="phone"><div class="bar">{escape(m["account"])} · {escape(_when(m["at"]))}</div>'
            f'<iframe sandbox title="{escape(str(c.get("title") or ""))}" src="{escape(src)}"></iframe>'
            f'<div class="bar">publish_id {escape(str(c.get("publish_id")))} · '
            f'<a href="{escape(src)}">article_url</a></div></div>')
    return "".join(out) or '<p class="meta">no WeChat article published yet</p>'


def _weibo(msgs: list[dict[str, Any]]) -> str:
    out = []
    for m in msgs:
        c = m["content"]
        pic = f'<img alt="配图" src="{escape(same_origin(str(c["pic_url"])))}">' if c.get("pic_url") else ""
        out.append(f'<div class="card"><div class="who">{escape(str(c.get("screen_name") or m["account"]))}</div>'
                   f'<div class="when">{escape(str(c.get("created_at") or ""))} · idstr {escape(str(c.get("idstr")))}</div>'
                   f'<p>{escape(str(c.get("text") or ""))}</p>{pic}</div>')
    return "".join(out) or '<p class="meta">no Weibo post yet</p>'


def _sms(msgs: list[dict[str, Any]]) -> str:
    threads: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for m in msgs:
        threads[str(m["content"].get("phone") or "?")].append(m)
    out = []
    for phone, items in threads.items():
        bubbles = "".join(
            f'<div class="bubble{" up" if m["content"].get("upstream") else ""}">{escape(str(m["content"].get("text") or ""))}'
            f'<span class="meta">{escape(_when(m["at"]))}</span></div>' for m in items)
        # a recipient's number is personal data: the inbox shows it masked, like every hub screen
        out.append(f'<div class="thread"><div class="num">{escape(mask_phone(phone))}</div>{bubbles}</div>')
    return "".join(out) or '<p class="meta">no SMS yet</p>'


def _mail(msgs: list[dict[str, Any]]) -> str:
    out = []
    for m in msgs:
        c = m["content"]
        rows = "".join(f"<div><b>{escape(str(k))}</b>: {escape(str(c[k]))}</div>"
                       for k in ("from", "to", "subject") if c.get(k))
        files = "".join(
            f"<li>📎 {escape(str(a.get('filename') or '?'))} · {escape(str(a.get('content_type') or ''))} · "
            f"{int(a.get('bytes') or 0):,} bytes</li>"
            for a in (c.get("attachments") or []) if isinstance(a, dict))
        text = c.get("text") or c.get("body") or ""
        out.append(f'<div class="mail"><div class="meta">{escape(_when(m["at"]))}</div>{rows}'
                   f'<pre>{escape(str(text))}</pre><ul>{files}</ul></div>')
    return "".join(out) or '<p class="meta">no mail yet</p>'


def _other(msgs: list[dict[str, Any]]) -> str:
    rows = "".join(f'<div><span class="meta">{escape(_when(m["at"]))} {escape(m["channel"])}/{escape(m["kind"])} '
                   f'{escape(m["account"])}</span><pre>{escape(json.dumps(m["content"], ensure_ascii=False))[:2000]}</pre></div>'
                   for m in msgs)
    return rows or '<p class="meta">nothing</p>'


def inbox_html(sb: Sandbox) -> str:
    """The whole inbox page, newest first in each section."""
    msgs = list(reversed(sb.messages()))
    articles = [m for m in msgs if m["channel"] == "wechat" and m["kind"] == "article"]
    posts = [m for m in msgs if m["channel"] == "weibo" and m["kind"] == "status"]
    sms = [m for m in reversed(msgs) if m["channel"] == "sms"]  # oldest first inside a thread
    mails = [m for m in msgs if m["channel"] == "newspaper"]
    shown = {id(m) for m in (*articles, *posts, *sms, *mails)}
    rest = [m for m in msgs if id(m) not in shown]
    faults = escape(json.dumps(faults_json(sb), ensure_ascii=False))
    return (f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>Sandbox inbox</title>'
            f"<style>{PAGE_STYLE}</style></head><body><h1>Sandbox inbox · {len(msgs)} accepted</h1>"
            f'<p class="meta">faults: {faults}</p>'
            f'<h2>微信公众号 (WeChat)</h2><div class="row">{_wechat(articles)}</div>'
            f'<h2>微博 (Weibo)</h2><div class="row">{_weibo(posts)}</div>'
            f'<h2>短信 (SMS)</h2><div class="row">{_sms(sms)}</div>'
            f'<h2>报社 (newspaper desk)</h2><div class="row">{_mail(mails)}</div>'
            f"<h2>Uploads, drafts and other calls</h2>{_other(rest)}</body></html>")


def page(req: SandboxRequest, sb: Sandbox) -> SandboxResponse:
    response = SandboxResponse.html(inbox_html(sb))
    response.headers["Content-Security-Policy"] = CSP
    return response


def messages(req: SandboxRequest, sb: Sandbox) -> SandboxResponse:
    return SandboxResponse.json(sb.messages(req.arg("channel"), req.arg("kind")))


def article(req: SandboxRequest, sb: Sandbox) -> SandboxResponse:
    """A published WeChat article's public page (what its ``article_url`` shows)."""
    aid, idx = req.arg("id") or "", req.arg("idx") or "1"
    for m in sb.messages("wechat", "article"):
        if aid and str(m["content"].get("article_id") or "") == aid and _article_idx(m["content"]) == idx:
            doc = article_document(m["content"])
            response = SandboxResponse.html(doc)
            response.headers["Content-Security-Policy"] = "default-src 'none'; img-src 'self' data:; " \
                                                          "style-src 'unsafe-inline'; script-src 'none'"
            return response
    return SandboxResponse.html("<!doctype html><p>该内容已被发布者删除</p>", 404)


def get_faults(req: SandboxRequest, sb: Sandbox) -> SandboxResponse:
    return SandboxResponse.json(faults_json(sb))


def set_faults(req: SandboxRequest, sb: Sandbox) -> SandboxResponse:
    """``{channel: {knob: value}}``; validated whole before anything changes."""
    try:
        body = req.json()
    except ValueError:
        return SandboxResponse.json({"error": "body must be JSON {channel: {knob: value}}"}, 400)
    if not isinstance(body, dict) or not all(isinstance(v, dict) for v in body.values()):
        return SandboxResponse.json({"error": "body must be JSON {channel: {knob: value}}"}, 400)
    try:
        for knobs in body.values():
            Faults().update(**knobs)  # dry run: unknown knobs or bad values change nothing
    except (ValueError, TypeError) as exc:
        return SandboxResponse.json({"error": str(exc)}, 400)
    for channel, knobs in body.items():
        sb.set_faults(str(channel), **knobs)
    return SandboxResponse.json(faults_json(sb))


def reset(req: SandboxRequest, sb: Sandbox) -> SandboxResponse:
    sb.reset()
    return SandboxResponse.json({"reset": True})


def register(sb: Sandbox) -> None:
    """Add the inbox and control routes."""
    sb.route("GET", "/_sandbox/", "_sandbox", page)
    sb.route("GET", "/_sandbox", "_sandbox", page)
    sb.route("GET", "/_sandbox/messages", "_sandbox", messages)
    sb.route("GET", "/_sandbox/article", "_sandbox", article)
    sb.route("GET", "/_sandbox/faults", "_sandbox", get_faults)
    sb.route("POST", "/_sandbox/faults", "_sandbox", set_faults)
    sb.route("POST", "/_sandbox/reset", "_sandbox", reset)
