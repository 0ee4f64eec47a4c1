"""Ingest: record files, government page text and feeds into ``Record`` values.

``ingest_path`` decides by content, not by file name: a ``+++`` front matter is
a record file, an RSS/Atom document is a feed, anything else that is text is
government page text. Every problem is a ``RecordError`` naming file, line and
field; nothing else escapes (the property tests hold us to that).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from hub.errors import RecordError
from hub.ingest.build import page_to_record, uri_of
from hub.ingest.feeds import fetch, looks_like_feed, parse_feed
from hub.ingest.page import parse_page_text
from hub.ingest.recordfile import has_front_matter, parse_record_file
from hub.ingest.textio import MAX_BYTES, decode_text, read_bytes, refuse_nul
from hub.record import Record, Source

__all__ = ["Ingested", "ingest_bytes", "ingest_path", "ingest_source", "ingest_text", "ingest_url"]


@dataclass(frozen=True, slots=True)
class Ingested:
    """One record from an input, with the notes a reviewer should read.

    ``source_text`` is the text the checks report line/column against (the file's
    text for files and pages, the entry's rendered text for feeds); ``source_key``
    identifies the source item (a feed entry's guid) so re-ingesting updates it.
    """

    record: Record
    warnings: list[str] = field(default_factory=list)
    source_text: str = ""
    source_key: str | None = None


#: a YAML front matter block: "---" alone on the first line, "key: value" lines, a closing "---"
_YAML_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(?:[A-Za-z_][\w-]*[ \t]*:.*\n|[ \t#].*\n|\n)+---[ \t]*(?:\n|\Z)")


def ingest_text(text: str, *, file: str | None = None, uri: str | None = None) -> list[Ingested]:
    """Ingest already-decoded text (a record file or government page text)."""
    source_uri = uri or (Path(file).resolve().as_uri() if file else "urn:hub:text")
    refuse_nul(text, file=file)
    if has_front_matter(text):
        record, warnings = parse_record_file(text, file=file)
        record = record.model_copy(update={"source": Source(kind="file", uri=source_uri)})
        return [Ingested(record=record, warnings=warnings, source_text=text)]
    if not text.strip():
        raise RecordError("empty input", file=file, line=1)
    if _YAML_FRONT_MATTER.match(text):
        # Without this, a Hugo/Jekyll-style file would become page text titled "---".
        raise RecordError("front matter must be TOML between +++ lines (YAML --- front matter is not read)",
                          file=file, line=1)
    page = parse_page_text(text, file=file)
    record, warnings = page_to_record(page, file=file, source_uri=source_uri)
    # Without a 索引号 the id is a hash that includes the title; the source URI keeps an edited
    # page (new title) on the same record instead of starting a new one.
    key = source_uri if record.index_no is None and (file or uri) else None
    return [Ingested(record=record, warnings=warnings, source_text=text, source_key=key)]


def ingest_bytes(data: bytes, *, file: str | None = None, uri: str | None = None,
                 max_bytes: int = MAX_BYTES) -> list[Ingested]:
    """Ingest raw bytes: a feed (by its XML shape) or strict UTF-8 text."""
    if len(data) > max_bytes:
        raise RecordError(f"input is {len(data)} bytes, over the {max_bytes}-byte limit", file=file)
    if looks_like_feed(data):
        return [Ingested(record=e.record, warnings=e.warnings, source_text=e.text, source_key=e.source_key)
                for e in parse_feed(data, uri=uri or file or "urn:hub:feed")]
    return ingest_text(decode_text(data, file=file, max_bytes=max_bytes), file=file, uri=uri)


def ingest_path(path: Path, *, max_bytes: int = MAX_BYTES) -> list[Ingested]:
    """Ingest one file (size checked with ``stat`` before anything is read)."""
    data = read_bytes(path, max_bytes=max_bytes)
    return ingest_bytes(data, file=str(path), uri=uri_of(path), max_bytes=max_bytes)


def ingest_url(url: str, *, max_bytes: int = MAX_BYTES) -> list[Ingested]:
    """Fetch an http(s) URL (a feed, or page text) and ingest it."""
    data = fetch(url, max_bytes=max_bytes)
    return ingest_bytes(data, file=url.split("?", 1)[0], uri=url, max_bytes=max_bytes)


def ingest_source(source: str, *, max_bytes: int = MAX_BYTES) -> list[Ingested]:
    """A CLI argument: an http(s) URL or a file path."""
    if source.startswith(("http://", "https://")):
        return ingest_url(source, max_bytes=max_bytes)
    return ingest_path(Path(source), max_bytes=max_bytes)
