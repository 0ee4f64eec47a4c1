"""What the programme says and shows, slide by slide, before anything is drawn or spoken.

The storyboard is plain data (``SlidePlan``), so the editorial choices can be
tested without Pillow or ffmpeg:

- a title card: title, issuing department, date, 文号; the narration reads the title;
- one slide per key point (``summarize(record).key_points``); when a point is a
  section heading, the slide shows that section's opening sentence under it;
- points are whole clauses: a key point the summary cut with "…" is taken back to its
  full sentence in the record, and a text longer than a slide holds is paced over
  several slides ("（续）"), each a whole sentence or clause group; a run-in subhead
  ("（一）补贴对象。") is a label, never a slide of its own;
- data slides when the record has a table with rows (the first one; pages of
  ``TABLE_ROWS_PER_PAGE`` rows, at most ``TABLE_PAGES``; a table with 0 parsed rows
  makes none; columns that name personal data and rows holding an ID, mobile or bank
  number are never shown: the check gate blocks such a record, and the storyboard
  does not trust that alone), or at least two amounts of money (元 / 万元 / 亿元);
- an end card with the TV channel's QR code and "扫码查看全文".

An editor's ``overrides["tv"]`` wins: ``title`` replaces the title on the card,
``text`` (one key point per line) replaces the generated points.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from hub.checks.personal import find_personal_data
from hub.record import Heading, ListBlock, Paragraph, Record, Table
from hub.renderers.context import issuer_line
from hub.renderers.summary import summarize
from hub.renderers.text import clauses, clean, cut, heading_text, sentences

#: The text under a key point: about four lines of 16 characters.
POINT_TEXT_CHARS = 64
#: Table pages: rows a page (readable at 1080p with the header) and pages at most.
TABLE_ROWS_PER_PAGE, TABLE_PAGES = 6, 3
#: Column headers that name personal data: such a column is never shown on air.
PERSONAL_COLUMNS = re.compile(r"身份证|证件号|电话|手机|联系方式|银行|卡号|账号|住址|家庭地址")
#: A run-in subhead: "（一）补贴对象。", "一是全面梳理目录。", "1.申请条件："
_RUN_IN = re.compile(r"^(?:[（(][一二三四五六七八九十\d]+[)）]|[一二三四五六七八九十]+[是、]|\d+[.、．])"
                     r"[^。；;，,]{0,12}[。：:]?$")
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
                first = [x for x in sentences(clean(text)) if not _RUN_IN.match(x)]
                if first:
                    return heading_text(block.number, block.text), first[0]
            return heading_text(block.number, block.text), ""
    return None


def _full_point(record: Record, point: str) -> tuple[str, str]:
    """``(label, whole text)`` of a key point: a point the summary cut with "…" is found again in the
    record and given back whole; a run-in subhead opening a paragraph becomes the label of the
    sentence after it. A point found nowhere keeps its whole clauses only (never a "…")."""
    key = point.rstrip("…").strip()
    for line in record.body_text():
        said = sentences(clean(line))
        for i, sentence in enumerate(said):
            if not sentence.startswith(key):
                continue
            if _RUN_IN.match(sentence) and i + 1 < len(said):
                return sentence.rstrip("。：: "), said[i + 1]
            return "", sentence
    if point.endswith("…"):
        whole = clauses(key)[:-1]  # the last clause was cut: drop it
        key = "".join(whole).rstrip("，,、；;：: ") or key
    return "", key


def pages(text: str, limit: int = POINT_TEXT_CHARS) -> list[str]:
    """``text`` paced over slides of at most ``limit`` characters, cut at sentence ends, then at
    clauses; a clause longer than a slide (rare in 公文) is cut at ``limit``."""
    out: list[str] = []
    for sentence in sentences(text) or [text]:
        parts = [sentence] if len(sentence) <= limit else clauses(sentence)
        for part in parts:
            while len(part) > limit:
                out.append(part[:limit])
                part = part[limit:]
            if out and len(out[-1]) + len(part) <= limit and not (len(part) > 12 and out[-1].endswith("。")):
                out[-1] += part
            else:
                out.append(part)
    return [p for p in out if p.strip()]


def _safe_table(table: Table) -> tuple[list[str], list[list[str]]] | None:
    """Header and rows fit for broadcast: personal-data columns dropped; None when any cell still
    holds an ID, mobile or bank number (the whole table is then summarised by its caption)."""
    header = [clean(c) for c in table.header]
    keep = [i for i, h in enumerate(header) if not PERSONAL_COLUMNS.search(h)] if header else None
    rows = [[clean(c) for c in row] for row in table.rows]
    if keep is not None:
        header = [header[i] for i in keep]
        rows = [[row[i] for i in keep if i < len(row)] for row in rows]
    rows = [row for row in rows if any(row)]
    if any(find_personal_data(cell, bank_prefixes=()) for row in rows for cell in row):
        return None
    return header, rows


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


def _in_document_order(record: Record, points: list[str]) -> list[str]:
    """Key points as the document has them: the summary ranks them by weight, a programme reads in order."""
    parts: list[str] = []
    for block in record.body:
        if isinstance(block, Paragraph | Heading):
            parts.append(block.text)
        elif isinstance(block, ListBlock):
            parts.extend(block.items)
    text = "\n".join(parts)
    found = {p: text.find(p.rstrip("…")) for p in points}
    return sorted(points, key=lambda p: (found[p] < 0, found[p]))


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
        points = _in_document_order(record, summarize(record).key_points)
    points = [p for p in points if not _RUN_IN.match(p.rstrip("…")) or _section_opening(record, p)]
    for i, point in enumerate(points, 1):
        section = None if override and override.text else _section_opening(record, point)
        if section and section[1]:
            heading, text = section
        elif override and override.text:
            heading, text = "", point
        else:
            heading, text = _full_point(record, point)
        label = heading or f"要点 {i}/{len(points)}"
        paced = pages(text)
        for k, page in enumerate(paced):
            # a page that ends mid-sentence keeps its comma: the voice goes on to the next slide
            body = _end(page) if k == len(paced) - 1 or page.rstrip()[-1:] in "。！？!?" else page
            said = f"{_end(heading)}{body}" if heading and k == 0 else body
            slides.append(SlidePlan("point", said, label=label if k == 0 else f"{label}（续）", text=page))

    table = next((b for b in record.body if isinstance(b, Table) and b.rows), None)
    safe = _safe_table(table) if table is not None else None
    if table is not None and safe is not None and safe[1]:
        caption = clean(table.caption or "主要数据")
        header, rows = safe
        n = len(rows)
        chunks = [rows[k:k + TABLE_ROWS_PER_PAGE] for k in range(0, n, TABLE_ROWS_PER_PAGE)][:TABLE_PAGES]
        for k, page_rows in enumerate(chunks):
            label = caption if len(chunks) == 1 else f"{caption}（{k + 1}/{len(chunks)}）"
            said = (f"{caption}，共{n}项，详见屏幕。" if k == 0 else "") + (
                "其余各项详见全文。" if k == len(chunks) - 1 and n > len(chunks) * TABLE_ROWS_PER_PAGE else "")
            slides.append(SlidePlan("data", said or "续表。", label=label,
                                    table=(label, header, page_rows), meta={"total_rows": str(n)}))
    elif table is not None and table.rows:
        caption = clean(table.caption or "主要数据")
        slides.append(SlidePlan("point", _end(f"{caption}共{len(table.rows)}项，详见全文"), label="数据",
                                text=f"{caption}共{len(table.rows)}项，详见全文。"))
    else:
        rows = _amounts(record)
        if len(rows) >= 2:
            spoken = "，".join(f"{c}{a}" for c, a in rows[:3])
            slides.append(SlidePlan("data", _end(f"涉及金额：{spoken}"), table=("涉及金额", ["事项", "金额"], rows)))

    slides.append(SlidePlan("end", _end(f"扫码查看全文，或访问{site_name}网站"),
                            meta={"url": tv_url, "department": department}))
    return slides
