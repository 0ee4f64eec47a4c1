"""Pictures drawn with Pillow and the configured CJK font: the WeChat cover and the Weibo key-points card.

Layout is our own (not a text widget's) so it is deterministic and obeys Chinese
line-breaking rules (禁则): a line never starts with closing punctuation such as
，。、）” and never ends with an opening one such as （“.
"""

from __future__ import annotations

import io
from functools import lru_cache

from PIL import Image, ImageDraw, ImageFont

from hub.errors import RenderError

#: May not start a line.
NO_START = set("，。、；：？！）》」』”’…—·,.;:?!)]}%")
#: May not end a line.
NO_END = set("（《「『“‘([{")
RED = (178, 34, 34)
DARK = (40, 40, 40)
GREY = (110, 110, 110)
PAPER = (252, 249, 242)
WHITE = (255, 255, 255)


@lru_cache(maxsize=32)
def font(path: str, size: int) -> ImageFont.FreeTypeFont:
    """The CJK font at ``size`` pixels (cached: loading a 5-MB TTC costs milliseconds)."""
    try:
        return ImageFont.truetype(path, size)
    except OSError as exc:
        raise RenderError(f"render.font {path}: {exc}") from exc


def wrap(text: str, fnt: ImageFont.FreeTypeFont, width: int) -> list[str]:
    """Lines of ``text`` no wider than ``width`` pixels, breaking between characters with 禁则."""
    lines: list[str] = []
    line = ""
    for ch in text:
        if ch == "\n":
            lines.append(line)
            line = ""
            continue
        if fnt.getlength(line + ch) <= width or not line:
            line += ch
            continue
        if ch in NO_START and len(line) > 1:
            # pull the last character down with the punctuation
            lines.append(line[:-1])
            line = line[-1] + ch
        elif line[-1] in NO_END and len(line) > 1:
            lines.append(line[:-1])
            line = line[-1] + ch
        else:
            lines.append(line)
            line = ch
    if line:
        lines.append(line)
    return lines


def fit_lines(text: str, fnt: ImageFont.FreeTypeFont, width: int, max_lines: int) -> list[str]:
    """At most ``max_lines`` lines; the last one ends in … when the text is longer."""
    lines = wrap(text, fnt, width)
    if len(lines) <= max_lines:
        return lines
    last = lines[max_lines - 1]
    while last and fnt.getlength(last + "…") > width:
        last = last[:-1]
    return [*lines[: max_lines - 1], last + "…"]


def jpeg(img: Image.Image, max_bytes: int, start_quality: int = 88, *, optimize: bool = True) -> bytes:
    """JPEG bytes under ``max_bytes``, lowering the quality step by step (WeChat thumbs: ≤ 64 KB).

    ``optimize`` (an extra Huffman pass, ~5–10 % smaller) is worth it for the 64-KB thumb,
    not for a Weibo picture that is far below its 5-MB limit.
    """
    for quality in range(start_quality, 19, -8):
        buf = io.BytesIO()
        img.save(buf, format="JPEG", quality=quality, optimize=optimize, progressive=False, subsampling=2)
        if buf.tell() <= max_bytes:
            return buf.getvalue()
    raise RenderError(f"cover: cannot encode under {max_bytes} bytes")


def cover(title: str, department: str, date: str, font_path: str, size: tuple[int, int] = (900, 383),
          logo: Image.Image | None = None) -> Image.Image:
    """The 900×383 (2.35:1) cover: a red band, the title in up to three lines, office and date,
    and the configured logo (``render.logo``) in the top-right corner when there is one."""
    w, h = size
    img = Image.new("RGB", size, PAPER)
    if logo is not None:
        mark = logo.convert("RGB").resize((72, 72), Image.Resampling.LANCZOS)
        img.paste(mark, (w - 60 - 72, 30))
    draw = ImageDraw.Draw(img)
    draw.rectangle((0, 0, w, 14), fill=RED)
    draw.rectangle((0, h - 64, w, h), fill=RED)
    title_font = font(font_path, 46)
    lines = fit_lines(title, title_font, w - 120 - (90 if logo is not None else 0), 3)
    line_h = 62
    top = 24 + (h - 64 - 24 - line_h * len(lines)) // 2
    for i, line in enumerate(lines):
        draw.text((60, top + i * line_h), line, font=title_font, fill=DARK)
    small = font(font_path, 26)
    footer = fit_lines(department, small, w - 300, 1)[0] if department else ""
    draw.text((60, h - 48), footer, font=small, fill=WHITE)
    draw.text((w - 60, h - 48), date, font=small, fill=WHITE, anchor="ra")
    return img


def points_card(title: str, points: list[str], footer: str, font_path: str, width: int = 1080) -> Image.Image:
    """A tall card of the key points (Weibo's picture): title, numbered points, the short link."""
    pad = 64
    title_font, body_font, foot_font = font(font_path, 52), font(font_path, 40), font(font_path, 30)
    title_lines = fit_lines(title, title_font, width - 2 * pad, 4)
    point_lines = [fit_lines(f"{i}. {p}", body_font, width - 2 * pad - 20, 3) for i, p in enumerate(points, 1)]
    height = pad + len(title_lines) * 70 + 40 + sum(len(pl) * 58 + 24 for pl in point_lines) + 120
    img = Image.new("RGB", (width, height), WHITE)
    draw = ImageDraw.Draw(img)
    draw.rectangle((0, 0, width, 16), fill=RED)
    y = pad
    for line in title_lines:
        draw.text((pad, y), line, font=title_font, fill=RED)
        y += 70
    draw.line((pad, y + 10, width - pad, y + 10), fill=RED, width=3)
    y += 40
    for pl in point_lines:
        for line in pl:
            draw.text((pad + 10, y), line, font=body_font, fill=DARK)
            y += 58
        y += 24
    draw.text((pad, height - 80), footer, font=foot_font, fill=GREY)
    return img
