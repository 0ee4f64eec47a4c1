"""The lines a check reads, and spans on them that are the record's own identifiers.

When the caller has the source text (the file as typed), findings point into
it, so an editor can jump to the line. Otherwise they point into the record's
rendered lines: title, 索引号, 文号, addressees, body lines, signature,
attachments, overrides — in that order, one per line.
"""

from __future__ import annotations

from hub.record import Record


def record_lines(record: Record) -> list[str]:
    """The record as the lines checks report against when there is no source text."""
    lines = [record.title]
    for value in (record.index_no, record.doc_no, record.department, record.catalog, record.validity):
        if value:
            lines.append(value)
    if record.addressees:
        lines.append("，".join(record.addressees))
    for line in record.body_text():
        lines.extend(line.split("\n"))
    if record.signature is not None:
        lines.append(record.signature.office)
    for att in record.attachments:
        lines.append(" ".join(v for v in (att.name, att.url) if v))
    for channel in sorted(record.overrides):
        ov = record.overrides[channel]
        for value in (ov.title, ov.digest, ov.text):
            if value:
                lines.extend(value.split("\n"))
    lines.extend(f"{k}: {v}" for k, v in sorted(record.extra.items()))
    return lines


def protected_spans(line: str, record: Record) -> list[tuple[int, int]]:
    """Spans of ``line`` holding the record's own 索引号 or 文号 (never personal data)."""
    spans: list[tuple[int, int]] = []
    for own in (record.index_no, record.doc_no):
        if not own or len(own) < 4:
            continue
        start = line.find(own)
        while start != -1:
            spans.append((start, start + len(own)))
            start = line.find(own, start + 1)
    return spans


def excerpt(line: str, start: int, end: int, *, width: int = 16) -> str:
    """The match with up to ``width`` characters either side, ellipses where cut."""
    left = max(0, start - width)
    right = min(len(line), end + width)
    return ("…" if left > 0 else "") + line[left:right].strip() + ("…" if right < len(line) else "")
