"""The newspaper's A4 PDF (kind ``print``): title, metadata line, body, the QR code and short link.

reportlab, not weasyprint: measured on this 2-core box (docs/decisions/2026-11-25-print-pdf.md),
weasyprint took ~110 ms warm for a two-page notice (≈ 280 ms cold) — the whole
100-ms budget of all renditions — while reportlab's platypus with the same CJK
font takes ~15–25 ms. reportlab also gives byte-identical output in ``invariant``
mode (fixed creation date and document id), which weasyprint does not promise.

Text extraction matters (the newspaper desk copies from the PDF, and tests run
``pdftotext``): the TrueType subset is embedded with a ToUnicode map, so the
title and 索引号 come back as text. The QR is drawn as vectors from the same
matrix as the newspaper's QR PNG (same encoder, same error level).
"""

from __future__ import annotations

import io
import threading
from functools import lru_cache
from html import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_JUSTIFY, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import (
    Flowable,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from hub.deliverables import Rendition
from hub.errors import RenderError
from hub.record import ChannelOverride, Heading, ListBlock, Record
from hub.record import Paragraph as Para
from hub.record import Table as TableBlock
from hub.renderers.base import ArtifactStore, RenderContext
from hub.renderers.context import issuer_line, not_after
from hub.renderers.qr import qr_matrix
from hub.renderers.text import clean, is_empty_table
from hub.timeutil import to_local

#: The rendition kind this module renders (its key in ``hub.renderers.RENDERERS``).
KIND = "print"

FONT = "HubCJK"
QR_SIZE = 32 * mm
#: reportlab's registered TTFont is one object per process, and embedding its subsets reads the font
#: file through a shared cursor (``TTFontFile._pos``, ``seek``/``read_*``): two documents built at once
#: in two threads interleave those reads (a KeyError in makeSubset, issue 18). Registration and the build
#: (where subsetting happens) hold this lock; the story is laid out before it. Measured: see the decision note.
_FONT_LOCK = threading.RLock()


@lru_cache(maxsize=4)
def _register_font(path: str) -> str:
    """Register the configured CJK font once per process (subfont 0 of a .ttc), under the font lock."""
    try:
        with _FONT_LOCK:
            pdfmetrics.registerFont(TTFont(FONT, path, subfontIndex=0))
    except Exception as exc:  # reportlab raises TTFError and plain errors for bad files
        raise RenderError(f"print: render.font {path}: {exc}") from exc
    return FONT


@lru_cache(maxsize=4)
def _styles(font: str) -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("body", fontName=font, fontSize=11, leading=18, wordWrap="CJK",
                          alignment=TA_JUSTIFY, firstLineIndent=22, spaceAfter=4)
    return {
        "title": ParagraphStyle("title", parent=base, fontSize=18, leading=26, alignment=TA_CENTER,
                                firstLineIndent=0, spaceAfter=6, textColor=colors.HexColor("#b22222")),
        "meta": ParagraphStyle("meta", parent=base, fontSize=8.5, leading=12, alignment=TA_CENTER,
                               firstLineIndent=0, textColor=colors.HexColor("#555555"), spaceAfter=10),
        "h1": ParagraphStyle("h1", parent=base, fontSize=12.5, leading=20, firstLineIndent=0, spaceBefore=6),
        "h2": ParagraphStyle("h2", parent=base, fontSize=11.5, leading=18, firstLineIndent=0, spaceBefore=3),
        "body": base,
        "item": ParagraphStyle("item", parent=base, firstLineIndent=0, leftIndent=14),
        "cell": ParagraphStyle("cell", parent=base, fontSize=9, leading=12, firstLineIndent=0),
        "sign": ParagraphStyle("sign", parent=base, alignment=TA_RIGHT, firstLineIndent=0),
        "small": ParagraphStyle("small", parent=base, fontSize=9, leading=13, firstLineIndent=0),
    }


def _p(text: str, style: ParagraphStyle) -> Paragraph:
    # reportlab parses a small XML markup: editor text is escaped, never interpreted
    return Paragraph(escape(clean(text)), style)


def _date(record: Record) -> str:
    if record.written_on:
        d = record.written_on
        return f"{d.year}年{d.month}月{d.day}日"
    if record.published_at:
        return to_local(record.published_at).strftime("%Y-%m-%d")
    return ""


def meta_line(record: Record) -> str:
    """索引号 · 公开责任部门 · 文号 · 成文日期 on one line, as newspapers print a notice's source."""
    parts = [f"索引号：{record.index_no or '无'}"]
    if record.department:
        parts.append(f"公开责任部门：{record.department}")
    if record.doc_no:
        parts.append(f"文号：{record.doc_no}")
    if _date(record):
        parts.append(f"成文日期：{_date(record)}")
    return "　".join(parts)


def _table(block: TableBlock, st: dict[str, ParagraphStyle], width: float) -> Flowable:
    rows = [block.header, *block.rows] if block.header else list(block.rows)
    ncols = max((len(r) for r in rows), default=1)
    data = [[_p(c, st["cell"]) for c in r] + [""] * (ncols - len(r)) for r in rows] or [[""]]
    table = Table(data, colWidths=[width / ncols] * ncols, repeatRows=1 if block.header else 0)
    table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                               ("VALIGN", (0, 0), (-1, -1), "TOP"),
                               *([("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee"))] if block.header else [])]))
    return table


def _override(record: Record) -> ChannelOverride | None:
    """The editor's newspaper text: keyed by the channel (``newspaper``), or by the kind (``print``)."""
    return record.overrides.get("newspaper") or record.overrides.get("print")


def _body(record: Record, st: dict[str, ParagraphStyle], width: float) -> list[Flowable]:
    out: list[Flowable] = []
    override = _override(record)
    if override and override.text:
        return [_p(line, st["body"]) for line in override.text.splitlines() if line.strip()]
    for block in record.body:
        if isinstance(block, Heading):
            out.append(_p(f"{block.number or ''}{block.text}", st["h1" if block.level == 1 else "h2"]))
        elif isinstance(block, Para):
            out.append(_p(block.text, st["body"]))
        elif isinstance(block, ListBlock):
            out.extend(_p(f"{i}. {item}" if block.ordered else f"• {item}", st["item"])
                       for i, item in enumerate(block.items, 1))
        elif isinstance(block, TableBlock) and not is_empty_table(block):
            if block.caption:
                out.append(_p(block.caption, st["h2"]))
            out.append(_table(block, st, width))
    return out


class QrFlowable(Flowable):  # type: ignore[misc]
    """The QR as filled rectangles, one per run of dark modules (reportlab's own QR widget
    encodes the data twice per draw and cost ~70 ms; the matrix comes from the same
    encoder as the QR PNGs, so print and PNG agree module for module)."""

    def __init__(self, url: str, logo: str, size: float) -> None:
        super().__init__()
        self.matrix = qr_matrix(url, logo)
        self.size = size
        self.width = self.height = size

    def draw(self) -> None:
        canvas = self.canv
        n = len(self.matrix)
        cell = self.size / n
        canvas.setFillColor(colors.black)
        path = canvas.beginPath()
        for r, row in enumerate(self.matrix):
            c = 0
            while c < n:
                if row[c]:
                    start = c
                    while c < n and row[c]:
                        c += 1
                    path.rect(start * cell, (n - r - 1) * cell, (c - start) * cell, cell)
                else:
                    c += 1
        canvas.drawPath(path, stroke=0, fill=1)


def pdf_bytes(record: Record, ctx: RenderContext) -> bytes:
    render = ctx.settings["render"]
    st = _styles(_register_font(str(render["font"])))
    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=A4, leftMargin=20 * mm, rightMargin=20 * mm, topMargin=18 * mm,
                            bottomMargin=18 * mm, invariant=1, title=clean(record.title)[:200],
                            author=clean(issuer_line(record) or ""),
                            creator="hub", producer="hub", subject=record.index_no or "")
    override = _override(record)
    title = override.title if override and override.title else record.title
    story: list[Flowable] = [_p(title, st["title"]), _p(meta_line(record), st["meta"])]
    if record.addressees:
        story.append(_p("，".join(record.addressees) + "：", st["item"]))
    story.extend(_body(record, st, doc.width))
    if record.signature:
        story.append(Spacer(1, 6))
        story.append(_p(record.signature.office, st["sign"]))
        if record.signature.date:
            d = record.signature.date
            story.append(_p(f"{d.year}年{d.month}月{d.day}日", st["sign"]))
    url = ctx.short_url("newspaper")
    footer = Table([[QrFlowable(url, str(render.get("logo") or ""), QR_SIZE), [_p("扫码阅读全文及附件", st["small"]), _p(url, st["small"]),
                                      _p(f"{ctx.settings.get('site_name', '')}政务公开", st["small"])]]],
                   colWidths=[QR_SIZE + 4 * mm, doc.width - QR_SIZE - 4 * mm])
    footer.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "MIDDLE")]))
    story.extend([Spacer(1, 10), KeepTogether([footer])])
    with _FONT_LOCK:  # the font's subsetting state is shared by every thread of the process
        doc.build(story)
    return buf.getvalue()


def render_print(record: Record, ctx: RenderContext, store: ArtifactStore) -> Rendition:
    """The A4 PDF; facts: pages, the short link printed, the metadata line."""
    data = pdf_bytes(record, ctx)
    main = store.put(data, ".pdf", "application/pdf")
    pages = data.count(b"/Type /Page\n") or data.count(b"/Type /Page ")
    return Rendition(KIND, record.id, ctx.version, main,
                     facts={"title": clean(record.title), "short_url": ctx.short_url("newspaper"),
                            "meta_line": meta_line(record),
                            "pages": pages}, not_after=not_after(record, ctx, "newspaper"))
