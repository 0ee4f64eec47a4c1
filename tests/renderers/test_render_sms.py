"""The SMS rendition: Tencent template, parameters, opt-out, carrier segment counting, budget."""

from __future__ import annotations

import dataclasses

import pytest
from renderkit import load_record

from hub.errors import RenderError
from hub.record import ChannelOverride
from hub.renderers.sms import count_units, department_short, render_sms, segments


@pytest.mark.parametrize(("text", "expected"), [
    ("汉" * 70, 1), ("汉" * 71, 2), ("汉" * 134, 2), ("汉" * 135, 3),
    ("a" * 160, 1), ("a" * 161, 2), ("a" * 306, 2), ("a" * 307, 3),
    ("a" * 159 + "€", 2),          # a GSM-7 extension character takes two septets
    ("a" * 69 + "é", 1),           # é is in the GSM-7 basic set
    ("a" * 69 + "汉", 1),           # one CJK character makes the whole text UCS-2: 70 units
    ("😀" * 35, 1), ("😀" * 36, 2),  # an emoji is two UTF-16 units
])
def test_segments_are_counted_as_carriers_do(text: str, expected: int) -> None:
    """70/67 for UCS-2, 160/153 for GSM-7, extension characters and emoji count double."""
    assert segments(text) == expected


def test_the_sample_sms_fills_the_approved_template(ctx_of, store) -> None:  # type: ignore[no-untyped-def]
    """Signature in 【】, template params ≤ 6 characters without URLs, opt-out, one segment, signature counted."""
    record = load_record("sample")
    ctx = ctx_of(record)
    facts = render_sms(record, ctx, store).facts
    code = ctx.short_codes["sms"]
    assert facts["params"] == ["汉阴县政府办", code]
    assert facts["text"] == f"【汉阴县人民政府】汉阴县政府办发布新公开信息，详见hanyin.gov.cn/s/{code} 拒收请回复R"
    assert facts["template_id"] == "2017168"
    assert facts["segments"] == 1 and facts["chars"] == len(facts["text"]) == count_units(facts["text"])[0]


def test_office_names_are_abbreviated_to_the_parameter_limit() -> None:
    """Stock abbreviations first, then the region prefix goes."""
    assert department_short("汉阴县人民政府办公室", 6) == "汉阴县政府办"
    assert department_short("汉阴县城关镇人民政府", 6) == "城关镇政府"
    assert department_short("汉阴县自然资源局", 6) == "自然资源局"


def test_an_override_that_keeps_the_template_wins(ctx_of, store) -> None:  # type: ignore[no-untyped-def]
    """An editor may change the parameters, and may include the signature."""
    record = load_record("sample")
    text = "【汉阴县人民政府】县水利局发布新公开信息，详见hanyin.gov.cn/s/abc123 拒收请回复R"
    record = record.model_copy(update={"overrides": {"sms": ChannelOverride(text=text)}})
    facts = render_sms(record, ctx_of(record), store).facts
    assert facts["params"] == ["县水利局", "abc123"]
    assert facts["text"] == text


@pytest.mark.parametrize(("text", "message"), [
    ("县水利局提醒：请及时查看公开信息", "does not match the approved template"),
    ("县水利局与县财政局联合发布新公开信息，详见hanyin.gov.cn/s/abc123 拒收请回复R", "param_max_chars 6"),
    ("a.cn发布新公开信息，详见hanyin.gov.cn/s/abc123 拒收请回复R", "contains a URL"),
])
def test_an_override_that_breaks_the_template_is_an_error_naming_the_rule(ctx_of, store, text: str, message: str) -> None:  # type: ignore[no-untyped-def]
    """Changing fixed text, a long parameter or a URL in a parameter → RenderError that says which."""
    record = load_record("sample").model_copy(update={"overrides": {"sms": ChannelOverride(text=text)}})
    with pytest.raises(RenderError, match=message):
        render_sms(record, ctx_of(record), store)


def test_a_message_over_budget_is_an_error_naming_the_budget(ctx_of, store) -> None:  # type: ignore[no-untyped-def]
    """A template that needs two segments with a one-segment budget → RenderError '2 segments > budget 1'."""
    record = load_record("sample")
    ctx = ctx_of(record)
    sms = {**ctx.settings["render"]["sms"], "template": "{1}" + "发布新公开信息" * 9 + "，详见hanyin.gov.cn/s/{2} 拒收请回复R"}
    ctx = dataclasses.replace(ctx, settings={**ctx.settings, "render": {**ctx.settings["render"], "sms": sms}})
    with pytest.raises(RenderError, match=r"2 segments > budget 1"):
        render_sms(record, ctx, store)


def test_a_template_without_opt_out_wording_is_refused(ctx_of, store) -> None:  # type: ignore[no-untyped-def]
    """Notification SMS must tell people how to refuse them."""
    record = load_record("sample")
    ctx = ctx_of(record)
    sms = {**ctx.settings["render"]["sms"], "template": "{1}发布新公开信息，详见hanyin.gov.cn/s/{2}"}
    ctx = dataclasses.replace(ctx, settings={**ctx.settings, "render": {**ctx.settings["render"], "sms": sms}})
    with pytest.raises(RenderError, match="opt-out"):
        render_sms(record, ctx, store)
