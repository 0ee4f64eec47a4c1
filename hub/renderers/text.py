"""Plain-text helpers shared by the renderers: sentences, clauses, safe characters, cutting.

Chinese text has no spaces, so "a sentence" is what ends in 。！？； (or a colon that
ends a paragraph), and "a clause" is what ends in ，、. Cutting only ever happens at
those boundaries so that generated drafts never end half-way through a word.
"""

from __future__ import annotations

import re

from hub.record import Heading, Record

#: Sentence terminators (full-width and ASCII).
_SENT_END = "。！？；!?;"
_SENT_RE = re.compile(rf"[^{_SENT_END}]*[{_SENT_END}]+[”’」』）)]*|[^{_SENT_END}]+$")
_CLAUSE_RE = re.compile(r"[^，,、：:]*[，,、：:]|[^，,、：:]+$")
#: Characters XML 1.0 forbids (C0 controls but tab/newline/CR, lone surrogates, U+FFFE/F), and the C1
#: controls it discourages (feed readers drop them, so titles would not round-trip).
_XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
#: Bidirectional overrides and isolates: they can make a title read backwards (F18).
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")


def sentences(paragraph: str) -> list[str]:
    """The sentences of one paragraph, each keeping its own end punctuation."""
    return [s.strip() for s in _SENT_RE.findall(paragraph.strip()) if s.strip()]


def clauses(sentence: str) -> list[str]:
    """The clauses of a sentence, each keeping its trailing comma."""
    return [c for c in _CLAUSE_RE.findall(sentence) if c]


def clean(text: str) -> str:
    """Text safe for any output: no XML-illegal controls, no bidi overrides, collapsed whitespace."""
    text = _BIDI.sub("", _XML_BAD.sub("", text))
    return re.sub(r"[ \t\r\n\f\v]+", " ", text).strip()


def cut(text: str, limit: int, ellipsis: str = "…") -> str:
    """``text`` if it fits in ``limit`` characters, else its longest clause-boundary prefix plus ``…``.

    Falls back to a hard character cut only when the first clause alone is too long.
    """
    if len(text) <= limit:
        return text
    room = limit - len(ellipsis)
    out = ""
    for clause in clauses(text):
        if len(out) + len(clause) > room:
            break
        out += clause
    if not out:
        out = text[:room]
    return out.rstrip("，,、：: ") + ellipsis


def heading_text(number: str | None, text: str) -> str:
    """A heading as the document prints it: its own number, then its text."""
    return f"{number or ''}{text}"


def heading_base(record: Record) -> int:
    """The record's top heading level: outputs number their headings from it (the page title is h1)."""
    levels = [b.level for b in record.body if isinstance(b, Heading)]
    return min(levels) if levels else 1


def is_empty_table(block: object) -> bool:
    """A table with no text in any cell: never rendered on any channel (issue 11: "共0项" slides)."""
    from hub.record import Table

    if not isinstance(block, Table):
        return False
    return not any(c.strip() for c in block.header) and not any(c.strip() for row in block.rows for c in row)
