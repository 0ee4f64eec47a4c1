"""Short links and QR codes: one code per channel, so scans are attributed to the channel.

Error correction: **H** (30 %) when a centre logo is configured, because the logo
hides about a quarter of the modules (a 25 % logo needs H's 30 % recovery); otherwise
**Q** (25 %), not the library's default M: these codes are printed on newsprint
(dot gain, folds) and shown on TV (compression, moiré, a phone filming a screen),
and a short link of ~35 characters still fits version 3–4 at Q, so the modules
stay large. L and M were rejected as too fragile for those media.

The matrix is encoded once per URL (zxing-cpp's encoder; see ``qr_matrix``) and drawn
by us: the PNG from the module bitmap scaled up with nearest-neighbour, the SVG as
one path of horizontal runs. Bytes are deterministic: Pillow's PNG writer stores no
timestamp.
"""

from __future__ import annotations

import io
import json
from functools import lru_cache
from pathlib import Path

import numpy as np
import zxingcpp
from PIL import Image

from hub.deliverables import Rendition
from hub.errors import RenderError
from hub.record import Record
from hub.renderers.base import ArtifactStore, RenderContext

#: The rendition kind this module renders (its key in ``hub.renderers.RENDERERS``).
KIND = "qr"

BOX = 10
BORDER = 4
#: Share of the code's width the centre logo covers (what H's 30 % recovery is sized for).
LOGO_RATIO = 0.25


def error_level(logo: str) -> str:
    """H with a logo (it hides modules), Q without (print and TV robustness)."""
    return "H" if logo else "Q"


@lru_cache(maxsize=4)
def load_logo(path: str) -> Image.Image:
    """The configured logo (``render.logo``), loaded once; a bad file is a RenderError naming it."""
    try:
        with Image.open(Path(path)) as img:
            rgb: Image.Image = img.convert("RGB")
            return rgb
    except OSError as exc:
        raise RenderError(f"qr: logo {path}: {exc}") from exc


@lru_cache(maxsize=512)
def qr_matrix(data: str, logo: str = "") -> tuple[tuple[bool, ...], ...]:
    """The module matrix of ``data`` with a 4-module quiet zone, shared by the PNG, the SVG, the
    portal page and the print PDF.

    Encoded with zxing-cpp's encoder (C++, ~0.1 ms): qrcode's pure-Python mask search took
    ~6–7 ms per code and a record needs five codes. Both pick the smallest version that fits
    and the mask with the lowest ISO/IEC 18004 penalty; tests decode with zxing-cpp *and* zbar.
    """
    try:
        code = zxingcpp.create_barcode(data, zxingcpp.BarcodeFormat.QRCode, ec_level=error_level(logo))
    except Exception as exc:  # zxing-cpp raises its own error types for data it cannot encode
        raise RenderError(f"qr: cannot encode {len(data)} characters: {exc}") from exc
    dark = np.asarray(code.to_image(scale=1, add_quiet_zones=False)) < 128
    return tuple(tuple(row) for row in np.pad(dark, BORDER).tolist())


@lru_cache(maxsize=512)
def qr_png(data: str, logo: str = "") -> bytes:
    """A PNG of ``data`` (10 px per module); with ``logo`` (a PNG path) pasted in the centre at 25 %."""
    matrix = np.array(qr_matrix(data, logo), dtype=bool)
    n = matrix.shape[0]
    img = Image.fromarray(np.where(matrix, 0, 255).astype(np.uint8), mode="L")
    img = img.resize((n * BOX, n * BOX), Image.Resampling.NEAREST)
    if logo:
        img = img.convert("RGB")
        side = int(img.width * LOGO_RATIO)
        mark = load_logo(logo).resize((side, side), Image.Resampling.LANCZOS)
        offset = (img.width - side) // 2
        img.paste(mark, (offset, offset))
    else:
        img = img.convert("1", dither=Image.Dither.NONE)  # 1-bit: half the encode time, half the bytes
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


@lru_cache(maxsize=512)
def qr_svg(data: str, logo: str = "") -> str:
    """An SVG of ``data``: a white background and one path of horizontal runs of dark modules.

    (The logo is not drawn in the SVG: it is the print master, where the office places
    its own emblem; the error level is the same as the PNG's.)
    """
    matrix = qr_matrix(data, logo)
    n = len(matrix)
    parts = []
    for y, row in enumerate(matrix):
        x = 0
        while x < n:
            if row[x]:
                start = x
                while x < n and row[x]:
                    x += 1
                parts.append(f"M{start},{y}h{x - start}v1h-{x - start}z")
            else:
                x += 1
    return (f'<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="{n * 1}mm" height="{n * 1}mm" '
            f'viewBox="0 0 {n} {n}" shape-rendering="crispEdges"><rect width="{n}" height="{n}" fill="#ffffff"/>'
            f'<path fill="#000000" d="{"".join(parts)}"/></svg>')


def render_qr(record: Record, ctx: RenderContext, store: ArtifactStore) -> Rendition:
    """One PNG and one SVG per QR channel; facts ``data`` = channel → URL, ``codes`` = channel → code."""
    from hub.channels.registry import qr_channels  # the channels declaring LinkUse.QR, plus posters

    logo = str(ctx.settings.get("render", {}).get("logo") or "")
    data = {channel: ctx.short_url(channel) for channel in ctx.short_codes}
    files = {}
    for channel in qr_channels():
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
    return Rendition(KIND, record.id, ctx.version, main, files=files,
                     facts={"data": data, "codes": dict(ctx.short_codes),
                            "error_correction": manifest["error_correction"]})
