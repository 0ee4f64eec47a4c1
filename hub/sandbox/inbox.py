"""The sandbox's own surface: what it accepted (JSON and as a person sees it), fault control, reset.

Routes (all under ``/_sandbox/``, never part of a vendor API):

* ``GET /_sandbox/messages[?channel=&kind=]`` — every accepted post, upload and SMS as JSON.
* ``GET /_sandbox/`` — the same as a citizen would see it: one section per channel, drawn by
  that channel's sandbox fake (``inbox_section(msgs) -> InboxSection``: articles in a
  phone-width frame, posts as cards, one SMS thread per number, mails, playlists...),
  the rest as JSON. Everything is escaped, under a strict CSP.
* ``GET /_sandbox/faults`` / ``POST /_sandbox/faults`` with ``{channel: {knob: value}}`` — read or
  change the fault knobs at run time; an unknown knob is a 400 naming it and nothing changes.
* ``POST /_sandbox/reset`` — forget inbox, vendor state and faults.
"""

from __future__ import annotations

import importlib
import json
from dataclasses import dataclass
from datetime import datetime
from html import escape
from typing import Any
from urllib.parse import urlsplit

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
.deleted{background:#b00020;color:#fff;padding:4px 8px;font-size:13px}
.gone{opacity:.6}
pre{white-space:pre-wrap;word-break:break-all;background:#fafafa;padding:6px;font-size:12px}
"""



def when(at: str) -> str:
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


def mark_deleted(sb: Sandbox, channel: str, kind: str, field: str, value: str) -> int:
    """Mark the inbox's accepted posts whose ``content[field] == value`` as deleted (the platform took them down).

    The inbox keeps what was published (it is the record of what citizens saw) and shows it
    with the time of the deletion (``deleted_marker``); returns how many messages were marked.
    """
    from hub.timeutil import utcnow

    n = 0
    with sb.lock:
        for m in sb.inbox:
            if m["channel"] == channel and m["kind"] == kind and str(m["content"].get(field) or "") == value \
                    and not m["content"].get("deleted_at"):
                m["content"]["deleted_at"] = utcnow().isoformat()
                n += 1
        if n:
            sb.save()
    return n


def deleted_marker(content: dict[str, Any]) -> str:
    """The 已删除 line a fake's inbox section shows on a post the platform took down ("" when it is up)."""
    at = content.get("deleted_at")
    return f'<div class="deleted">已删除 · {escape(when(str(at)))}</div>' if at else ""


def _other(msgs: list[dict[str, Any]]) -> str:
    rows = "".join(f'<div><span class="meta">{escape(when(m["at"]))} {escape(m["channel"])}/{escape(m["kind"])} '
                   f'{escape(m["account"])}</span><pre>{escape(json.dumps(m["content"], ensure_ascii=False))[:2000]}</pre></div>'
                   for m in msgs)
    return rows or '<p class="meta">nothing</p>'


@dataclass(frozen=True, slots=True)
class InboxSection:
    """One channel's part of the inbox page: a heading, the messages it shows, and their HTML."""

    title: str
    shown: list[dict[str, Any]]
    html: str


def sections(msgs: list[dict[str, Any]]) -> list[InboxSection]:
    """The sections of every sandbox fake that draws its messages (``inbox_section(msgs)``), in the
    order the channels are declared: the inbox names no channel itself."""
    from hub.channels.registry import sandbox_modules

    out = []
    for name in sandbox_modules():
        draw = getattr(importlib.import_module(name), "inbox_section", None)
        if draw is not None:
            out.append(draw(msgs))
    return out


def inbox_html(sb: Sandbox) -> str:
    """The whole inbox page, newest first in each section."""
    msgs = list(reversed(sb.messages()))
    parts = sections(msgs)
    shown = {id(m) for part in parts for m in part.shown}
    rest = [m for m in msgs if id(m) not in shown]
    faults = escape(json.dumps(faults_json(sb), ensure_ascii=False))
    body = "".join(f'<h2>{escape(p.title)}</h2><div class="row">{p.html}</div>' for p in parts)
    return (f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>Sandbox inbox</title>'
            f"<style>{PAGE_STYLE}</style></head><body><h1>Sandbox inbox · {len(msgs)} accepted</h1>"
            f'<p class="meta">faults: {faults}</p>{body}'
            f"<h2>Uploads, drafts and other calls</h2>{_other(rest)}</body></html>")


def page(req: SandboxRequest, sb: Sandbox) -> SandboxResponse:
    response = SandboxResponse.html(inbox_html(sb))
    response.headers["Content-Security-Policy"] = CSP
    return response


def messages(req: SandboxRequest, sb: Sandbox) -> SandboxResponse:
    return SandboxResponse.json(sb.messages(req.arg("channel"), req.arg("kind")))


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
    sb.route("GET", "/_sandbox/faults", "_sandbox", get_faults)
    sb.route("POST", "/_sandbox/faults", "_sandbox", set_faults)
    sb.route("POST", "/_sandbox/reset", "_sandbox", reset)
