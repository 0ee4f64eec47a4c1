"""The extractive summary and key points."""

from __future__ import annotations

import re

import pytest
from renderkit import RECORDS, load_record

from hub.errors import RenderError
from hub.record import ChannelOverride, Paragraph, Record
from hub.renderers.summary import MAX_CHARS, render_summary, summarize


def _norm(text: str) -> str:
    return re.sub(r"[。：:]$", "", text)


def test_the_sample_summary_says_what_the_notice_does() -> None:
    """For the sample the summary carries 推出“五公开”落地创新措施, not just the first line."""
    s = summarize(load_record("sample"))
    assert "推出“五公开”落地创新措施" in s.text
    assert len(s.text) <= MAX_CHARS
    assert 1 <= len(s.sentences) <= 3


@pytest.mark.parametrize("name", RECORDS)
def test_summary_sentences_are_the_records_own_words(name: str) -> None:
    """Every summary sentence appears in the body (up to its final punctuation), and the whole fits 120 characters."""
    record = load_record(name)
    body = "".join(record.body_text())
    s = summarize(record)
    assert s.text and len(s.text) <= MAX_CHARS
    for sentence in s.sentences:
        assert _norm(sentence) in body


@pytest.mark.parametrize("name", RECORDS)
def test_key_points_are_up_to_six_short_sentences_of_the_body(name: str) -> None:
    """Each record yields up to 6 key points (3 when it has that many sentences), short, without repeats,
    each the start of one of the body's own sentences."""
    record = load_record(name)
    points = summarize(record).key_points
    assert 2 <= len(points) <= 6
    assert len(set(points)) == len(points)
    assert all(0 < len(p) <= 40 for p in points)
    body = "".join(record.body_text())
    assert all(p.rstrip("…") in body for p in points)


def test_key_points_are_never_section_headings() -> None:
    """The sample's numbered sections (指导思想, 规范公开内容) are headings, not points (issue 11)."""
    points = summarize(load_record("sample")).key_points
    assert len(points) >= 3
    assert not {"指导思想", "规范公开内容", "规范发布程序"} & set(points)


def test_the_summary_takes_no_title_addressee_caption_or_boilerplate_line() -> None:
    """Lines without end punctuation, the addressee line and 来源/浏览次数 lines are never summary material."""
    record = Record(id="x", title="关于开展农村饮水安全排查的通知", body=[
        Paragraph(text="关于开展农村饮水安全排查的通知"),
        Paragraph(text="各镇人民政府，县级各有关部门："),
        Paragraph(text="来源：汉阴县水利局网站，浏览次数：1234。"),
        Paragraph(text="图为工作人员检测水质"),
        Paragraph(text="县水利局将于十二月开展农村饮水安全排查，重点排查水源保护和水质检测情况。"),
    ])
    s = summarize(record)
    assert s.sentences == ["县水利局将于十二月开展农村饮水安全排查，重点排查水源保护和水质检测情况。"]


def test_the_summary_is_not_a_hard_coded_first_paragraph() -> None:
    """A later sentence that carries the title's topic wins over an opening formula."""
    record = Record(id="x", title="关于开展农村饮水安全排查的通知", body=[
        Paragraph(text="各镇人民政府，县级各有关部门：根据上级工作安排，结合我县实际情况，特作如下安排。"),
        Paragraph(text="县水利局将于十二月开展农村饮水安全排查，重点排查水源保护和水质检测情况。"),
        Paragraph(text="请各单位高度重视，认真组织实施。"),
    ])
    assert "饮水安全排查" in summarize(record).text


def test_summary_override_wins_and_is_still_checked(ctx_of, store) -> None:  # type: ignore[no-untyped-def]
    """An editor's summary replaces the generated one; one over 120 characters is a RenderError naming the limit."""
    base = load_record("sample")
    mine = base.model_copy(update={"overrides": {"summary": ChannelOverride(text="县政府办推出五公开创新措施。")}})
    assert render_summary(mine, ctx_of(mine), store).facts["text"] == "县政府办推出五公开创新措施。"
    long = base.model_copy(update={"overrides": {"summary": ChannelOverride(text="长" * 121)}})
    with pytest.raises(RenderError, match="121 characters > limit 120"):
        render_summary(long, ctx_of(long), store)


def test_a_record_without_body_summarises_its_title() -> None:
    """No sentences at all: the title (cut at a clause) stands in."""
    s = summarize(Record(id="x", title="关于某事项的公告"))
    assert s.text == "关于某事项的公告"
