"""The Weibo post for ``statuses/share.json``: text within 140 characters, the portal link, topics, a picture.

Counting (docs/decisions/2026-11-25-weibo-text.md): Weibo counts a full-width
(Chinese) character as 1 and a half-width (ASCII) character as ½, rounding up.
Whether a link is shortened to a t.cn link (~ 11–12 characters) depends on the
platform, so we count the link at its real weighted length but never below 12:
correct in both cases, never over the limit.

Topics: share.json refuses ``#话题#`` inside ``status`` (channel-apis.md §2.2), so
topics are carried twice without ``#``: as a visible label at the start of the
text (【政务公开·扶贫救灾】) and as ``topics`` in the rendition for the operator or a
later API. Any ``#`` in generated text becomes a full-width ``＃``; an editor's
override containing ``#…#`` is a RenderError.

Text (issue 11): the topic label, the summary, the link. The title is not repeated
(the picture card carries it); the summary is never dropped. Overflow policy:
generated text is a draft, so the summary is cut at a clause boundary with "…"
(the link carries the full text); an editor's override is never cut: over 140
is a RenderError.
"""

from __future__ import annotations

import json
import math
import re

from hub.deliverables import Rendition
from hub.errors import RenderError
from hub.record import Record
from hub.renderers.base import ArtifactStore, RenderContext
from hub.renderers.context import not_after
from hub.renderers.images import jpeg, points_card
from hub.renderers.summary import summarize
from hub.renderers.text import clean, cut

#: The rendition kind this module renders (its key in ``hub.renderers.RENDERERS``).
KIND = "weibo"

LIMIT = 140
MIN_URL_WEIGHT = 12
PIC_MAX_BYTES = 5 * 1024 * 1024 - 1
_URL_RE = re.compile(r"https?://[^\s，。]+")
_TOPIC_RE = re.compile(r"#[^#\s]+#")


def weibo_length(text: str) -> int:
    """Characters as Weibo counts them: ASCII ½, others 1, a link max(its weight, 12), rounded up."""
    total = 0.0
    for url in _URL_RE.findall(text):
        total += max(math.ceil(len(url) / 2), MIN_URL_WEIGHT)
    rest = _URL_RE.sub("", text)
    total += sum(0.5 if ord(ch) < 128 else 1.0 for ch in rest)
    return math.ceil(total)


def topics(record: Record, configured: list[str]) -> list[str]:
    out = [clean(t).replace("#", "") for t in configured]
    if record.domain:
        out.append(clean(record.domain).replace("#", ""))
    return [t for i, t in enumerate(out) if t and t not in out[:i]]


def _auto_text(record: Record, label: str, url: str) -> str:
    """Label, the summary, the link: never the title again (the card and the link carry it), and
    never without the summary (issue 11: title + link alone says nothing). A summary too long for
    the room is cut at a clause boundary with "…"."""
    summary = clean(summarize(record).text).replace("#", "＃")
    tail = f" {url}"
    room = LIMIT - weibo_length(f"{label}{tail}")
    if room < 4:
        raise RenderError(f"weibo: topics and link alone take {weibo_length(label + tail)} of {LIMIT} characters")
    text = summary
    while weibo_length(text) > room:
        text = cut(summary, max(1, len(text) - 1)) if len(text) > 4 else text[: room]
        if len(text) <= 4:
            break
    return f"{label}{text}{tail}"


def _override_text(text: str, url: str) -> str:
    text = text.strip()
    if _TOPIC_RE.search(text):
        raise RenderError("weibo: override contains #话题#, which statuses/share.json refuses inside status")
    if url not in text:
        text = f"{text} {url}"
    n = weibo_length(text)
    if n > LIMIT:
        raise RenderError(f"weibo: override is {n} characters > limit {LIMIT} (link counted)")
    return text


def render_weibo(record: Record, ctx: RenderContext, store: ArtifactStore) -> Rendition:
    """The post JSON (``status``, ``topics``) and its picture (a card of the key points)."""
    render = ctx.settings["render"]
    tags = topics(record, list(render.get("weibo_topics") or []))
    label = f"【{'·'.join(tags)}】" if tags else ""
    url = ctx.short_url("weibo")
    override = record.overrides.get("weibo")
    text = _override_text(override.text, url) if override and override.text else _auto_text(record, label, url)
    s = summarize(record)
    points = s.key_points or s.sentences
    card = points_card(cut(clean(record.title), 60), [clean(p) for p in points],
                       f"{ctx.settings.get('site_name', '')} · {ctx.short_url('weibo')}", str(render["font"]))
    pic = store.put(jpeg(card, PIC_MAX_BYTES, start_quality=85, optimize=False), ".jpg", "image/jpeg")
    post = {"status": text, "topics": tags, "url": url, "pic": pic.sha256 + ".jpg",
            "record_id": record.id, "version": ctx.version}
    blob = json.dumps(post, ensure_ascii=False, indent=2, sort_keys=True).encode("utf-8")
    main = store.put(blob, ".json", "application/json")
    return Rendition(KIND, record.id, ctx.version, main, files={"pic": pic},
                     facts={"text": text, "chars": weibo_length(text), "limit": LIMIT, "topics": tags,
                            "url": url}, not_after=not_after(record, ctx, "weibo"))
