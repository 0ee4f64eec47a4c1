"""Chinese line breaking (禁则): closing punctuation never starts a line, opening never ends one."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from hub.renderers.video.linebreak import NO_END, NO_START, break_lines, char_width, violations

CJK = st.text(alphabet=st.characters(min_codepoint=0x4E00, max_codepoint=0x4FFF), min_size=1, max_size=9)
CLOSE = st.sampled_from(list("，。、；：？！）》”"))
OPEN = st.sampled_from(list("（《“"))


@st.composite
def sentences(draw: st.DrawFn) -> str:
    """Realistic text: CJK runs, each followed by at most one closing mark or preceded by one opening mark."""
    out = ""
    for _ in range(draw(st.integers(1, 12))):
        run = draw(CJK)
        if draw(st.booleans()):
            run = draw(OPEN) + run
        if draw(st.booleans()):
            run += draw(CLOSE)
        if draw(st.booleans()):
            run += str(draw(st.integers(0, 99999)))
        out += run
    return out


def test_a_comma_that_would_start_a_line_pulls_the_previous_character_down() -> None:
    lines = break_lines("一二三四五六七八九十一二三四五六，七八", 16)
    assert lines == ["一二三四五六七八九十一二三四五", "六，七八"]


def test_an_opening_bracket_never_ends_a_line() -> None:
    lines = break_lines("一二三四五六七八九十一二三四五《六七》", 16)
    assert not lines[0].endswith("《")
    assert lines[1].startswith("《")


def test_numbers_and_latin_words_are_never_split() -> None:
    lines = break_lines("汉阴县人民政府办公室关于推出的通知2017年", 16)
    assert all("2017" in line or "20" not in line for line in lines)
    assert "".join(lines) == "汉阴县人民政府办公室关于推出的通知2017年"


def test_the_doc_number_bracket_stays_with_its_year() -> None:
    lines = break_lines("汉阴县人民政府办公室文件汉政办通字〔2017〕168号", 16)
    assert violations(lines) == []
    assert all(not line.endswith("〔") for line in lines)


def test_ascii_counts_half_a_cell() -> None:
    assert char_width("ab") == 1.0
    assert char_width("汉字") == 2.0


@settings(max_examples=200, deadline=None)
@given(text=sentences(), width=st.integers(6, 18))
def test_realistic_text_breaks_within_width_without_rule_violations_or_loss(text: str, width: int) -> None:
    lines = break_lines(text, width)
    assert "".join(lines) == text
    assert all(char_width(line) <= width for line in lines)
    for i, line in enumerate(lines):
        if i:
            assert line[0] not in NO_START, lines
        if i < len(lines) - 1:
            assert line[-1] not in NO_END, lines
