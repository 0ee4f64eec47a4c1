"""Short links and QR codes: one code per channel, so scans are attributed to the channel.

Error correction: **H** (30 %) when a centre logo is configured, because the logo
hides about a quarter of the modules (qrcode refuses a logo below H); otherwise
**Q** (25 %), not the library's default M: these codes are printed on newsprint
(dot gain, folds) and shown on TV (compression, moiré, a phone filming a screen),
and a short link of ~35 characters still fits version 3–4 at Q, so the modules
stay large. L and M were rejected as too fragile for those media.

PNG and SVG bytes are deterministic: Pillow's PNG writer stores no timestamp and
the SVG is a single path.
"""

from __future__ import annotations

import io
import json
from functools import lru_cache
from pathlib import Path

import qrcode
import qrcode.constants
from PIL import Image
from qrcode.image.styledpil import StyledPilImage
from qrcode.image.svg import SvgPathFillImage

from hub.errors import RenderError
from hub.record import Record
from hub.renderers.base import QR_CHANNELS, ArtifactStore, RenderContext, Rendition

BOX = 10
BORDER = 4


def error_level(logo: str) -> int:
    """H with a logo (it hides modules), Q without (print and TV robustness)."""
    return qrcode.constants.ERROR_CORRECT_H if logo else qrcode.constants.ERROR_CORRECT_Q


@lru_cache(maxsize=4)
def _logo(path: str) -> Image.Image:
    try:
        with Image.open(Path(path)) as img:
            return img.convert("RGBA")
    except OSError as exc:
        raise RenderError(f"qr: logo {path}: {exc}") from exc


def _code(data: str, logo: str) -> qrcode.QRCode:  # type: ignore[type-arg]
    q = qrcode.QRCode(error_correction=error_level(logo), box_size=BOX, border=BORDER)
    q.add_data(data)
    q.make(fit=True)
    return q


@lru_cache(maxsize=512)
def qr_matrix(data: str, logo: str = "") -> tuple[tuple[bool, ...], ...]:
    """The module matrix (border included) that the PNG draws; used for vector QR in the PDF."""
    return tuple(tuple(row) for row in _code(data, logo).get_matrix())


@lru_cache(maxsize=512)
def qr_png(data: str, logo: str = "") -> bytes:
    """A PNG of ``data``; with ``logo`` (a PNG path) drawn in the centre at error level H."""
    q = _code(data, logo)
    if logo:
        img = q.make_image(image_factory=StyledPilImage, embedded_image=_logo(logo)).get_image()
    else:
        img = q.make_image(fill_color="black", back_color="white").get_image()
    buf = io.BytesIO()
    img.convert("L" if not logo else "RGB").save(buf, format="PNG", optimize=False)
    return buf.getvalue()


@lru_cache(maxsize=512)
def qr_svg(data: str, logo: str = "") -> str:
    """An SVG of ``data`` (one path on a white background), same error level as the PNG."""
    q = _code(data, logo)
    img = q.make_image(image_factory=SvgPathFillImage)
    return str(img.to_string(encoding="unicode"))


def render_qr(record: Record, ctx: RenderContext, store: ArtifactStore) -> Rendition:
    """One PNG and one SVG per QR channel; facts ``data`` = channel → URL, ``codes`` = channel → code."""
    logo = str(ctx.settings.get("render", {}).get("logo") or "")
    data = {channel: ctx.short_url(channel) for channel in ctx.short_codes}
    files = {}
    for channel in QR_CHANNELS:
        url = data[channel]
        files[f"{channel}.png"] = store.put(qr_png(url, logo), ".png", "image/png")
        files[f"{channel}.svg"] = store.put(qr_svg(url, logo).encode("utf-8"), ".svg", "image/svg+xml")
    manifest = {
        "record_id": record.id, "version": ctx.version, "page_url": ctx.page_url,
        "error_correction": "H" if logo else "Q",
        "links": {c: {"code": ctx.short_codes[c], "url": data[c]} for c in sorted(data)},
        "qr": {name: a.sha256 for name, a in sorted(files.items())},
    }
    blob = json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True).encode("utf-8")
    main = store.put(blob, ".json", "application/json")
    return Rendition("qr", record.id, ctx.version, main, files=files,
                     facts={"data": data, "codes": dict(ctx.short_codes),
                            "error_correction": manifest["error_correction"]})
