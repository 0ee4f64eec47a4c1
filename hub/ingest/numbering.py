"""The numbering of Chinese official-document headings: 一、 / （一） / 1. / （1） / 第一章.

GB/T 9704 fixes the hierarchy 一、 → （一） → 1. → （1）. The number is kept
exactly as written (the record shows what the document says); ``check_sequence``
reports numbers that repeat or skip, because a published document with two
sections 二、 is an error someone should look at, not something to silently fix.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_CN_NUM = "零〇一二三四五六七八九十百"
_PATTERNS: tuple[tuple[re.Pattern[str], int, str], ...] = (
    (re.compile(rf"^(第[{_CN_NUM}\d]+[章编])\s*"), 1, "chapter"),
    (re.compile(rf"^(第[{_CN_NUM}\d]+节)\s*"), 2, "section"),
    (re.compile(rf"^([{_CN_NUM}]+、)\s*"), 1, "cn"),
    (re.compile(rf"^([（(][{_CN_NUM}]+[）)]、?)\s*"), 2, "paren-cn"),
    (re.compile(r"^(\d{1,3}(?:[.．](?!\d)|、))\s*"), 3, "arabic"),
    (re.compile(r"^([（(]\d{1,3}[）)])\s*"), 4, "paren-arabic"),
)
#: a plain line longer than this, or ending like a sentence, is a paragraph, not a heading
MAX_TITLE_CHARS = 40
_SENTENCE_END = ("。", "；", ";", "：", ":", "，", ",", "！", "？", "?", "!")


@dataclass(frozen=True, slots=True)
class Numbered:
    """A heading number split off its text."""

    number: str
    text: str
    level: int
    style: str


def split_number(text: str) -> Numbered | None:
    """The leading heading number of ``text``, or None when it has none."""
    for pattern, level, style in _PATTERNS:
        m = pattern.match(text)
        if m is not None:
            rest = text[m.end():]
            if style == "cn" and not rest:
                return None
            return Numbered(m.group(1), rest, level, style)
    return None


def heading_line(text: str) -> Numbered | None:
    """A plain line that is a numbered short title (``一、指导思想``), or None."""
    numbered = split_number(text.strip())
    if numbered is None or not numbered.text.strip():
        return None
    body = numbered.text.strip()
    if len(body) > MAX_TITLE_CHARS or body.endswith(_SENTENCE_END) or "。" in body:
        return None
    return numbered


_DIGIT_VALUES = {"零": 0, "〇": 0, "一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}


def number_value(number: str) -> int | None:
    """The integer a heading number stands for (``二、`` → 2, ``（十一）`` → 11, ``3.`` → 3)."""
    core = re.sub(r"[第章编节、（）().．\s]", "", number)
    if core.isdigit():
        return int(core)
    if not core or any(ch not in _DIGIT_VALUES and ch not in "十百" for ch in core):
        return None
    total, current = 0, 0
    for ch in core:
        if ch == "百":
            total += (current or 1) * 100
            current = 0
        elif ch == "十":
            total += (current or 1) * 10
            current = 0
        else:
            current = current * 10 + _DIGIT_VALUES[ch] if current else _DIGIT_VALUES[ch]
    return total + current


def check_sequence(headings: list[tuple[Numbered, int | None]]) -> list[str]:
    """Warnings for heading numbers that repeat or skip within their level.

    ``headings`` are (numbered, source line) in document order; a higher-level
    heading restarts the counting of every level below it.
    """
    warnings: list[str] = []
    last: dict[tuple[int, str], int] = {}
    for numbered, line in headings:
        for key in [k for k in last if k[0] > numbered.level]:
            del last[key]
        value = number_value(numbered.number)
        if value is None:
            continue
        key = (numbered.level, numbered.style)
        previous = last.get(key)
        expected = 1 if previous is None else previous + 1
        where = f"line {line}: " if line is not None else ""
        if previous is not None and value == previous:
            warnings.append(f"{where}heading number {numbered.number} repeats the previous one "
                            f"({numbered.number}{numbered.text}); kept as written")
        elif value != expected:
            warnings.append(f"{where}heading number {numbered.number} where number {expected} was expected; "
                            f"kept as written")
        last[key] = value
    return warnings
