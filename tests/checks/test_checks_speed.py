"""The checks find exactly what checking every line finds, and a million short lines take seconds (issue 18)."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import hub.checks as checks
from hub.checks.settings import load_check_config
from hub.record import Paragraph, Record

RECORD = Record(id="speed-1", title="测试", index_no="hyx-2026-0001", body=[Paragraph(text="正文")])

pieces = st.sampled_from(["13800138000", "138 0013 8000", "+86 138-0013-8000", "61092119900307123X",
                          "6222021234567890123", "http://evil.example/x", "www.example.com", "https://hanyin.gov.cn/a",
                          "登陆", "帐号", "hyx-2026-0001", "金额 13800138000 元", "１３８００１３８０００", "：", ":", "\t",
                          "第", "行", "1", "23", "4567", " ", "."])
lines = st.lists(st.lists(pieces, max_size=8).map("".join), min_size=1, max_size=30)


def every_line(lines: list[str]) -> list[checks.Finding]:
    """The checks as they ran before the whole-text prefilter: every line, every word entry."""
    original = checks.candidate_lines
    checks.candidate_lines = lambda ls, config: (list(range(len(ls))), config.words)  # type: ignore[assignment]
    try:
        return checks.check_lines(lines, RECORD, load_check_config())
    finally:
        checks.candidate_lines = original  # type: ignore[assignment]


@settings(max_examples=200, deadline=None)
@given(lines)
def test_the_prefilter_finds_exactly_what_every_line_finds(text_lines: list[str]) -> None:
    assert checks.check_lines(text_lines, RECORD, load_check_config()) == every_line(text_lines)


@pytest.mark.slow
def test_a_million_short_lines_are_checked_in_well_under_20_seconds() -> None:
    text_lines = [f"第{i}行 内容" for i in range(1_000_000)]
    text_lines[654321] = "联系电话13800138000"
    start = time.perf_counter()
    found = checks.run_checks(RECORD, source_text="\n".join(text_lines))
    took = time.perf_counter() - start
    assert [(f.kind, f.line) for f in found] == [("mobile", 654322)]
    assert took < 10, f"{took:.1f} s"
