"""The WeChat official-account article: the ``draft/add`` article fields plus a 900×383 cover.

Limits (docs/decisions/2026-11-25-wechat-limits.md):
- **title ≤ 32 characters**: the draft/add documentation says 32 (the 64 of older
  material APIs does not apply to drafts; 45003 "title too long" is fatal). A long
  generated title first loses its issuing-office prefix ("汉阴县人民政府办公室关于…"
  → "推出…的通知", the office is in the article); if still too long, RenderError asks
  for ``overrides.wechat.title``. Never a silent cut.
- author ≤ 16 characters; digest ≤ 120 (the summary; draft/add allows 128).
- content < 20,000 characters and < 1 MB after inlining; over that is a RenderError.
- HTML: inline ``style`` only (css-inline), then nh3 with the tags WeChat keeps; no
  script/style/class/id/iframe/forms/links (external links are not clickable in
  articles: the portal URL goes to ``content_source_url`` and as plain text).
- cover: JPEG ≤ 64 KB (the permanent ``thumb`` limit), drawn with the configured CJK font.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Any

import css_inline
import nh3

from hub.deliverables import Rendition
from hub.errors import RenderError
from hub.record import Record
from hub.renderers.base import ArtifactStore, RenderContext
from hub.renderers.context import issuer_line, not_after
from hub.renderers.images import cover, jpeg
from hub.renderers.qr import load_logo
from hub.renderers.summary import MAX_CHARS as DIGEST_MAX
from hub.renderers.summary import summarize
from hub.renderers.templating import environment, render_template
from hub.renderers.text import clean, heading_base
from hub.timeutil import to_local

#: The rendition kind this module renders (its key in ``hub.renderers.RENDERERS``).
KIND = "wechat"

TITLE_MAX = 32
AUTHOR_MAX = 16
CONTENT_MAX_CHARS = 20_000
CONTENT_MAX_BYTES = 1_000_000
THUMB_MAX_BYTES = 64 * 1024
COVER_SIZE = (900, 383)
#: Tables up to this many columns stay tables; wider ones become one card per row.
NARROW_COLUMNS = 4
ALLOWED_TAGS = {"section", "p", "span", "strong", "em", "br", "h2", "h3", "h4", "ul", "ol", "li",
                "blockquote", "table", "thead", "tbody", "tr", "th", "td"}
ALLOWED_STYLE = {"font-size", "font-weight", "line-height", "color", "background-color", "letter-spacing",
                 "margin", "padding", "padding-left", "text-align", "text-indent", "border", "border-top",
                 "border-bottom", "border-left", "border-collapse", "width", "overflow-x", "word-break"}
_OFFICE_PREFIX = re.compile(r"^.{2,40}?关于(?=.{4,})")


def wechat_title(title: str) -> str:
    """The article title within 32 characters, or RenderError (never cut mid-title)."""
    title = clean(title)
    if len(title) > TITLE_MAX:
        title = _OFFICE_PREFIX.sub("", title, count=1)
    if len(title) > TITLE_MAX:
        raise RenderError(f"wechat: title is {len(title)} characters > limit {TITLE_MAX} (draft/add); "
                          "write overrides.wechat.title")
    return title


@lru_cache(maxsize=1)
def _inliner() -> css_inline.CSSInliner:
    return css_inline.CSSInliner(load_remote_stylesheets=False, keep_style_tags=False)


def sanitize(html: str) -> str:
    """WeChat-safe HTML: only the kept tags, only ``style`` attributes with harmless properties."""
    return str(nh3.clean(html, tags=ALLOWED_TAGS, attributes={"*": {"style"}}, strip_comments=True,
                         link_rel=None, filter_style_properties=ALLOWED_STYLE, url_schemes=set()))


def article_html(record: Record, ctx: RenderContext) -> str:
    """The article body: template → inline styles → sanitize."""
    override = record.overrides.get("wechat")
    paras = [p.strip() for p in re.split(r"\n+", override.text) if p.strip()] if override and override.text else []
    date = record.written_on or (to_local(record.published_at).date() if record.published_at else None)
    html = render_template(
        "wechat/article.html", record=record, blocks=record.body, heading_base=heading_base(record), override_text=paras,
        site_name=ctx.settings.get("site_name", ""), issuer=issuer_line(record), page_url=ctx.page_url,
        date=f"{date.year}年{date.month}月{date.day}日" if date else "", narrow_columns=NARROW_COLUMNS)
    css = environment().loader.get_source(environment(), "wechat/article.css")[0]  # type: ignore[union-attr]
    inlined = _inliner().inline_fragment(html, css)
    return sanitize(inlined)


def _cover_jpeg(record: Record, ctx: RenderContext) -> bytes:
    font_path = str(ctx.settings["render"]["font"])
    date = record.written_on or (to_local(record.published_at).date() if record.published_at else None)
    logo_path = str(ctx.settings["render"].get("logo") or "")
    img = cover(clean(record.title), clean(issuer_line(record) or ""),
                date.isoformat() if date else "", font_path, COVER_SIZE, logo=load_logo(logo_path) if logo_path else None)
    return jpeg(img, THUMB_MAX_BYTES)


def article_fields(record: Record, ctx: RenderContext, content: str) -> dict[str, Any]:
    """The draft/add article (``thumb_media_id`` is filled by the adapter after uploading the cover)."""
    override = record.overrides.get("wechat")
    title = override.title.strip() if override and override.title else wechat_title(record.title)
    if len(title) > TITLE_MAX:
        raise RenderError(f"wechat: override title is {len(title)} characters > limit {TITLE_MAX}")
    digest = override.digest.strip() if override and override.digest else summarize(record).text
    if len(digest) > DIGEST_MAX:
        raise RenderError(f"wechat: digest is {len(digest)} characters > limit {DIGEST_MAX}")
    author = str(ctx.settings["render"].get("wechat_author") or "")
    if len(author) > AUTHOR_MAX:
        raise RenderError(f"wechat: render.wechat_author is {len(author)} characters > limit {AUTHOR_MAX}")
    return {"article_type": "news", "title": title, "author": author, "digest": digest, "content": content,
            "content_source_url": ctx.page_url, "thumb_media_id": None,
            "need_open_comment": 0, "only_fans_can_comment": 0}


def render_wechat(record: Record, ctx: RenderContext, store: ArtifactStore) -> Rendition:
    """The article JSON (main), the cover JPEG and the HTML preview; RenderError names a broken limit."""
    content = article_html(record, ctx)
    size = len(content.encode("utf-8"))
    if len(content) >= CONTENT_MAX_CHARS:
        raise RenderError(f"wechat: content is {len(content)} characters ≥ limit {CONTENT_MAX_CHARS}; "
                          "publish a shorter version (overrides.wechat.text) and link to the portal")
    if size >= CONTENT_MAX_BYTES:
        raise RenderError(f"wechat: content is {size} bytes ≥ limit {CONTENT_MAX_BYTES}")
    article = article_fields(record, ctx, content)
    thumb = _cover_jpeg(record, ctx)
    cover_art = store.put(thumb, ".jpg", "image/jpeg")
    html_art = store.put(content.encode("utf-8"), ".html", "text/html")
    blob = json.dumps({"articles": [article]}, ensure_ascii=False, indent=2, sort_keys=True).encode("utf-8")
    main = store.put(blob, ".json", "application/json")
    return Rendition(KIND, record.id, ctx.version, main, files={"cover": cover_art, "content": html_art},
                     facts={"title": article["title"], "author": article["author"], "digest": article["digest"],
                            "content_chars": len(content), "content_bytes": size, "cover_bytes": len(thumb),
                            "content_source_url": ctx.page_url}, not_after=not_after(record, ctx, "wechat"))
