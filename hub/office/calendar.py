"""The working-day calendar of mainland China, with the county's own days on top.

Legal deadlines (公开时限 "20个工作日内") count working days, and the national
calendar is not Monday to Friday: holidays move working days onto Saturdays and
Sundays (调休). The national table comes from the maintained ``chinese-calendar``
package (its public ``holidays`` / ``workdays`` tables), never typed in here.

``config/calendar.toml`` adds what the package cannot know:
- ``[[days]]`` local days (a county holiday, a make-up working day), and
- ``[years.<year>]`` a year the installed package does not cover yet (the State
  Council announces each year's table in the autumn; a package release follows
  later). A year neither covers falls back to Monday–Friday and is reported by
  ``uncovered_years`` so operators see that the answer is a guess.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import chinese_calendar
from pydantic import BaseModel, ConfigDict, Field, StrictBool, ValidationError

from hub.config import invalid, read_toml
from hub.errors import InputError
from hub.settings import get_settings

CALENDAR_FILE = "calendar.toml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LocalDay(_Strict):
    """One county-specific day: ``workday = false`` is a local holiday, ``true`` a make-up working day."""

    date: dt.date
    workday: StrictBool
    name: str = ""


class Year(_Strict):
    """A year the package lacks: its holidays and adjusted working days, with the notice they come from."""

    source: str = Field(min_length=1)
    holidays: tuple[dt.date, ...] = ()
    workdays: tuple[dt.date, ...] = ()


class CalendarFile(_Strict):
    days: tuple[LocalDay, ...] = ()
    years: dict[int, Year] = {}


@dataclass(frozen=True)
class WorkCalendar:
    """Working days: the package's national table, the file's years, then the county's local days."""

    local: dict[dt.date, bool] = field(default_factory=dict)
    extra_years: dict[int, Year] = field(default_factory=dict)

    @staticmethod
    def package_years() -> tuple[int, int]:
        """The first and last year the installed ``chinese-calendar`` knows."""
        return _package_years()

    def covers(self, year: int) -> bool:
        """Does a published table (package or file) say which days of ``year`` are worked?"""
        first, last = self.package_years()
        return first <= year <= last or year in self.extra_years

    def is_workday(self, day: dt.date) -> bool:
        """Is ``day`` a working day in this county?"""
        if day in self.local:
            return self.local[day]
        first, last = self.package_years()
        if first <= day.year <= last:
            if day in chinese_calendar.workdays:
                return True
            if day in chinese_calendar.holidays:
                return False
            return day.weekday() < 5
        extra = self.extra_years.get(day.year)
        if extra is not None:
            if day in extra.workdays:
                return True
            if day in extra.holidays:
                return False
        return day.weekday() < 5

    def add_workdays(self, start: dt.date, n: int) -> dt.date:
        """The ``n``-th working day after ``start`` (``start`` itself is day 0, as "之日起N个工作日内" reads).

        ``n = 0`` is ``start`` when it is a working day, else the next one.
        """
        if n < 0:
            raise InputError(f"工作日数不能为负数：{n}")
        day = start
        if n == 0:
            while not self.is_workday(day):
                day += dt.timedelta(days=1)
            return day
        left = n
        while left:
            day += dt.timedelta(days=1)
            if self.is_workday(day):
                left -= 1
        return day

    def workdays_between(self, start: dt.date, end: dt.date) -> int:
        """Working days after ``start`` up to and including ``end`` (0 when ``end <= start``)."""
        count, day = 0, start
        while day < end:
            day += dt.timedelta(days=1)
            count += self.is_workday(day)
        return count

    def uncovered_years(self, *days: dt.date) -> list[int]:
        """Years among ``days`` for which the answer is only Monday–Friday (no table known)."""
        return sorted({d.year for d in days if not self.covers(d.year)})


@lru_cache(maxsize=1)
def _package_years() -> tuple[int, int]:
    years = [d.year for d in chinese_calendar.holidays]
    return min(years), max(years)


def load_calendar(path: Path) -> WorkCalendar:
    """The calendar with the overrides of ``path`` (a missing file means no overrides)."""
    if not path.exists():
        return WorkCalendar()
    try:
        data = CalendarFile.model_validate(read_toml(path))
    except ValidationError as exc:
        raise invalid(path, exc) from None
    return WorkCalendar(local={d.date: d.workday for d in data.days}, extra_years=dict(data.years))


@lru_cache(maxsize=4)
def _cached(path: Path, mtime_ns: int) -> WorkCalendar:
    return load_calendar(path)


def get_calendar() -> WorkCalendar:
    """This installation's calendar (``config_dir/calendar.toml``), reloaded when the file changes."""
    path = get_settings().config_dir / CALENDAR_FILE
    try:
        mtime = path.stat().st_mtime_ns
    except FileNotFoundError:
        mtime = 0
    return _cached(path, mtime)
