"""``hub ingest --explain FILE``: which source line became which field, for editors and for us.

The page reader records a role for every line it reads (``PageFields.roles``); this module
prints them beside the line, then the fields of the record that results, so that a wrong
title or issuer can be traced to the line that caused it without reading the code.
"""

from __future__ import annotations

from pathlib import Path

from hub.ingest import ingest_text
from hub.ingest.feeds import looks_like_feed
from hub.ingest.page import parse_page_text
from hub.ingest.recordfile import has_front_matter
from hub.ingest.textio import decode_text, read_bytes
from hub.timeutil import iso_local

#: how much of a source line is shown
SHOWN = 60


def explain_path(path: Path) -> list[str]:
    """The explanation lines of one input file (page text in detail; record files and feeds in brief)."""
    data = read_bytes(path)
    if looks_like_feed(data):
        return [f"{path}: an RSS/Atom feed; each entry is one record (title, link, date, <source>, <category>)"]
    text = decode_text(data, file=str(path))
    if has_front_matter(text):
        return [f"{path}: a record file; the fields are the TOML front matter's, the body is Markdown"]
    out = [f"{path}: government page text"]
    page = parse_page_text(text, file=str(path))
    source = text.split("\n")
    roles: dict[int, list[str]] = {}
    for no, role in page.roles:
        roles.setdefault(no, []).append(role)
    for no, line in enumerate(source, start=1):
        if not line.strip():
            continue
        shown = line.strip()
        shown = shown if len(shown) <= SHOWN else shown[:SHOWN] + "…"
        out.append(f"{no:>5}  {' + '.join(roles.get(no, ['(not read)']))}  | {shown}")
    [item] = ingest_text(text, file=str(path))
    r = item.record
    out.append("record:")
    for label, value in (("标题", r.title or "(empty: the author types it)"), ("索引号", r.index_no),
                         ("文号", r.doc_no), ("发布机构", r.department or "(none: 未识别发布机构)"),
                         ("成文日期", r.written_on), ("公开日期", iso_local(r.published_at)),
                         ("主送", "；".join(r.addressees) or None),
                         ("落款", f"{r.signature.office} {r.signature.date or ''}".strip() if r.signature else None)):
        out.append(f"  {label:<6} {value if value is not None else '-'}")
    for k, v in sorted(r.extra.items()):
        out.append(f"  extra[{k}] {v.replace(chr(10), ' / ')[:SHOWN]}")
    out.extend(f"  warning: {w}" for w in item.warnings)
    return out
