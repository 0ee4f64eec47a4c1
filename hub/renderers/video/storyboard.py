"""What the programme says and shows, slide by slide, before anything is drawn or spoken.

The storyboard is plain data (``SlidePlan``), so the editorial choices can be
tested without Pillow or ffmpeg:

- a title card: title, issuing department, date, 文号; the narration reads the title;
- one slide per key point (``summarize(record).key_points``); when a point is a
  section heading, the slide shows that section's opening sentence under it;
- a data slide when the record has a table (the first one) or at least two
  amounts of money (元 / 万元 / 亿元) in its text;
- an end card with the TV channel's QR code and "扫码查看全文".

An editor's ``overrides["tv"]`` wins: ``title`` replaces the title on the card,
``text`` (one key point per line) replaces the generated points.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from hub.record import Heading, ListBlock, Paragraph, Record, Table
from hub.renderers.context import issuer_line
from hub.renderers.summary import summarize
from hub.renderers.text import clean, cut, heading_text, sentences

#: The text under a key point: about four lines of 16 characters.
POINT_TEXT_CHARS = 64
_AMOUNT = re.compile(r"(\d+(?:,\d{3})*(?:\.\d+)?)\s*(亿元|万元|元)")


@dataclass(frozen=True, slots=True)
class SlidePlan:
    """One slide: what is drawn and what is read aloud.

    Parameters:
      kind(str): ``title`` | ``point`` | ``data`` | ``end``.
      narration(str): the text spoken over the slide (and subtitled).
      label(str): the small line above the text (point slides: the section or "要点 2/5").
      text(str): the large text (point slides) or the title (title card).
      meta(dict): title card: ``department``, ``date``, ``doc_no``; end card: ``url``, ``department``.
      table(tuple|None): data slide: ``(caption, header, rows)``.
    """

    kind: Literal["title", "point", "data", "end"]
    narration: str
    label: str = ""
    text: str = ""
    meta: dict[str, str] = field(default_factory=dict)
    table: tuple[str, list[str], list[list[str]]] | None = None


def date_text(record: Record) -> str:
    day = record.written_on or (record.published_at.date() if record.published_at else None)
    return f"{day.year}年{day.month}月{day.day}日" if day else ""


def _end(text: str) -> str:
    """A narration sentence ends in a full stop (espeak pauses and Tencent intonates on it)."""
    text = text.strip()
    return text if not text or text[-1] in "。！？!?" else text.rstrip("，,、；;：:") + "。"


def _section_opening(record: Record, point: str) -> tuple[str, str] | None:
    """``(numbered heading, opening sentence)`` of the section whose heading is ``point``."""
    key = point.rstrip("…")
    body = record.body
    for i, block in enumerate(body):
        if isinstance(block, Heading) and clean(block.text).startswith(key):
            for nxt in body[i + 1:]:
                if isinstance(nxt, Heading) and nxt.level <= block.level:
                    break
                text = nxt.text if isinstance(nxt, Paragraph) else (nxt.items[0] if isinstance(nxt, ListBlock) and nxt.items else "")
                first = sentences(clean(text))
                if first:
                    return heading_text(block.number, block.text), cut(first[0], POINT_TEXT_CHARS)
            return heading_text(block.number, block.text), ""
    return None


def _amounts(record: Record) -> list[list[str]]:
    """``[context, amount]`` rows for each distinct amount of money in the body (first 8)."""
    rows: list[list[str]] = []
    seen: set[str] = set()
    for line in record.body_text():
        for m in _AMOUNT.finditer(line):
            amount = m.group(1) + m.group(2)
            if amount in seen:
                continue
            seen.add(amount)
            before = re.split(r"[。；;，,：:]", line[: m.start()])[-1].strip()
            rows.append([cut(before, 14) or "金额", amount])
    return rows[:8]


def plan(record: Record, *, tv_url: str, site_name: str) -> list[SlidePlan]:
    """The slides of ``record``'s programme, in order."""
    override = record.overrides.get("tv")
    title = clean((override.title if override and override.title else None) or record.title)
    department = clean(issuer_line(record) or "")  # the real issuer (…转发国务院), never just the re-poster
    spoken_title = title if not department or title.startswith(department) else f"{department}：{title}"
    slides = [SlidePlan("title", _end(spoken_title), text=title,
                        meta={"department": department, "date": date_text(record), "doc_no": record.doc_no or ""})]

    if override and override.text:
        points = [clean(p) for p in override.text.splitlines() if clean(p)]
    else:
        points = summarize(record).key_points
    for i, point in enumerate(points, 1):
        section = None if override and override.text else _section_opening(record, point)
        if section and section[1]:
            heading, opening = section
            slides.append(SlidePlan("point", f"{_end(heading)}{_end(opening)}", label=heading, text=opening))
        else:
            slides.append(SlidePlan("point", _end(point), label=f"要点 {i}/{len(points)}", text=point))

    table = next((b for b in record.body if isinstance(b, Table) and (b.rows or b.header)), None)
    if table is not None:
        caption = clean(table.caption or "主要数据")
        slides.append(SlidePlan("data", _end(f"{caption}，共{len(table.rows)}项，详见屏幕和全文"),
                                table=(caption, [clean(c) for c in table.header],
                                       [[clean(c) for c in row] for row in table.rows])))
    else:
        rows = _amounts(record)
        if len(rows) >= 2:
            spoken = "，".join(f"{c}{a}" for c, a in rows[:3])
            slides.append(SlidePlan("data", _end(f"涉及金额：{spoken}"), table=("涉及金额", ["事项", "金额"], rows)))

    slides.append(SlidePlan("end", _end(f"扫码查看全文，或访问{site_name}网站"),
                            meta={"url": tv_url, "department": department}))
    return slides
