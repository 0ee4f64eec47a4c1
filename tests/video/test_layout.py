"""Slides, storyboard and subtitles without encoding: nothing drawn leaves the title-safe area."""

from __future__ import annotations

import io

import pytest
import zxingcpp
from PIL import Image

from hub.record import Heading, Paragraph, Record, Table
from hub.renderers.qr import qr_png
from hub.renderers.video.linebreak import char_width, violations
from hub.renderers.video.profile import StationProfile
from hub.renderers.video.slides import SlideArtist, Still, inside, safe_rect
from hub.renderers.video.storyboard import plan
from hub.renderers.video.subtitles import Cue, chunk, cue_lines, display, parse_srt, to_srt

FONT = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"
TITLE_60 = ("汉阴县人民政府办公室关于印发《汉阴县2026年城乡居民基本医疗保险“一站式”结算"
            "服务实施细则（试行）》及配套考核办法的通知")
URL = "http://127.0.0.1:8000/s/abc2345"


def table_record(title: str = TITLE_60) -> Record:
    rows = [[f"第{i}项补助资金发放对象为全县范围内符合条件的农村低收入家庭", f"{i * 1234.5:.1f}万元", "已发放完毕并公示"]
            for i in range(1, 15)]
    return Record(id="t-table", title=title, department="汉阴县财政局", doc_no="汉财发〔2026〕12号",
                  body=[Heading(level=1, number="一、", text="资金安排"),
                        Paragraph(text="今年共安排补助资金3500万元，其中中央资金2000万元，省级资金1500万元。"),
                        Table(caption="2026年补助资金分配表", header=["项目名称与发放对象", "金额", "进度"], rows=rows)])


@pytest.fixture(scope="module")
def artist() -> SlideArtist:
    return SlideArtist(StationProfile(), FONT, "汉阴县人民政府")


def assert_inside(still: Still) -> None:
    rect = safe_rect(*still.image.size)
    assert still.boxes
    outside = [b for b in still.boxes if not inside(b.box, rect)]
    assert outside == [], f"outside the title-safe area {rect}: {outside}"


def test_the_title_safe_area_is_ninety_percent_of_the_frame() -> None:
    assert safe_rect(1920, 1080) == (96, 54, 1824, 1026)


def test_a_sixty_character_title_stays_inside_the_safe_area(artist: SlideArtist) -> None:
    assert len(TITLE_60) >= 60
    still = artist.title_card(TITLE_60, "汉阴县人民政府办公室", "2026年11月25日", "汉政办发〔2026〕99号")
    assert_inside(still)
    title_lines = [b.text for b in still.boxes if b.role == "title"]
    assert "".join(title_lines).rstrip("…") and TITLE_60.startswith("".join(title_lines).rstrip("…"))
    assert all(char_width(line) <= 16 for line in title_lines)
    assert violations(title_lines) == []


def test_a_long_table_stays_inside_the_safe_area_and_says_how_many_rows(artist: SlideArtist) -> None:
    record = table_record()
    data = next(p for p in plan(record, tv_url=URL, site_name="汉阴县人民政府") if p.kind == "data")
    assert data.table is not None
    still = artist.data_slide(*data.table, total=int(data.meta["total_rows"]))
    assert_inside(still)
    assert any("共 14 行" in b.text for b in still.boxes)


def test_every_slide_of_the_table_record_with_its_subtitles_stays_inside(artist: SlideArtist) -> None:
    record = table_record()
    plans = plan(record, tv_url=URL, site_name="汉阴县人民政府")
    kinds = [p.kind for p in plans]
    assert kinds[0] == "title" and kinds[-1] == "end" and kinds.count("data") == 3 and "point" in kinds
    qr = qr_png(URL)
    for p in plans:
        if p.kind == "title":
            still = artist.title_card(p.text, p.meta["department"], p.meta["date"], p.meta["doc_no"])
        elif p.kind == "point":
            still = artist.point_slide(p.label, p.text, "汉阴县财政局")
        elif p.kind == "data":
            assert p.table is not None
            still = artist.data_slide(*p.table)
        else:
            still = artist.end_card(qr, URL, "汉阴县财政局")
        assert_inside(still)
        for spoken in chunk(p.narration, 18, 2):
            lines = cue_lines(spoken, 18)
            assert 1 <= len(lines) <= 2
            assert_inside(artist.with_subtitle(still, lines))


def test_the_end_card_qr_decodes_to_the_tv_short_link(artist: SlideArtist) -> None:
    still = artist.end_card(qr_png(URL), URL, "汉阴县财政局")
    assert_inside(still)
    assert any(b.text == "扫码查看全文" for b in still.boxes)
    found = zxingcpp.read_barcodes(still.image)
    assert [r.text for r in found] == [URL]


def test_amounts_without_a_table_give_a_data_slide() -> None:
    record = Record(id="t-amounts", title="关于拨付补助资金的通知", department="汉阴县财政局",
                    body=[Paragraph(text="下达涧池镇补助资金120万元，下达城关镇补助资金85.5万元。")])
    data = [p for p in plan(record, tv_url=URL, site_name="x") if p.kind == "data"]
    assert len(data) == 1 and data[0].table is not None
    assert [row[1] for row in data[0].table[2]] == ["120万元", "85.5万元"]


def test_an_editors_tv_override_replaces_the_title_and_the_points() -> None:
    data = table_record().model_dump()
    data["overrides"] = {"tv": {"title": "补助资金到位", "text": "第一点\n第二点"}}
    record = Record.model_validate(data)
    plans = plan(record, tv_url=URL, site_name="x")
    assert plans[0].text == "补助资金到位"
    assert [p.text for p in plans if p.kind == "point"] == ["第一点", "第二点"]


def test_narration_is_cut_into_cues_of_at_most_two_lines_and_nothing_is_lost() -> None:
    text = ("为解决政务公开中存在的现实问题，汉阴县以基层政务公开标准化规范化国家级试点为契机，"
            "围绕征地补偿、扶贫救灾等涉及八个领域37项内容，积极探索基层政务公开的汉阴路径。")
    chunks = chunk(text, 18, 2)
    assert "".join(chunks) == text
    for c in chunks:
        assert len(cue_lines(c, 18)) <= 2
        assert not display(c).endswith(("，", "。"))


def test_srt_round_trips_with_frame_exact_times() -> None:
    cues = [Cue("甲。", ["甲"], 10, 60), Cue("乙丙，", ["乙丙"], 60, 3000)]
    parsed = parse_srt(to_srt(cues, 25))
    assert parsed == [(0.4, 2.4, ["甲"]), (2.4, 120.0, ["乙丙"])]
    with pytest.raises(ValueError):
        parse_srt("1\n00:00:02,000 --> 00:00:01,000\n坏\n")


def test_slides_are_deterministic(artist: SlideArtist) -> None:
    a = artist.title_card(TITLE_60, "部门", "2026年1月1日", "")
    b = artist.title_card(TITLE_60, "部门", "2026年1月1日", "")
    buf_a, buf_b = io.BytesIO(), io.BytesIO()
    a.image.save(buf_a, "PPM")
    b.image.save(buf_b, "PPM")
    assert buf_a.getvalue() == buf_b.getvalue()
    assert Image.open(io.BytesIO(buf_a.getvalue())).size == (1920, 1080)


SPEECHES = [
    "习近平总书记在中央经济工作会议上发表重要讲话，深刻分析当前经济形势，系统部署明年经济工作。",
    "为深入贯彻落实中、省、市关于进一步深化行政管理体制改革精神，促进我县加快简政放权、转变职能、优化服务、提质提效，经政府同意，现就关于推出五公开落地创新措施的通知如下。",
    "城市低保标准提高到每人每月720元，农村低保标准提高到每人每年5400元，自2026年1月1日起执行。",
]


@pytest.mark.parametrize("text", SPEECHES)
def test_subtitle_cues_break_between_jieba_words_and_leave_no_one_character_line(text: str) -> None:
    import jieba

    words = jieba.lcut(text, HMM=False)
    inside_word = {sum(len(w) for w in words[:i]) + k for i, w in enumerate(words) for k in range(1, len(w))
                   if len(w) > 1 and all("\u4e00" <= ch <= "\u9fff" for ch in w)}
    pos = 0
    for spoken in chunk(text, 18, 2):
        lines = cue_lines(spoken, 18, 2)
        assert 1 <= len(lines) <= 2
        assert all(len(line) >= 2 for line in lines), lines
        assert all(char_width(line) <= 18 for line in lines)
        # every cue and line boundary falls between words
        offset = pos
        for line in lines[:-1]:
            at = text.index(line, offset) + len(line)
            assert at not in inside_word, (line, lines)
            offset = at
        pos = text.index(spoken, pos) + len(spoken)
        assert pos == len(text) or pos not in inside_word, spoken
    assert pos == len(text)


def test_every_cue_lasts_at_least_one_second() -> None:
    import numpy as np

    from hub.renderers.video.narration import Speech
    from hub.renderers.video.timeline import build

    profile = StationProfile()
    plans = plan(table_record(), tv_url=URL, site_name="x")[:2]
    chunks = [chunk(p.narration, 18, 2) for p in plans]
    lines = [[cue_lines(c, 18) for c in cs] for cs in chunks]
    short = Speech(np.ones(2205, dtype=np.int16), 22050)  # 0.1 s of speech per cue
    tl = build(profile, plans, chunks, lines, [[short] * len(cs) for cs in chunks])
    assert tl.cues and all(c.end - c.start >= 25 for c in tl.cues)
