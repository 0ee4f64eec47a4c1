"""The slide stills, drawn with Pillow: title card, key-point slides, data slide, end card, subtitles.

Why Pillow for every piece of Chinese text: moviepy's TextClip clips the last
line and wraps without line-breaking rules (channel-apis.md §5.4); Pillow with
our own breaker gives a deterministic layout we can measure. Every text line
drawn is recorded as a ``TextBox`` so tests (and QC) can check that nothing
leaves the title-safe area (90 % of the frame, EBU R95 / BT.1848).

Layout of a 1920×1080 frame (all inside the safe area x 96–1824, y 54–1026):
header band (site name, 文号), content, department lower-third, subtitle band.
Other frame sizes scale every figure by height / 1080.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from hub.renderers.video.linebreak import break_lines
from hub.renderers.video.profile import StationProfile

BG_TOP = (10, 42, 96)
BG_BOTTOM = (4, 18, 48)
WHITE = (255, 255, 255)
ACCENT = (242, 193, 78)
MUTED = (200, 214, 235)
#: Title-safe area as a fraction of the frame (EBU R95: graphics/title safe 90 %).
SAFE = 0.90
ELLIPSIS = "…"


@dataclass(frozen=True, slots=True)
class TextBox:
    """One drawn line (or image) and its pixel box ``(x0, y0, x1, y1)``."""

    text: str
    box: tuple[int, int, int, int]
    role: str


@dataclass(slots=True)
class Still:
    """A drawn frame and what is on it."""

    image: Image.Image
    boxes: list[TextBox] = field(default_factory=list)

    def copy(self) -> Still:
        return Still(self.image.copy(), list(self.boxes))


@lru_cache(maxsize=64)
def font(path: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size)


def safe_rect(width: int, height: int) -> tuple[int, int, int, int]:
    """The title-safe rectangle of a ``width``×``height`` frame."""
    mx, my = round(width * (1 - SAFE) / 2), round(height * (1 - SAFE) / 2)
    return mx, my, width - mx, height - my


def inside(box: tuple[int, int, int, int], rect: tuple[int, int, int, int]) -> bool:
    return box[0] >= rect[0] and box[1] >= rect[1] and box[2] <= rect[2] and box[3] <= rect[3]


class SlideArtist:
    """Draws every still of one package with one font and one profile.

    Parameters:
      profile(StationProfile): frame size and text limits.
      font_path(str): a CJK font (config ``[render] font``, WenQuanYi Micro Hei by default).
      site_name(str): the portal's name, in the header of every slide.
    """

    def __init__(self, profile: StationProfile, font_path: str, site_name: str) -> None:
        self.w, self.h = profile.mp4.width, profile.mp4.height
        self.k = self.h / 1080
        self.text = profile.text
        self.font_path = font_path
        self.site_name = site_name
        self.safe = safe_rect(self.w, self.h)
        x0, y0, x1, y1 = self.safe
        pad = self.px(36)
        sub_line = round(self.text.subtitle_px * 1.3)
        self.sub_band = (x0, y1 - sub_line * self.text.subtitle_max_lines - self.px(24), x1, y1)
        self.lower_third = (x0, self.sub_band[1] - self.px(96), x0 + self.px(900), self.sub_band[1] - self.px(16))
        self.content = (x0 + pad, y0 + self.px(110), x1 - pad, self.lower_third[1] - self.px(20))
        self._bg = self._background()

    def px(self, value: float) -> int:
        return round(value * self.k)

    # --- primitives -------------------------------------------------------------------

    def _background(self) -> Image.Image:
        t = np.linspace(0.0, 1.0, self.h, dtype=np.float32)[:, None]
        top, bottom = np.array(BG_TOP, np.float32), np.array(BG_BOTTOM, np.float32)
        rows = (top * (1 - t) + bottom * t).round().astype(np.uint8)  # h × 3
        img = Image.fromarray(np.repeat(rows[:, None, :], self.w, axis=1), "RGB")
        draw = ImageDraw.Draw(img)
        x0, y0, x1, _ = self.safe
        f = font(self.font_path, self.px(34))
        draw.text((x0, y0 + self.px(8)), self.site_name, font=f, fill=MUTED)
        draw.rectangle((x0, y0 + self.px(70), x1, y0 + self.px(74)), fill=ACCENT)
        return img

    def blank(self) -> Still:
        x0, y0, _, _ = self.safe
        f = font(self.font_path, self.px(34))
        box = ImageDraw.Draw(self._bg).textbbox((x0, y0 + self.px(8)), self.site_name, font=f)
        return Still(self._bg.copy(), [TextBox(self.site_name, _ibox(box), "header")])

    def _line(self, still: Still, xy: tuple[float, float], text: str, size: int, fill: tuple[int, int, int],
              role: str, anchor: str = "la") -> tuple[int, int, int, int]:
        draw = ImageDraw.Draw(still.image)
        f = font(self.font_path, size)
        draw.text(xy, text, font=f, fill=fill, anchor=anchor)
        box = _ibox(draw.textbbox(xy, text, font=f, anchor=anchor))
        still.boxes.append(TextBox(text, box, role))
        return box

    def fit(self, text: str, box_w: int, box_h: int, sizes: range, max_chars: int,
            max_lines: int, leading: float = 1.3) -> tuple[int, list[str]]:
        """The largest size in ``sizes`` at which ``text`` fits the box; at the smallest, the
        last line is cut with "…" (nothing may leave the safe area, a cut title is still read
        in full by the narration)."""
        for size in sizes:
            f = font(self.font_path, size)
            width = min(box_w, max_chars * size)
            lines = break_lines(text, width, f.getlength)
            if len(lines) <= max_lines and len(lines) * size * leading <= box_h:
                return size, lines
        size = sizes[-1]
        f = font(self.font_path, size)
        width = min(box_w, max_chars * size)
        lines = break_lines(text, width, f.getlength)
        keep = max(1, min(max_lines, int(box_h // (size * leading))))
        if len(lines) > keep:
            lines = lines[:keep]
            last = lines[-1]
            while last and f.getlength(last + ELLIPSIS) > width:
                last = last[:-1]
            lines[-1] = last + ELLIPSIS
        return size, lines

    def _block(self, still: Still, text: str, box: tuple[int, int, int, int], sizes: range,
               max_chars: int, max_lines: int, fill: tuple[int, int, int], role: str,
               leading: float = 1.3, center: bool = False) -> int:
        """Draw ``text`` fitted into ``box``; returns the y below the last line."""
        x0, y0, x1, y1 = box
        size, lines = self.fit(text, x1 - x0, y1 - y0, sizes, max_chars, max_lines, leading)
        y = y0
        for line in lines:
            if center:
                self._line(still, ((x0 + x1) / 2, y), line, size, fill, role, anchor="ma")
            else:
                self._line(still, (x0, y), line, size, fill, role)
            y += round(size * leading)
        return y

    # --- the slides -------------------------------------------------------------------

    def title_card(self, title: str, department: str, date_text: str, doc_no: str) -> Still:
        still = self.blank()
        x0, y0, x1, y1 = self.content
        meta_h = self.px(150)
        self._block(still, title, (x0, y0 + self.px(30), x1, y1 - meta_h), range(self.px(88), self.px(46), -self.px(4)),
                    self.text.slide_chars_per_line, self.text.slide_max_lines, WHITE, "title", leading=1.25)
        y = y1 - meta_h + self.px(20)
        for text, size, fill in ((department, 46, ACCENT), ("  ".join(t for t in (date_text, doc_no) if t), 40, MUTED)):
            if text:
                self._block(still, text, (x0, y, x1, y + self.px(size * 1.3)), range(self.px(size), self.px(26), -2),
                            60, 1, fill, "meta")
            y += self.px(66)
        return still

    def point_slide(self, label: str, text: str, lower_third: str | None) -> Still:
        still = self.blank()
        x0, y0, x1, y1 = self.content
        self._block(still, label, (x0, y0, x1, y0 + self.px(70)), range(self.px(48), self.px(28), -2),
                    40, 1, ACCENT, "label")
        self._block(still, text, (x0, y0 + self.px(100), x1, y1), range(self.px(80), self.px(46), -self.px(4)),
                    self.text.slide_chars_per_line, self.text.slide_max_lines, WHITE, "body", leading=1.35)
        if lower_third:
            self.add_lower_third(still, lower_third)
        return still

    def add_lower_third(self, still: Still, text: str) -> None:
        x0, y0, x1, y1 = self.lower_third
        overlay = Image.new("RGBA", (x1 - x0, y1 - y0), (*ACCENT, 235))
        still.image.paste(overlay, (x0, y0), overlay)
        ImageDraw.Draw(still.image).rectangle((x0, y0, x0 + self.px(12), y1), fill=WHITE)
        self._block(still, text, (x0 + self.px(36), y0 + self.px(14), x1 - self.px(24), y1),
                    range(self.px(44), self.px(26), -2), 40, 1, BG_BOTTOM, "lower-third")

    def data_slide(self, caption: str, header: list[str], rows: list[list[str]], total: int | None = None) -> Still:
        """A table page, as many rows as fit; cells cut with "…"; a last line says how many rows the
        whole table has when this page does not show them all (``total``: the table's row count)."""
        still = self.blank()
        x0, y0, x1, y1 = self.content
        y = self._block(still, caption or "数据一览", (x0, y0, x1, y0 + self.px(70)),
                        range(self.px(48), self.px(28), -2), 40, 1, ACCENT, "label")
        table = [header, *rows] if header else list(rows)
        ncols = max((len(r) for r in table), default=1)
        size = self.px(46)
        row_h = round(size * 1.6)
        room = (y1 - y - self.px(20)) // row_h
        more = len(table) > room or (total is not None and total > len(rows))
        shown = table[: room - 1] if len(table) > room else table
        f = font(self.font_path, size)
        natural = [max((f.getlength(r[c]) if c < len(r) else 0) for r in shown) + self.px(30) for c in range(ncols)]
        natural_sum = sum(natural) or 1.0
        widths = [int((x1 - x0) * n / natural_sum) for n in natural]
        draw = ImageDraw.Draw(still.image)
        y += self.px(20)
        for i, row in enumerate(shown):
            if i == 0 and header:
                draw.rectangle((x0, y, x1, y + row_h - self.px(4)), fill=(30, 70, 140))
            cx = x0
            for c in range(ncols):
                cell = row[c] if c < len(row) else ""
                cell = _cut_to(cell, widths[c] - self.px(24), f)
                if cell:
                    self._line(still, (cx + self.px(12), y + (row_h - size) / 2), cell, size,
                               ACCENT if i == 0 and header else WHITE, "cell")
                cx += widths[c]
            draw.line((x0, y + row_h - self.px(2), x1, y + row_h - self.px(2)), fill=(70, 100, 160), width=2)
            y += row_h
        if more:
            self._line(still, (x0, y + self.px(8)), f"共 {total or len(rows)} 行，详见全文", self.px(34), MUTED, "cell")
        return still

    def end_card(self, qr_png: bytes, url: str, department: str) -> Still:
        still = self.blank()
        x0, y0, x1, y1 = self.content
        side = min(y1 - y0 - self.px(20), self.px(520))
        with Image.open(io.BytesIO(qr_png)) as qr:
            # nearest-neighbour keeps module edges sharp for phone cameras filming a screen
            code = qr.convert("RGB").resize((side, side), Image.Resampling.NEAREST)
        qx, qy = x0 + self.px(40), y0 + (y1 - y0 - side) // 2
        still.image.paste(code, (qx, qy))
        still.boxes.append(TextBox(url, (qx, qy, qx + side, qy + side), "qr"))
        tx = qx + side + self.px(90)
        self._block(still, "扫码查看全文", (tx, qy + self.px(40), x1, qy + self.px(160)),
                    range(self.px(84), self.px(40), -4), 12, 1, WHITE, "cta")
        self._block(still, url, (tx, qy + self.px(200), x1, qy + self.px(260)),
                    range(self.px(40), self.px(20), -2), 80, 1, ACCENT, "url")
        if department:
            self._block(still, department, (tx, qy + self.px(300), x1, qy + self.px(420)),
                        range(self.px(44), self.px(26), -2), 16, 2, MUTED, "meta")
        return still

    def with_subtitle(self, still: Still, lines: list[str]) -> Still:
        """A copy of ``still`` with ``lines`` burned in, centred on a dark band in the subtitle zone."""
        out = still.copy()
        if not lines:
            return out
        x0, y0, x1, y1 = self.sub_band
        size = self.px(self.text.subtitle_px)
        line_h = round(size * 1.3)
        f = font(self.font_path, size)
        width = max(f.getlength(line) for line in lines)
        bw = int(width) + self.px(48)
        bh = line_h * len(lines) + self.px(20)
        cx = (x0 + x1) // 2
        bx0, by0 = max(x0, cx - bw // 2), y1 - bh
        band = Image.new("RGBA", (min(bw, x1 - x0), bh), (0, 0, 0, 170))
        out.image.paste(band, (bx0, by0), band)
        y = by0 + self.px(10)
        for line in lines:
            self._line(out, (cx, y + (line_h - size) / 2), line, size, WHITE, "subtitle", anchor="ma")
            y += line_h
        return out

    def subtitle_width_ok(self, line: str) -> bool:
        """Whether one subtitle line fits the subtitle band (the QC's "line exceeds width" check)."""
        f = font(self.font_path, self.px(self.text.subtitle_px))
        return f.getlength(line) + self.px(48) <= self.sub_band[2] - self.sub_band[0]


def _ibox(box: tuple[float, float, float, float]) -> tuple[int, int, int, int]:
    return (int(box[0]), int(box[1]), int(round(box[2] + 0.49)), int(round(box[3] + 0.49)))


def _cut_to(text: str, width: float, f: ImageFont.FreeTypeFont) -> str:
    if f.getlength(text) <= width:
        return text
    while text and f.getlength(text + ELLIPSIS) > width:
        text = text[:-1]
    return text + ELLIPSIS if text else ""
