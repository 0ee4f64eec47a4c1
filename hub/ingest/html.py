"""Feed entry HTML to the record's blocks, with the standard library's tolerant parser.

Feed content is untrusted markup: only its text and structure are kept
(headings, paragraphs, list items, table cells, link targets), never the tags.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

from hub.ingest.numbering import heading_line, split_number
from hub.ingest.tables import make_table
from hub.record import Block, Heading, ListBlock, Paragraph

_BLOCK_TAGS = {"p", "div", "section", "article", "blockquote", "pre", "br", "hr", "center"}
_SPACES = re.compile(r"[ \t\r\n\f\v]+")


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[Block] = []
        self.text = ""
        self.heading: int | None = None
        self.lists: list[tuple[bool, list[str]]] = []
        self.table: list[list[str]] | None = None
        self.row: list[str] | None = None
        self.cell: str | None = None
        self.skip = 0
        self.links: list[str | None] = []

    def _flush(self) -> None:
        text = _SPACES.sub(" ", self.text).strip()
        self.text = ""
        if not text:
            return
        if self.heading is not None:
            num = split_number(text)
            if num is not None and num.text.strip():
                self.blocks.append(Heading(level=self.heading, number=num.number, text=num.text.strip()))
            else:
                self.blocks.append(Heading(level=self.heading, text=text))
            return
        num = heading_line(text)
        if num is not None:
            self.blocks.append(Heading(level=num.level, number=num.number, text=num.text.strip()))
        else:
            self.blocks.append(Paragraph(text=text))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self.skip += 1
        elif tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
            self._flush()
            self.heading = min(int(tag[1]), 4)
        elif tag in ("ul", "ol"):
            self._flush()
            self.lists.append((tag == "ol", []))
        elif tag == "li":
            self.text = ""
        elif tag == "table":
            self._flush()
            self.table = []
        elif tag == "tr" and self.table is not None:
            self.row = []
        elif tag in ("td", "th") and self.row is not None:
            self.cell = ""
        elif tag == "a":
            self.links.append(dict(attrs).get("href"))
        elif tag == "img":
            a = dict(attrs)
            alt, src = a.get("alt") or "", a.get("src")
            self._text(f"{alt} ({src})" if src else alt)
        elif tag in _BLOCK_TAGS and self.cell is None and not self.lists:
            self._flush()

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self.skip = max(0, self.skip - 1)
        elif tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
            self._flush()
            self.heading = None
        elif tag == "li" and self.lists:
            text = _SPACES.sub(" ", self.text).strip()
            if text:
                self.lists[-1][1].append(text)
            self.text = ""
        elif tag in ("ul", "ol") and self.lists:
            ordered, items = self.lists.pop()
            if items and not self.lists:
                self.blocks.append(ListBlock(ordered=ordered, items=items))
            elif items:
                self.lists[-1][1].extend("  " + i for i in items)
        elif tag in ("td", "th") and self.row is not None and self.cell is not None:
            self.row.append(_SPACES.sub(" ", self.cell).strip())
            self.cell = None
        elif tag == "tr" and self.table is not None and self.row is not None:
            if self.row:
                self.table.append(self.row)
            self.row = None
        elif tag == "table" and self.table is not None:
            if self.table:
                self.blocks.extend(make_table(self.table))  # a table with a header and rows, or text
            self.table = None
        elif tag == "a" and self.links:
            href = self.links.pop()
            if href and href.startswith(("http://", "https://")):
                self._text(f" ({href})")
        elif tag in _BLOCK_TAGS and self.cell is None and not self.lists:
            self._flush()

    def _text(self, data: str) -> None:
        if self.skip:
            return
        if self.cell is not None:
            self.cell += data
        else:
            self.text += data

    def handle_data(self, data: str) -> None:
        self._text(data)


def html_to_blocks(html: str) -> list[Block]:
    """The blocks of an HTML fragment (tags dropped, structure kept).

    NUL becomes U+FFFD first, as the HTML parsing standard does (records refuse NUL).
    """
    parser = _Collector()
    parser.feed(html.replace("\x00", "\ufffd"))
    parser.close()
    parser._flush()
    return parser.blocks
