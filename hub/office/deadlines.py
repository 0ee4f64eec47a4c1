"""公开时限 as rules: the catalog's words turned into a must-publish-by date.

The catalog prints each item's deadline as the standard catalogue does
("信息形成或者变更之日起20个工作日内", "实时", "发放前公示，公示期不少于7日",
"年度结束后3个月内"). ``parse_deadline`` reads that text once into a ``Rule``;
``Rule.due(event, calendar)`` gives the last day. What the text does not fix (a
posting period after an act, "及时、准确、全面") falls back to the regulation's
general rule, 《政府信息公开条例》第二十六条: 20 working days from the day the
information is formed or changed, and the rule says so (``fallback``).

Periodic items (``cycle_days`` 7, 31, 92, 183, 365) expect one record per
period; ``periods`` lists them so a missing one is overdue like a late one.
"""

from __future__ import annotations

import calendar as _cal
import datetime as dt
import re
from dataclasses import dataclass
from enum import StrEnum

from hub.office.calendar import WorkCalendar

#: 《政府信息公开条例》第二十六条: the rule when an item names no deadline of its own.
GENERAL_WORKDAYS = 20
GENERAL_BASIS = "《政府信息公开条例》第二十六条：信息形成或者变更之日起20个工作日内"


class Kind(StrEnum):
    AFTER = "after"  # within n units after the event (信息形成、批准、办结、年度结束)
    BEFORE = "before"  # at least n units before the event (发放、招生开始、征收申请)
    IMMEDIATE = "immediate"  # 实时 / 及时: the event's day (or the next working day)


class Unit(StrEnum):
    WORKDAYS = "workdays"
    DAYS = "days"
    MONTHS = "months"


_NUMBER = re.compile(r"(\d+)\s*个?\s*(工作日|日|天|个月|月)")
_UNITS = {"工作日": Unit.WORKDAYS, "日": Unit.DAYS, "天": Unit.DAYS, "个月": Unit.MONTHS, "月": Unit.MONTHS}


@dataclass(frozen=True, slots=True)
class Rule:
    """A parsed 公开时限: publish ``n`` ``unit`` after / before the event, or on its day."""

    kind: Kind
    n: int
    unit: Unit
    text: str
    #: the catalog text fixes no deadline; the general 20-working-day rule applies
    fallback: bool = False
    #: "公示期不少于N日": how long the notice must stay up (informational)
    posting_days: int | None = None

    def due(self, event: dt.date, cal: WorkCalendar) -> dt.date:
        """The last day to have it published, counted from ``event``."""
        if self.kind is Kind.IMMEDIATE:
            return cal.add_workdays(event, 0)
        sign = 1 if self.kind is Kind.AFTER else -1
        if self.unit is Unit.WORKDAYS:
            return cal.add_workdays(event, self.n) if sign > 0 else sub_workdays(cal, event, self.n)
        if self.unit is Unit.DAYS:
            return event + dt.timedelta(days=sign * self.n)
        return add_months(event, sign * self.n)

    def describe(self) -> str:
        """The rule in words for an editor."""
        unit = {Unit.WORKDAYS: "个工作日", Unit.DAYS: "日", Unit.MONTHS: "个月"}[self.unit]
        if self.kind is Kind.IMMEDIATE:
            return "当日（实时）"
        if self.fallback:
            return f"事件之日起{self.n}{unit}内（目录未写明时限，按条例第二十六条）"
        return f"事件之日起{self.n}{unit}内" if self.kind is Kind.AFTER else f"事件之前不少于{self.n}{unit}"


def sub_workdays(cal: WorkCalendar, end: dt.date, n: int) -> dt.date:
    """The working day ``n`` working days before ``end``."""
    day, left = end, n
    while left:
        day -= dt.timedelta(days=1)
        if cal.is_workday(day):
            left -= 1
    return day


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` moved by whole months, clamped to the month's last day (Jan 31 + 1 month = Feb 28)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return dt.date(year, month + 1, min(day.day, _cal.monthrange(year, month + 1)[1]))


def parse_deadline(text: str) -> Rule:
    """Read a catalog 公开时限 into a ``Rule`` (never fails: unknown wording gets the general rule)."""
    clean = text.strip()
    if "实时" in clean or "及时" in clean or "立即" in clean:
        return Rule(Kind.IMMEDIATE, 0, Unit.DAYS, clean)
    m = _NUMBER.search(clean)
    posting = None
    if "公示期" in clean or "公示不少于" in clean or "公告期" in clean:
        if m is not None:
            posting = int(m.group(1)) if _UNITS[m.group(2)] is not Unit.MONTHS else None
    before_at = clean.find("前")
    if before_at != -1:  # "…前，不少于N个工作日", "发放前公示", "开始前30日": the notice precedes the act
        if m is not None and before_at < m.start():
            return Rule(Kind.BEFORE, int(m.group(1)), _UNITS[m.group(2)], clean, posting_days=posting)
        return Rule(Kind.BEFORE, 0, Unit.DAYS, clean, posting_days=posting)
    if m is not None and posting is None and ("内" in clean[m.end():] or "后" in clean[: m.start()]
                                              or "起" in clean[: m.start()]):
        return Rule(Kind.AFTER, int(m.group(1)), _UNITS[m.group(2)], clean)
    return Rule(Kind.AFTER, GENERAL_WORKDAYS, Unit.WORKDAYS, clean, fallback=True, posting_days=posting)


# --- periodic items ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Period:
    """One period of a periodic item: first and last day, and how people name it."""

    start: dt.date
    end: dt.date
    label: str


def period_months(cycle_days: int) -> int | None:
    """Months per period for a periodic ``cycle_days`` (None for weekly or event-driven items)."""
    for lo, hi, months in ((28, 31, 1), (89, 92, 3), (181, 184, 6), (365, 366, 12)):
        if lo <= cycle_days <= hi:
            return months
    return None


def periods(cycle_days: int, since: dt.date, until: dt.date) -> list[Period]:
    """The whole periods of an item with ``cycle_days`` that start on or after ``since`` and end before ``until``.

    Months, quarters, halves and years are calendar-aligned (a quarter is Jan–Mar, …); weeks start on
    Monday. Event-driven items (``cycle_days = 0``) have none.
    """
    out: list[Period] = []
    if cycle_days <= 0:
        return out
    months = period_months(cycle_days)
    if months is None:
        start = since + dt.timedelta(days=(-since.weekday()) % 7)
        step = dt.timedelta(days=cycle_days)
        while start + step <= until:
            end = start + step - dt.timedelta(days=1)
            out.append(Period(start, end, f"{start.isoformat()} 起一周" if cycle_days == 7 else
                              f"{start.isoformat()}—{end.isoformat()}"))
            start += step
        return out
    first = (since.month - 1) // months * months
    start = dt.date(since.year, first + 1, 1)
    if start < since:
        start = add_months(start, months)
    while True:
        end = add_months(start, months) - dt.timedelta(days=1)
        if end >= until:
            return out
        out.append(Period(start, end, _period_label(start, months)))
        start = add_months(start, months)


def _period_label(start: dt.date, months: int) -> str:
    if months == 12:
        return f"{start.year}年"
    if months == 6:
        return f"{start.year}年{'上' if start.month <= 6 else '下'}半年"
    if months == 3:
        return f"{start.year}年第{(start.month - 1) // 3 + 1}季度"
    return f"{start.year}年{start.month}月"
