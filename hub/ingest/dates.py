"""Dates as government pages print them: ``2017-11-15``, ``2017年11月15日``, ``二〇一七年十一月十五日``.

Full-width digits and punctuation are folded first (NFKC), so ``２０１７－１１－１５``
and ``14：52`` work too. A string that has the shape of a date but names an
impossible day (``2017-02-30``) raises ``DateError``: that is bad input, not "no date".
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, time

_CN_DIGITS = {"〇": 0, "○": 0, "零": 0, "Ｏ": 0, "О": 0, "O": 0, "o": 0, "Ο": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4,
              "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_CN = "〇○零ＯОOoΟ一二两三四五六七八九十"

_NUMERIC = re.compile(
    r"(?P<y>\d{4})\s*(?:[-/.]\s*(?P<m1>\d{1,2})\s*[-/.]\s*(?P<d1>\d{1,2})|年\s*(?P<m2>\d{1,2})\s*月\s*(?P<d2>\d{1,2})\s*日?)"
    r"(?:[\sT]*(?P<H>\d{1,2})\s*[:时]\s*(?P<M>\d{1,2})(?:\s*[:分]\s*(?P<S>\d{1,2})\s*秒?)?\s*分?)?"
)
_CHINESE = re.compile(rf"(?P<y>[{_CN}]{{4}})年(?P<m>[{_CN}]{{1,3}})月(?P<d>[{_CN}]{{1,3}})日")


class DateError(ValueError):
    """A date-shaped string that names no real day or time."""


def fold(text: str) -> str:
    """Full-width digits, letters and punctuation to their ASCII forms (for parsing, not for storing)."""
    return unicodedata.normalize("NFKC", text)


def _cn_number(s: str) -> int:
    """十一 → 11, 二十 → 20, 三十一 → 31, 〇五 → 5 (the small numbers of months and days)."""
    if "十" in s:
        tens, _, ones = s.partition("十")
        if len(tens) > 1 or len(ones) > 1:
            raise DateError(f"not a Chinese day or month number: {s}")
        t = _CN_DIGITS[tens] if tens else 1
        return t * 10 + (_CN_DIGITS[ones] if ones else 0)
    value = 0
    for ch in s:
        value = value * 10 + _CN_DIGITS[ch]
    return value


def _make(y: int, m: int, d: int) -> date:
    try:
        return date(y, m, d)
    except ValueError:
        raise DateError(f"impossible date {y:04d}-{m:02d}-{d:02d}") from None


def find_datetime(text: str) -> tuple[date, time | None, tuple[int, int]] | None:
    """The first date (and time, when printed) in ``text`` and its span in the folded text, or None."""
    folded = fold(text)
    m = _NUMERIC.search(folded)
    c = _CHINESE.search(folded)
    if m is not None and (c is None or m.start() <= c.start()):
        day = _make(int(m["y"]), int(m["m1"] or m["m2"]), int(m["d1"] or m["d2"]))
        clock = None
        if m["H"] is not None:
            try:
                clock = time(int(m["H"]), int(m["M"]), int(m["S"] or 0))
            except ValueError:
                raise DateError(f"impossible time {m['H']}:{m['M']}") from None
        return day, clock, m.span()
    if c is not None:
        year = 0
        for ch in c["y"]:
            if ch not in _CN_DIGITS:
                raise DateError(f"not a Chinese year: {c['y']}")
            year = year * 10 + _CN_DIGITS[ch]
        return _make(year, _cn_number(c["m"]), _cn_number(c["d"])), None, c.span()
    return None


def parse_date(text: str) -> date | None:
    """The date in ``text`` when the whole string is one date (surrounding spaces allowed), else None."""
    got = find_datetime(text)
    if got is None:
        return None
    day, clock, (start, end) = got
    rest = (fold(text)[:start] + fold(text)[end:]).strip()
    return day if rest == "" else None


def parse_datetime(text: str) -> datetime | None:
    """A naive datetime (Beijing wall time) when the whole string is a date with an optional time."""
    got = find_datetime(text)
    if got is None:
        return None
    day, clock, (start, end) = got
    folded = fold(text)
    if (folded[:start] + folded[end:]).strip():
        return None
    return datetime.combine(day, clock or time(0, 0))


def has_time(text: str) -> bool:
    """Whether the date string also prints a time of day."""
    got = find_datetime(text)
    return got is not None and got[1] is not None
