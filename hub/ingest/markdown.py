"""Markdown bodies into the record's blocks, through markdown-it-py (CommonMark + pipe tables).

Headings keep the document's own numbering (``## 一、总则`` → number ``一、``); a
paragraph that is nothing but a short numbered title (``一、指导思想``) is a
heading too, because clerks often type headings as plain lines. Raw HTML is
kept as text: the body is data, never markup to trust.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from markdown_it import MarkdownIt
from markdown_it.token import Token

from hub.ingest.numbering import Numbered, check_sequence, heading_line, split_number
from hub.ingest.tables import make_table
from hub.record import Block, Heading, ListBlock, Paragraph

_CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")
_SOFT = re.compile(r" *\n *")


@dataclass
class ParsedBody:
    """Blocks plus their 1-based source lines and the numbering warnings."""

    blocks: list[Block] = field(default_factory=list)
    lines: list[int | None] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _parser() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": False}).enable("table")


def inline_text(token: Token) -> str:
    """The plain text of an inline token; link targets are kept as ``text (url)``."""
    out = ""
    href_stack: list[str | None] = []
    link_text_start: list[int] = []
    for child in token.children or []:
        kind = child.type
        if kind in ("text", "code_inline", "html_inline"):
            out += child.content
        elif kind == "softbreak":
            out += "\n"
        elif kind == "hardbreak":
            out += " "
        elif kind == "link_open":
            href = child.attrGet("href")
            href_stack.append(str(href) if href is not None else None)
            link_text_start.append(len(out))
        elif kind == "link_close" and href_stack:
            href = href_stack.pop()
            start = link_text_start.pop()
            if href and out[start:].strip() != href:
                out += f" ({href})"
        elif kind == "image":
            src = child.attrGet("src")
            alt = "".join(c.content for c in child.children or [])
            out += f"{alt} ({src})" if src else alt
    return _SOFT.sub(_soft_joiner, out).strip()


def _soft_joiner(m: re.Match[str]) -> str:
    """Nothing between CJK characters, one space otherwise (a soft line break in the source)."""
    start, end = m.start(), m.end()
    if start == 0 or end >= len(m.string):
        return ""
    return "" if _CJK.match(m.string[start - 1]) or _CJK.match(m.string[end]) else " "


def _line(token: Token, offset: int) -> int | None:
    return token.map[0] + 1 + offset if token.map else None


def parse_markdown(text: str, *, line_offset: int = 0) -> ParsedBody:
    """Parse a Markdown body; ``line_offset`` is the number of file lines before it (front matter)."""
    tokens = _parser().parse(text)
    body = ParsedBody()
    numbered: list[tuple[Numbered, int | None]] = []

    def add(block: Block, line: int | None) -> None:
        body.blocks.append(block)
        body.lines.append(line)

    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok.type == "heading_open":
            level = min(int(tok.tag[1:]), 4)
            text_ = inline_text(tokens[i + 1])
            line = _line(tok, line_offset)
            num = split_number(text_)
            if num is not None and num.text.strip():
                numbered.append((Numbered(num.number, num.text, level, num.style), line))
                add(Heading(level=level, number=num.number, text=num.text.strip()), line)
            elif text_:
                add(Heading(level=level, text=text_), line)
            i += 3
            continue
        if tok.type == "paragraph_open":
            text_ = inline_text(tokens[i + 1])
            line = _line(tok, line_offset)
            num = heading_line(text_) if "\n" not in text_ else None
            if num is not None:
                numbered.append((num, line))
                add(Heading(level=num.level, number=num.number, text=num.text.strip()), line)
            elif text_:
                add(Paragraph(text=text_), line)
            i += 3
            continue
        if tok.type in ("bullet_list_open", "ordered_list_open"):
            i = _list(tokens, i, body, line_offset)
            continue
        if tok.type == "table_open":
            i = _table(tokens, i, body, line_offset)
            continue
        if tok.type in ("fence", "code_block", "html_block"):
            content = tok.content.strip("\n")
            if content.strip():
                add(Paragraph(text=content), _line(tok, line_offset))
        i += 1
    body.warnings = check_sequence(numbered)
    return body


def _list(tokens: list[Token], i: int, body: ParsedBody, offset: int) -> int:
    """One list (nested lists are flattened into its items, indented by two spaces per level)."""
    ordered = tokens[i].type == "ordered_list_open"
    line = _line(tokens[i], offset)
    items: list[str] = []
    depth = 0
    item_depth = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok.type in ("bullet_list_open", "ordered_list_open"):
            depth += 1
        elif tok.type in ("bullet_list_close", "ordered_list_close"):
            depth -= 1
            if depth == 0:
                break
        elif tok.type == "list_item_open":
            item_depth = depth
            items.append("  " * (depth - 1))
        elif tok.type == "inline" and items:
            text_ = inline_text(tok)
            if items[-1].strip() and item_depth == depth:
                items[-1] = items[-1] + " " + text_
            elif items[-1].strip():
                items.append("  " * (depth - 1) + text_)
            else:
                items[-1] = items[-1] + text_
        elif tok.type in ("fence", "code_block", "html_block") and items:
            items[-1] = (items[-1] + " " + tok.content.strip()).strip()
        i += 1
    kept = [item for item in items if item.strip()]
    if kept:
        body.blocks.append(ListBlock(ordered=ordered, items=kept))
        body.lines.append(line)
    return i + 1


def _table(tokens: list[Token], i: int, body: ParsedBody, offset: int) -> int:
    line = _line(tokens[i], offset)
    header: list[str] = []
    rows: list[list[str]] = []
    current: list[str] | None = None
    in_head = False
    while i < len(tokens) and tokens[i].type != "table_close":
        tok = tokens[i]
        if tok.type == "thead_open":
            in_head = True
        elif tok.type == "thead_close":
            in_head = False
        elif tok.type == "tr_open":
            current = []
        elif tok.type == "tr_close" and current is not None:
            if in_head:
                header = current
            else:
                rows.append(current)
            current = None
        elif tok.type == "inline" and current is not None:
            current.append(inline_text(tok))
        i += 1
    made = make_table([header, *rows]) if header else make_table(rows)  # never an empty table (issue 11)
    body.blocks.extend(made)
    body.lines.extend([line] * len(made))
    return i + 1
