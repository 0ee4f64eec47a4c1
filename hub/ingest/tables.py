"""Tables as copied page text carries them: pipe rows, one cell per line, space-aligned columns.

A table either becomes a real ``Table`` (a header and at least one row) or stays
text, cell by cell; it never becomes an empty table (issue 11: an empty table on
the page, in the PDF and as a "共0项" TV slide). Every cell's text is kept.
"""

from __future__ import annotations

import re

from hub.record import Block, Paragraph, Table

_SEPARATOR = re.compile(r"^[|｜]?\s*:?-{3,}:?\s*([|｜]\s*:?-{3,}:?\s*)*[|｜]?$")
#: one cell per line, closed by a bar: ``张某某|``
_CELL_LINE = re.compile(r"^([^|｜]*)[|｜]$")
_COLUMNS = re.compile(r"\t+|[ \u3000]{2,}")
_NUMBER = re.compile(r"^\d{1,4}$")
_SENTENCE = re.compile(r"[。！？；]")


def pipe_cells(line: str) -> list[str] | None:
    """The cells of a pipe-table row (``| 1 | 张某某 | … |``), or None."""
    if line.count("|") + line.count("｜") < 2:
        return None
    cells = [c.strip() for c in re.split(r"[|｜]", line)]
    if cells and not cells[0]:
        cells.pop(0)
    if cells and not cells[-1]:
        cells.pop()
    return cells if len(cells) >= 2 else None


def is_separator(line: str) -> bool:
    return _SEPARATOR.match(line.strip()) is not None


def make_table(rows: list[list[str]]) -> list[Block]:
    """A ``Table`` when there is a header and at least one non-empty row; else the cells as text."""
    rows = [r for r in rows if any(c.strip() for c in r)]
    if len(rows) >= 2:
        width = max(len(r) for r in rows)
        padded = [r + [""] * (width - len(r)) for r in rows]
        return [Table(header=padded[0], rows=padded[1:])]
    return [Paragraph(text=" ".join(c for c in r if c)) for r in rows]


def cell_per_line(lines: list[str], blank_before: list[bool]) -> list[Block]:
    """Cells scraped one per line (``序号|`` ``姓名|`` ``1|`` ``张某某|``) back into rows.

    Rows are found from blank lines between groups when the page kept them, else from the
    序号 column (the first cell that reads ``1`` starts the first data row). When neither
    tells the width, the cells stay text, one paragraph each, so nothing is lost or invented.
    """
    cells = [(_CELL_LINE.match(x) or re.match(r"(.*)", x)).group(1).strip() for x in lines]  # type: ignore[union-attr]
    groups: list[list[str]] = []
    for cell, blank in zip(cells, blank_before, strict=True):
        if blank or not groups:
            groups.append([])
        groups[-1].append(cell)
    if len(groups) >= 2 and len({len(g) for g in groups}) == 1 and len(groups[0]) >= 2:
        return make_table(groups)
    width = next((i for i, c in enumerate(cells) if i >= 2 and c == "1"
                  and not any(_NUMBER.match(x) for x in cells[:i])), None)
    if width is not None and len(cells) % width == 0 and len(cells) >= 2 * width:
        return make_table([cells[i:i + width] for i in range(0, len(cells), width)])
    return [Paragraph(text=c) for c in cells if c]


def aligned_columns(line: str) -> list[str] | None:
    """The columns of a space-aligned row (two or more spaces or a tab between cells), or None."""
    parts = [p for p in _COLUMNS.split(line.strip()) if p]
    if len(parts) < 2 or any(len(p) > 40 or _SENTENCE.search(p) for p in parts):
        return None
    return parts
