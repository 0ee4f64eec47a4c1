"""The WeChat article: draft/add fields, WeChat-safe inline-styled HTML, cover, limits."""

from __future__ import annotations

import io
import json
from html.parser import HTMLParser

import pytest
from PIL import Image
from renderkit import load_record

from hub.errors import RenderError
from hub.record import ChannelOverride, Heading, Paragraph, Record, Table
from hub.renderers.wechat import ALLOWED_TAGS, render_wechat, wechat_title


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.attrs: set[str] = set()
        self.styled = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.attrs.update(a for a, _ in attrs)
        self.styled += any(a == "style" for a, _ in attrs)


def parse(html: str) -> Tags:
    t = Tags()
    t.feed(html)
    return t


def test_the_sample_article_has_the_draft_add_fields(ctx_of, store) -> None:  # type: ignore[no-untyped-def]
    """title ≤ 32, author, digest = summary ≤ 120, content_source_url = portal page, thumb filled by the adapter."""
    record = load_record("sample")
    ctx = ctx_of(record)
    r = render_wechat(record, ctx, store)
    [article] = json.loads(r.main.path.read_bytes())["articles"]
    assert article["title"] == record.title and len(article["title"]) <= 32
    assert article["author"] == "汉阴县政务公开办"
    assert "推出“五公开”落地创新措施" in article["digest"] and len(article["digest"]) <= 120
    assert article["content_source_url"] == ctx.page_url
    assert article["thumb_media_id"] is None
    assert set(article) >= {"title", "author", "digest", "content", "content_source_url", "thumb_media_id"}


@pytest.mark.parametrize("name", ["sample", "gongshi", "policy", "jiedu"])
def test_article_html_is_inline_styled_and_wechat_safe(ctx_of, store, name: str) -> None:  # type: ignore[no-untyped-def]
    """Only kept tags, only style attributes (no class/id), no script/style/iframe/forms; numbered headings kept."""
    record = load_record(name)
    content = json.loads(render_wechat(record, ctx_of(record), store).main.path.read_bytes())["articles"][0]["content"]
    t = parse(content)
    assert t.tags <= ALLOWED_TAGS
    assert t.attrs <= {"style"}
    assert t.styled > 5
    for h in (b for b in record.body if isinstance(b, Heading)):
        assert f"{h.number or ''}{h.text}" in content


def test_wide_tables_become_cards_and_narrow_ones_stay_tables(ctx_of, store) -> None:  # type: ignore[no-untyped-def]
    """The 7-column 公示 table is one card per row (header：value); a 2-column table stays a table."""
    record = load_record("gongshi")
    content = render_wechat(record, ctx_of(record), store).files["content"].path.read_text()
    assert "<table" not in content and "补偿金额(元)</strong>：64800.00" in content
    narrow = Record(id="n", title="两列表格", body=[Table(header=["项目", "金额"], rows=[["道路", "100"]])])
    assert "<table" in render_wechat(narrow, ctx_of(narrow), store).files["content"].path.read_text()


def test_script_and_template_syntax_in_editor_text_stay_text(ctx_of, store) -> None:  # type: ignore[no-untyped-def]
    """<script> is escaped (never a tag) and {{ 7*7 }} is printed literally."""
    record = Record(id="x", title="通知<script>alert(1)</script>", body=[
        Paragraph(text="<img src=x onerror=alert(1)>正文{{ 7*7 }}<iframe src=//evil></iframe>")])
    content = render_wechat(record, ctx_of(record), store).files["content"].path.read_text()
    t = parse(content)
    assert not t.tags & {"script", "img", "iframe"}
    assert "{{ 7*7 }}" in content and "49" not in content
    assert "&lt;script&gt;" in content or "<script>" not in content


def test_the_cover_is_a_900x383_jpeg_within_the_thumb_limit(ctx_of, store) -> None:  # type: ignore[no-untyped-def]
    """Drawn with the CJK font; ≤ 64 KB so add_material?type=thumb accepts it."""
    record = load_record("policy")
    cover = render_wechat(record, ctx_of(record), store).files["cover"]
    img = Image.open(io.BytesIO(cover.path.read_bytes()))
    assert img.format == "JPEG" and img.size == (900, 383)
    assert cover.bytes <= 64 * 1024


def test_a_long_title_loses_the_office_prefix_then_is_an_error() -> None:
    """'XX办公室关于…' drops its prefix to fit 32; a title still too long asks for overrides.wechat.title."""
    title = "汉阴县人民政府办公室关于印发汉阴县2026年基层政务公开标准化规范化工作要点的通知"
    assert wechat_title(title) == "印发汉阴县2026年基层政务公开标准化规范化工作要点的通知"
    with pytest.raises(RenderError, match=r"> limit 32.*overrides\.wechat\.title"):
        wechat_title("汉阴县" + "关于进一步加强和改进基层政务公开工作" * 3)


def test_an_editor_title_wins_but_is_still_checked(ctx_of, store) -> None:  # type: ignore[no-untyped-def]
    """overrides.wechat.title replaces the title; over 32 characters it is a RenderError."""
    record = load_record("sample")
    ok = record.model_copy(update={"overrides": {"wechat": ChannelOverride(title="五公开落地创新措施来了")}})
    assert render_wechat(ok, ctx_of(ok), store).facts["title"] == "五公开落地创新措施来了"
    bad = record.model_copy(update={"overrides": {"wechat": ChannelOverride(title="长" * 33)}})
    with pytest.raises(RenderError, match="33 characters > limit 32"):
        render_wechat(bad, ctx_of(bad), store)


def test_content_over_wechats_limit_is_an_error_not_a_cut(ctx_of, store) -> None:  # type: ignore[no-untyped-def]
    """A body that makes the article ≥ 20,000 characters raises RenderError naming the limit."""
    record = Record(id="big", title="很长的文件", body=[Paragraph(text="政务公开内容。" * 400)] * 8)
    with pytest.raises(RenderError, match="20000"):
        render_wechat(record, ctx_of(record), store)


def test_a_configured_logo_appears_on_the_cover(ctx_of, store, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """render.logo is drawn in the cover's top-right corner (and the cover stays ≤ 64 KB)."""
    import dataclasses

    logo = tmp_path / "logo.png"
    Image.new("RGB", (100, 100), (0, 90, 200)).save(logo)
    record = load_record("sample")
    ctx = ctx_of(record)
    ctx = dataclasses.replace(ctx, settings={**ctx.settings, "render": {**ctx.settings["render"], "logo": str(logo)}})
    cover = render_wechat(record, ctx, store).files["cover"]
    img = Image.open(cover.path).convert("RGB")
    r, g, b = img.getpixel((900 - 60 - 36, 30 + 36))
    assert b > 150 and r < 80 and cover.bytes <= 64 * 1024
