"""The narration is Mandarin a listener understands: speech text and the Mandarin QC of the voice."""

from __future__ import annotations

import pytest

from hub.ingest import ingest_path
from hub.renderers.video import storyboard
from hub.renderers.video.mandarin import judge, language_switches
from hub.renderers.video.narration import EspeakNarrator, decode_wav
from hub.renderers.video.package import narration_check
from hub.renderers.video.qc import QCReport
from hub.renderers.video.speech import QR_PHRASE, speech_text
from hub.renderers.video.subtitles import chunk
from hub.settings import PROJECT_ROOT

SAMPLE = PROJECT_ROOT / "samples" / "hanyin-2017-168-wugongkai.txt"
NUMBERS = ("根据汉政办通字〔2017〕168号文件，2018年3月15日起，补助标准提高12.5%，"
           "每户每年发放1,200元，共计3.5亿元，覆盖面积35㎡以上的住房。"
           "家长可登录 http://edu.hanyin.gov.cn/zs 查询，咨询电话0915-5212345，办理时间9:30至17:00。")


@pytest.mark.parametrize(("screen", "said"), [
    ("汉政办通字〔2017〕168号", "汉政办通字二〇一七年第一百六十八号"),
    ("增长12.5%", "增长百分之十二点五"),
    ("共计1,200万元", "共计一千二百万元"),
    ("成文日期：2017-11-15", "成文日期：二〇一七年十一月十五日"),
    ("2016—2020年", "二〇一六至二〇二〇年"),
    ("面积35㎡，全长3km", "面积三十五平方米，全长三公里"),
    ("咨询电话0915-5212345", "咨询电话〇九一五五二一二三四五"),
    ("3-5个工作日", "三至五个工作日"),
    ("上午9:30", "上午九点三十分"),
    ("“互联网+政务公开”全平台模式", "互联网加政务公开全平台模式"),
])
def test_numbers_dates_and_units_are_read_as_an_announcer_reads_them(screen: str, said: str) -> None:
    assert speech_text(screen) == said


def test_a_url_becomes_the_qr_phrase_and_is_never_read_aloud() -> None:
    said = speech_text("家长可登录 http://edu.hanyin.gov.cn/zs 查询")
    assert said == f"家长可{QR_PHRASE}查询"
    assert speech_text("扫码查看全文，或访问www.hanyin.gov.cn") .count(QR_PHRASE) == 1
    assert not any(c.isascii() and c.isalnum() for c in speech_text(NUMBERS))


def _cues(text: str) -> list[str]:
    return [speech_text(c) for c in chunk(text, 18, 2)]


def _sample_cues() -> list[str]:
    record = ingest_path(SAMPLE)[0].record
    plans = storyboard.plan(record, tv_url="https://hub.example/t/abc", site_name="汉阴县人民政府")
    return [c for p in plans for c in _cues(p.narration)]


@pytest.mark.parametrize("source", ["sample", "numbers"])
def test_the_mandarin_voice_passes_the_mandarin_qc(source: str) -> None:
    texts = _sample_cues() if source == "sample" else _cues(NUMBERS)
    narrator = EspeakNarrator("cmn-latn-pinyin")
    speech = [decode_wav(narrator.synthesize(t)) for t in texts]
    report = QCReport()
    narration_check(report, [texts], [list(speech)], narrator)
    assert report.passed, report.failed
    assert report.facts["narration"]["lines"] == len(texts) >= 3


def test_the_old_cmn_voice_fails_the_mandarin_qc() -> None:
    """espeak-ng 1.51's ``cmn`` reads 扫码 as English "sao three ma three": the trace shows (en)."""
    texts = _cues(NUMBERS)[:3]
    narrator = EspeakNarrator("cmn")
    speech = [decode_wav(narrator.synthesize(t)) for t in texts]
    report = QCReport()
    narration_check(report, [texts], [list(speech)], narrator)
    assert not report.passed
    assert all("读音切换到其他语言（en）" in line["problems"] for line in report.failed[0].measured["bad_lines"])


def test_a_url_left_in_the_speech_text_fails_the_narration_qc() -> None:
    screen = "家长可登录 http://edu.hanyin.gov.cn/zs 查询"
    assert "en" in language_switches(screen)
    voice = decode_wav(EspeakNarrator().synthesize(screen))
    (verdict,) = judge([screen], [voice], "cmn-latn-pinyin")
    assert any("读音切换到其他语言" in p for p in verdict.problems)
    assert any("外文字母" in p for p in verdict.problems)
    assert language_switches(speech_text(screen)) == []


def test_silence_where_text_was_expected_fails() -> None:
    import numpy as np

    from hub.renderers.video.narration import Speech

    voice = decode_wav(EspeakNarrator().synthesize("汉阴县人民政府办公室发布通知"))
    gap = np.zeros(voice.rate * 2, dtype=np.int16)
    holed = Speech(np.concatenate([voice.samples[: len(voice.samples) // 2], gap,
                                   voice.samples[len(voice.samples) // 2:]]), voice.rate)
    mute = Speech(np.zeros(voice.rate * 3, dtype=np.int16), voice.rate)
    fine, with_gap, silent = judge(["汉阴县人民政府办公室发布通知"] * 3, [voice, holed, mute], None)
    assert fine.problems == []
    assert any("有字无声" in p for p in with_gap.problems)
    assert any("有字无声" in p for p in silent.problems)


def test_a_truncated_line_does_not_fit_its_text() -> None:
    voice = decode_wav(EspeakNarrator().synthesize("汉阴"))
    (verdict,) = judge(["汉阴县人民政府办公室关于推出五公开落地创新措施的通知"], [voice], None)
    assert any("时长与文字不符" in p for p in verdict.problems)


