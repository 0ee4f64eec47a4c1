"""RSS/Atom feeds: each entry becomes a draft record linked to its source.

The feed's bytes go to feedparser as bytes (it honours the XML encoding
declaration, so a GB2312 feed is read correctly). A feed feedparser calls
"bozo" (malformed) is still ingested when it has entries: the problem is
reported as a warning, because dropping a county's whole feed over one bad
character would lose real notices. Each entry's ``source_key`` is its guid (or
link), so ingesting the same feed again updates instead of duplicating.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import feedparser
import httpx
from pydantic import ValidationError

from hub.errors import RecordError
from hub.ingest.config import get_ingest_config
from hub.ingest.html import html_to_blocks
from hub.ingest.ids import derive_id
from hub.ingest.issuer import ISSUER_KEY, resolve_issuer
from hub.ingest.textio import MAX_BYTES
from hub.record import Paragraph, Record, Source
from hub.redact import redact

_FEED_SNIFF = re.compile(
    rb"^\s*(?:<\?xml[^>]*\?>\s*)?(?:<!--.*?-->\s*|<!DOCTYPE[^>]*>\s*|<\?[^>]*\?>\s*)*<(?:rss|feed|rdf:RDF)\b",
    re.DOTALL | re.IGNORECASE,
)
#: timeouts for fetching a feed URL (seconds): connect fast, read within reason
TIMEOUT = httpx.Timeout(20.0, connect=5.0)


@dataclass(frozen=True, slots=True)
class FeedEntry:
    """One entry as a record, with what ingest needs to store it."""

    record: Record
    warnings: list[str]
    text: str
    source_key: str


def looks_like_feed(data: bytes) -> bool:
    """Whether the bytes open like an RSS, Atom or RSS 1.0 (RDF) document."""
    head = data[:4096]
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:]
    return _FEED_SNIFF.match(head) is not None


def fetch(url: str, *, max_bytes: int = MAX_BYTES, timeout: httpx.Timeout = TIMEOUT) -> bytes:
    """GET a feed URL with timeouts and the size cap; failures are ``RecordError`` naming the URL."""
    try:
        with httpx.Client(timeout=timeout, follow_redirects=True, trust_env=False) as client:
            with client.stream("GET", url, headers={"Accept": "application/rss+xml, application/atom+xml, */*"}) as resp:
                if resp.status_code >= 400:
                    raise RecordError(f"HTTP {resp.status_code} fetching the feed", file=_plain(url))
                declared = resp.headers.get("content-length")
                if declared and declared.isdigit() and int(declared) > max_bytes:
                    raise RecordError(f"feed is {declared} bytes, over the {max_bytes}-byte limit", file=_plain(url))
                chunks: list[bytes] = []
                size = 0
                for chunk in resp.iter_bytes():
                    size += len(chunk)
                    if size > max_bytes:
                        raise RecordError(f"feed is over the {max_bytes}-byte limit", file=_plain(url))
                    chunks.append(chunk)
                return b"".join(chunks)
    except httpx.HTTPError as exc:
        raise RecordError(f"cannot fetch the feed: {type(exc).__name__}", file=_plain(url)) from None


def _plain(url: str) -> str:
    """The URL without its query string (which may carry a token)."""
    return url.split("?", 1)[0]


def _when(entry: Any) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        value = entry.get(key)
        if value:
            try:
                return datetime.fromtimestamp(calendar.timegm(value), UTC)
            except (OverflowError, ValueError, OSError):
                continue
    return None


def _entry_html(entry: Any) -> str:
    content = entry.get("content") or []
    for part in content:
        value = part.get("value")
        if value:
            return str(value)
    return str(entry.get("summary") or entry.get("description") or "")


def _source_of(entry: Any, blocks: list[Any]) -> str | None:
    """The entry's ``<source>`` title, else a ``来源：…`` line of its content."""
    src = entry.get("source") or {}
    name = str(src.get("title") or "").strip() if hasattr(src, "get") else ""
    if name:
        return name
    for block in blocks:
        m = re.match(r"^\s*(?:信息)?来源\s*[:：]\s*(\S[^\s，。]*)", getattr(block, "text", "") or "")
        if m:
            return m.group(1)
    return None


def parse_feed(data: bytes, *, uri: str) -> list[FeedEntry]:
    """Every entry of a feed as a draft record; raises ``RecordError`` when it is no feed at all."""
    try:
        parsed = feedparser.parse(data, sanitize_html=True, resolve_relative_uris=False)
    except Exception as exc:  # noqa: BLE001 - feedparser may raise anything on hostile input
        raise RecordError(f"cannot parse the feed: {type(exc).__name__}", file=_plain(uri), field="feed") from None
    feed_warnings: list[str] = []
    if parsed.get("bozo"):
        reason = parsed.get("bozo_exception")
        feed_warnings.append(f"feed is malformed (bozo): {type(reason).__name__}: {str(reason)[:200]}")
    entries = parsed.get("entries") or []
    if not entries:
        if parsed.get("bozo"):
            raise RecordError(f"not a readable RSS/Atom feed: {feed_warnings[0]}", file=_plain(uri), field="feed",
                              line=_parser_line(parsed.get("bozo_exception")))
        return []  # a well-formed feed with no entries
    feed_title = str(parsed.get("feed", {}).get("title") or "").strip()
    rule = get_ingest_config().feed_rule(uri)
    out: list[FeedEntry] = []
    for n, entry in enumerate(entries, start=1):
        warnings = list(feed_warnings)
        link = str(entry.get("link") or "").strip() or None
        guid = str(entry.get("id") or "").strip() or link
        if guid is None:
            raise RecordError(f"entry {n} has neither id/guid nor link; it cannot be tracked",
                              file=_plain(uri), field="guid", line=_entry_line(data, n))
        title = re.sub(r"\s+", " ", str(entry.get("title") or "")).strip()
        if not title:
            title = link or guid
            warnings.append(f"entry {n} has no title; its link is used")
        blocks = html_to_blocks(_entry_html(entry))
        if link:
            blocks.append(Paragraph(text=f"原文链接：{link}"))
        published = _when(entry)
        if published is None:
            warnings.append(f"entry {n} has no date; 公开日期 left empty")
        extra = {"feed": feed_title} if feed_title else {}
        author = str(entry.get("author") or "").strip()
        if author:
            extra["author"] = author
        source_name = _source_of(entry, blocks)
        if source_name:
            extra["来源"] = source_name
        categories = [str(t.get("term") or "").strip() for t in entry.get("tags") or [] if t.get("term")]
        if categories:
            extra["category"] = "；".join(categories)
        # the issuer, by the page reader's order (no header or signature in a feed entry), then the
        # feed's configured issuer (config/ingest.toml [feeds."glob"]); never the feed's site
        issuer = resolve_issuer(header=None, signature=None, title=title, source=source_name,
                                configured=rule.issuer if rule else None)
        if issuer is None:
            warnings.append(f"entry {n}: 未识别发布机构 (no office in the title, <source> or 来源); the author chooses one")
        elif issuer.origin == "feed-config":
            warnings.append(f"entry {n}: 发布机构 {issuer.office} from the feed's configuration (config/ingest.toml)")
        department = (rule.department if rule and rule.department else None) or (issuer.office if issuer else None)
        if issuer and department != issuer.office:
            extra[ISSUER_KEY] = issuer.office  # published by the configured department, issued by another office
        warnings.append("stage (五公开), domain and 索引号 are not in feeds; left empty for the reviewer")
        try:
            record = Record(
                id=derive_id(None, "feed", guid),
                title=title[:300],
                department=department,
                catalog=categories[0] if categories else None,
                published_at=published,
                body=blocks,
                extra=extra,
                source=Source(kind="feed", uri=uri, guid=guid),
            )
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(p) for p in err["loc"]) or "entry"
            raise RecordError(f"entry {n}: {str(err['msg']).removeprefix('Value error, ')}", file=_plain(uri),
                              field=where, line=_entry_line(data, n)) from None
        except ValueError as exc:
            raise RecordError(f"entry {n}: {redact(str(exc))[:200]}", file=_plain(uri), field="entry",
                              line=_entry_line(data, n)) from None
        text = "\n".join([record.title, *record.body_text()])
        out.append(FeedEntry(record=record, warnings=warnings, text=text, source_key=guid))
    return out


def _parser_line(reason: object) -> int | None:
    """The XML parser's line of a malformed feed (SAX exceptions carry it), when it has one."""
    get = getattr(reason, "getLineNumber", None)
    try:
        line = get() if callable(get) else None
    except Exception:  # noqa: BLE001 - a parser's own accessor; no line is better than a crash
        return None
    return line if isinstance(line, int) and line > 0 else None


_ENTRY_TAG = re.compile(rb"<(?:[A-Za-z0-9_]+:)?(?:item|entry)[\s>/]")


def _entry_line(data: bytes, n: int) -> int | None:
    """The line on which the ``n``-th <item>/<entry> opens (feedparser does not keep it)."""
    for count, m in enumerate(_ENTRY_TAG.finditer(data), start=1):
        if count == n:
            return data.count(b"\n", 0, m.start()) + 1
    return None
