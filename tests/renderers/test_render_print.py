"""The newspaper's A4 PDF."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image
from renderkit import RECORDS, load_record

from hub.renderers.pdf import render_print


def pdftotext(path: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                          check=True, timeout=60).stdout


@pytest.mark.parametrize("name", RECORDS)
def test_pdftotext_finds_the_title_and_the_index_number(ctx_of, store, name: str) -> None:  # type: ignore[no-untyped-def]
    """The newspaper desk can copy the title and 索引号 out of the PDF."""
    record = load_record(name)
    r = render_print(record, ctx_of(record), store)
    text = pdftotext(r.main.path).replace(" ", "").replace("\n", "")
    assert r.main.path.read_bytes().startswith(b"%PDF")
    assert record.title.replace(" ", "") in text
    assert f"索引号：{record.index_no}" in text


def test_the_pdf_is_a4_and_its_qr_decodes_to_the_newspaper_link(ctx_of, store, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Rasterised with pdftoppm, the last page's QR decodes to the newspaper short link, printed beside it."""
    record = load_record("sample")
    ctx = ctx_of(record)
    r = render_print(record, ctx, store)
    info = subprocess.run(["pdfinfo", str(r.main.path)], capture_output=True, text=True, check=True).stdout
    assert "595.276 x 841.89 pts (A4)" in info
    pages = int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")))
    subprocess.run(["pdftoppm", "-r", "150", "-png", "-f", str(pages), "-l", str(pages), str(r.main.path),
                    str(tmp_path / "p")], check=True, timeout=60)
    [png] = tmp_path.glob("p*.png")
    assert [x.text for x in zxingcpp.read_barcodes(Image.open(png))] == [ctx.short_url("newspaper")]
    assert ctx.short_url("newspaper") in pdftotext(r.main.path)


def test_pdf_bytes_are_deterministic(ctx_of, store) -> None:  # type: ignore[no-untyped-def]
    """invariant mode: no creation date or random id, so the same version gives the same sha256."""
    record = load_record("policy")
    assert render_print(record, ctx_of(record), store).main.sha256 == render_print(record, ctx_of(record), store).main.sha256


def test_the_newspapers_own_text_replaces_the_body(ctx_of, store) -> None:  # type: ignore[no-untyped-def]
    """overrides.newspaper (the channel's name) wins; the title and 索引号 stay."""
    from hub.record import ChannelOverride

    record = load_record("sample").model_copy(update={"overrides": {
        "newspaper": ChannelOverride(text="县政府办公室推出五公开落地创新措施。\n详情扫码阅读。")}})
    text = pdftotext(render_print(record, ctx_of(record), store).main.path).replace(" ", "")
    assert "县政府办公室推出五公开落地创新措施。" in text and "指导思想" not in text
    assert "索引号：xzfgzbmzfb/2017-0168" in text


def test_eight_threads_render_pdfs_at_once_without_a_font_subsetting_error(ctx_of, store) -> None:  # type: ignore[no-untyped-def]
    """Renderers run in worker threads: reportlab's per-font subset state must not be shared unguarded (issue 18)."""
    from concurrent.futures import ThreadPoolExecutor

    base = load_record("sample")
    chars = "的一是了我不人在他有这个上们来到时大地为子中你说生国年着就那和要她出也得里后自以会家可下而过天去能对小多然于心学么之都好看起发当没成只如事把还用第样道想作种开美总从无情己面最女但现前些所本见经头"
    records = [base.model_copy(update={"title": f"{base.title}{chars[i % 97:i % 97 + 9]}{i}",
                                       "index_no": f"hyx-stress-{i:03d}"}) for i in range(8 * 8)]
    ctxs = [ctx_of(r) for r in records]
    with ThreadPoolExecutor(8) as pool:
        out = list(pool.map(lambda i: render_print(records[i], ctxs[i], store), range(len(records))))
    assert all(r.main.path.read_bytes().startswith(b"%PDF") for r in out)
    assert len({r.main.sha256 for r in out}) == len(records)
