"""The working-day calendar: national holidays with their adjusted Saturdays, county overrides, the CLI."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hub.errors import ConfigError
from hub.office.calendar import WorkCalendar, load_calendar

D = dt.date
CAL = WorkCalendar()


def test_national_day_2026_is_off_and_its_adjusted_saturday_is_worked() -> None:
    assert not CAL.is_workday(D(2026, 10, 1))
    assert not CAL.is_workday(D(2026, 10, 7))  # a Wednesday inside the holiday
    assert CAL.is_workday(D(2026, 10, 10))  # Saturday worked (调休)
    assert CAL.is_workday(D(2026, 9, 20))  # Sunday worked before the holiday


def test_adding_working_days_across_national_day_skips_the_holiday_and_counts_the_saturday() -> None:
    assert CAL.add_workdays(D(2026, 9, 30), 1) == D(2026, 10, 8)
    assert CAL.add_workdays(D(2026, 9, 30), 3) == D(2026, 10, 10)
    assert CAL.add_workdays(D(2026, 9, 30), 4) == D(2026, 10, 12)


def test_adding_working_days_across_the_spring_festival_counts_both_adjusted_saturdays() -> None:
    assert CAL.add_workdays(D(2026, 2, 13), 1) == D(2026, 2, 14)  # Saturday worked
    assert CAL.add_workdays(D(2026, 2, 14), 1) == D(2026, 2, 24)  # 15–23 off
    assert CAL.add_workdays(D(2026, 2, 27), 1) == D(2026, 2, 28)  # Saturday worked
    # 20 working days from 2026-02-10 (the usual 公开时限): 3, 14th, 24–27, 28th, 2 weeks, 16th;
    # Mon–Fri counting would say 2026-03-10
    assert CAL.add_workdays(D(2026, 2, 10), 20) == D(2026, 3, 16)


def test_workdays_between_is_the_inverse_of_add_workdays() -> None:
    start = D(2025, 9, 26)
    for n in (1, 5, 12, 30):
        assert CAL.workdays_between(start, CAL.add_workdays(start, n)) == n


def test_a_year_the_package_lacks_is_reported_and_counted_monday_to_friday() -> None:
    first, last = WorkCalendar.package_years()
    missing = last + 1
    assert CAL.uncovered_years(D(last, 6, 1), D(missing, 1, 1)) == [missing]
    jan1 = D(missing, 1, 1)
    assert CAL.is_workday(jan1) == (jan1.weekday() < 5)


def test_the_county_file_adds_local_days_and_a_missing_year(tmp_path: Path) -> None:
    path = tmp_path / "calendar.toml"
    path.write_text(
        '[[days]]\ndate = 2026-10-12\nworkday = false\nname = "县庆"\n\n'
        '[years.2027]\nsource = "国办发明电（示例）"\nholidays = [2027-01-01]\nworkdays = [2027-01-02]\n',
        encoding="utf-8",
    )
    cal = load_calendar(path)
    assert not cal.is_workday(D(2026, 10, 12))
    assert cal.add_workdays(D(2026, 9, 30), 4) == D(2026, 10, 13)
    assert not cal.is_workday(D(2027, 1, 1)) and cal.is_workday(D(2027, 1, 2))
    assert cal.uncovered_years(D(2027, 3, 1)) == []


def test_a_mistake_in_the_county_file_names_the_key(tmp_path: Path) -> None:
    path = tmp_path / "calendar.toml"
    path.write_text('[[days]]\ndate = 2026-10-12\nworkday = "no"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"calendar.toml: days\[0\].workday"):
        load_calendar(path)


def test_the_cli_adds_working_days_and_says_whether_a_day_is_worked() -> None:
    from hub.cli import _register, app

    _register()
    runner = CliRunner()
    out = runner.invoke(app, ["calendar", "add-workdays", "2026-09-30", "3"])
    assert out.exit_code == 0 and out.stdout.strip() == "2026-10-10"
    assert runner.invoke(app, ["calendar", "is-workday", "2026-02-28"]).exit_code == 0
    assert runner.invoke(app, ["calendar", "is-workday", "2026-10-02"]).exit_code == 1
    bad = runner.invoke(app, ["calendar", "is-workday", "2026-13-01"])
    assert bad.exit_code == 2 and "YYYY-MM-DD" in bad.stderr
