"""``hub calendar …``, ``hub overdue``, ``hub inspect``: the office's desk from the command line.

Thin: parse, call ``hub.office``, print. Dates are local (Asia/Shanghai) calendar days.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any

import typer

from hub.cli import app, clean_errors
from hub.errors import InputError
from hub.office.calendar import get_calendar

cal_app = typer.Typer(help="Working days of mainland China and this county (工作日).", no_args_is_help=True)
app.add_typer(cal_app, name="calendar")

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]


def _dump(obj: Any) -> None:
    typer.echo(json.dumps(obj, ensure_ascii=False, indent=2, default=str))


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise InputError(f"日期格式应为 YYYY-MM-DD：{value!r}") from None


def _warn_uncovered(*days: dt.date) -> None:
    for year in get_calendar().uncovered_years(*days):
        typer.echo(
            f"注意：{year} 年的法定节假日尚无数据（chinese-calendar 未收录，config/calendar.toml 也未补充），"
            "按周一至周五计算。",
            err=True,
        )


@cal_app.command("add-workdays")
@clean_errors
def add_workdays(
    date: Annotated[str, typer.Argument(help="Start day, YYYY-MM-DD (day 0).")],
    n: Annotated[int, typer.Argument(help="Working days to add (N个工作日).", min=0)],
) -> None:
    """The N-th working day after DATE (what "之日起N个工作日内" makes the last day)."""
    start = _date(date)
    end = get_calendar().add_workdays(start, n)
    _warn_uncovered(start, end)
    typer.echo(end.isoformat())


@cal_app.command("is-workday")
@clean_errors
def is_workday(date: Annotated[str, typer.Argument(help="A day, YYYY-MM-DD.")]) -> None:
    """Print yes or no; exit status 0 for a working day, 1 for a day off."""
    day = _date(date)
    _warn_uncovered(day)
    ok = get_calendar().is_workday(day)
    typer.echo("yes 工作日" if ok else "no 休息日")
    raise typer.Exit(0 if ok else 1)
