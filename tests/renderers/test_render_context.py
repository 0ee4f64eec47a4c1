"""The render context: deterministic short codes, URLs and render instant."""

from __future__ import annotations

from datetime import UTC, datetime

from renderkit import PUBLIC_URL, load_record

from hub.channels.registry import link_channels
from hub.record import Record
from hub.renderers.context import SMS_ALPHABET, TYPED_ALPHABET, build_context, short_code


def test_short_codes_are_a_function_of_version_and_channel() -> None:
    """Same (version, channel) → same code; another channel or version → another code."""
    record = load_record("sample")
    a = build_context(record, record.version_hash())
    b = build_context(record, record.version_hash())
    assert a.short_codes == b.short_codes
    assert set(a.short_codes) == set(link_channels())
    assert len(set(a.short_codes.values())) == len(link_channels())
    assert short_code("f" * 64, "web") != a.short_codes["web"]


def test_code_shapes_fit_typing_and_the_sms_parameter_limit() -> None:
    """Typed channels get 7 unambiguous lowercase characters; SMS gets 6 base58 ones (≤ param_max_chars)."""
    ctx = build_context(load_record("sample"), "a" * 64)
    for channel, code in ctx.short_codes.items():
        alphabet, length = (SMS_ALPHABET, 6) if channel == "sms" else (TYPED_ALPHABET, 7)
        assert len(code) == length and set(code) <= set(alphabet)


def test_urls_and_render_instant_come_from_settings_and_the_record() -> None:
    """page_url is {public_url}/records/{id}; rendered_at is the publication time."""
    record = load_record("sample")
    ctx = build_context(record, record.version_hash())
    assert ctx.page_url == f"{PUBLIC_URL}/records/{record.id}"
    assert ctx.short_url("tv") == f"{PUBLIC_URL}/s/{ctx.short_codes['tv']}"
    assert ctx.rendered_at == record.published_at
    assert ctx.settings["render"]["sms"]["template_id"] == "2017168"


def test_an_unpublished_record_gets_a_fixed_instant_not_now() -> None:
    """Without published_at the instant is derived from the version, identical on every call."""
    record = Record(id="x", title="t", department="汉阴县人民政府办公室")
    a = build_context(record, "0123456789" + "0" * 54).rendered_at
    assert a == build_context(record, "0123456789" + "0" * 54).rendered_at
    assert a < datetime(2030, 1, 1, tzinfo=UTC)


def test_renditions_carry_not_after_from_publication_and_the_channel_window(store) -> None:  # type: ignore[no-untyped-def]
    """SMS may be delivered up to 72 h after publication, the newspaper 336 h; no publication time → no bound."""
    from datetime import timedelta

    from hub.renderers import RENDERERS

    record = load_record("sample")
    ctx = build_context(record, record.version_hash())
    assert RENDERERS["sms"](record, ctx, store).not_after == record.published_at + timedelta(hours=72)
    assert RENDERERS["print"](record, ctx, store).not_after == record.published_at + timedelta(hours=336)
    bare = Record(id="x", title="t", department="汉阴县人民政府办公室")
    assert RENDERERS["sms"](bare, build_context(bare, bare.version_hash()), store).not_after is None


def test_renditions_never_name_the_site_owner_as_the_issuer(ctx_of, store) -> None:  # type: ignore[no-untyped-def]
    """No office on the record: SMS fails naming 未识别发布机构; WeChat and PDF name nobody rather than the portal."""
    import pytest

    from hub.errors import RenderError
    from hub.renderers.context import issuer_line
    from hub.renderers.sms import render_sms
    from hub.renderers.wechat import render_wechat

    bare = Record(id="x", title="关于防汛的通知")
    ctx = ctx_of(bare)
    site = str(ctx.settings["site_name"])
    with pytest.raises(RenderError, match="未识别发布机构"):
        render_sms(bare, ctx, store)
    html = render_wechat(bare, ctx, store).files["content"].path.read_text(encoding="utf-8")
    header = html.split("</section>", 1)[0]  # the article's metadata line, above the body
    assert site and site not in header and issuer_line(bare) is None
    named = bare.model_copy(update={"department": "汉阴县防汛抗旱指挥部"})
    header = render_wechat(named, ctx_of(named), store).files["content"].path.read_text(encoding="utf-8")
    assert "汉阴县防汛抗旱指挥部" in header.split("</section>", 1)[0]
