"""Short links and QR codes: every PNG and SVG decodes (zxing-cpp) to its channel's short link."""

from __future__ import annotations

import dataclasses
import io
import re
from pathlib import Path

import zxingcpp
from PIL import Image, ImageDraw
from pyzbar.pyzbar import decode as zbar_decode
from renderkit import PUBLIC_URL, load_record

from hub.channels.registry import qr_channels
from hub.renderers.qr import qr_matrix, qr_png, render_qr


def decode(img: Image.Image) -> list[str]:
    """Decode with zxing-cpp and, independently of the encoder's library, with zbar; both must agree."""
    zx = [r.text for r in zxingcpp.read_barcodes(img)]
    zb = [r.data.decode() for r in zbar_decode(img.convert("L"))]
    assert zx == zb, (zx, zb)
    return zx


def rasterize_svg(svg: str, scale: int = 8) -> Image.Image:
    """Draw the SVG's one path (``M x,y h w v1 h-w z`` per run of dark modules) onto a bitmap."""
    size = int(re.search(r'viewBox="0 0 (\d+) \d+"', svg).group(1))  # type: ignore[union-attr]
    img = Image.new("L", (size * scale, size * scale), 255)
    draw = ImageDraw.Draw(img)
    runs = re.findall(r"M(\d+),(\d+)h(\d+)v1h-\3z", svg)
    assert runs and len(runs) == svg.count("M")
    for x, y, w in runs:
        x0, y0 = int(x) * scale, int(y) * scale
        draw.rectangle((x0, y0, x0 + int(w) * scale - 1, y0 + scale - 1), fill=0)
    return img


def test_every_qr_png_and_svg_decodes_to_its_channels_short_link(ctx_of, store) -> None:  # type: ignore[no-untyped-def]
    """One PNG and one SVG per QR channel (newspaper, tv, poster, wechat), each with its own code."""
    record = load_record("sample")
    ctx = ctx_of(record)
    r = render_qr(record, ctx, store)
    assert set(r.facts["data"]) >= set(qr_channels())
    for channel in qr_channels():
        url = f"{PUBLIC_URL}/s/{ctx.short_codes[channel]}"
        assert r.facts["data"][channel] == url
        assert decode(Image.open(r.files[f"{channel}.png"].path)) == [url]
        assert decode(rasterize_svg(r.files[f"{channel}.svg"].path.read_text())) == [url]
    assert len({r.facts["data"][c] for c in qr_channels()}) == len(qr_channels())
    assert r.facts["error_correction"] == "Q"


def test_a_centre_logo_switches_to_level_h_and_still_decodes(ctx_of, store, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """With render.logo set the codes use error correction H and the logo does not break decoding."""
    logo = tmp_path / "logo.png"
    Image.new("RGB", (120, 120), (178, 34, 34)).save(logo)
    record = load_record("sample")
    ctx = ctx_of(record)
    ctx = dataclasses.replace(ctx, settings={**ctx.settings, "render": {**ctx.settings["render"], "logo": str(logo)}})
    r = render_qr(record, ctx, store)
    assert r.facts["error_correction"] == "H"
    img = Image.open(r.files["poster.png"].path)
    assert decode(img) == [ctx.short_url("poster")]
    assert img.getpixel((img.width // 2, img.height // 2))[0] > 150  # the red logo really is in the centre


def test_qr_bytes_are_deterministic() -> None:
    """The same URL gives the same PNG bytes (no timestamp in the file)."""
    url = f"{PUBLIC_URL}/s/abcdefg"
    qr_matrix.cache_clear()
    first = qr_png.__wrapped__(url, "")  # type: ignore[attr-defined]
    qr_matrix.cache_clear()
    assert first == qr_png.__wrapped__(url, "")  # type: ignore[attr-defined]
    assert decode(Image.open(io.BytesIO(first))) == [url]
