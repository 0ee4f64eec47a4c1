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


@app.command()
@clean_errors
def overdue(
    as_json: JsonOpt = False,
    department: Annotated[str | None, typer.Option("--department", help="Only this department.")] = None,
    today: Annotated[str | None, typer.Option("--today", help="Evaluate as of this day (YYYY-MM-DD).")] = None,
) -> None:
    """Overdue and due-soon records (公开时限 in working days), and missing periodic records.

    Exit status 1 when anything is overdue (so a cron job can alert).
    """
    from hub.office.overdue import evaluate
    from hub.store.db import session_scope

    with session_scope() as s:
        desk = evaluate(s, today=_date(today) if today else None)
    if department is not None:
        desk.entries = desk.for_department(department)
    if as_json:
        _dump(desk.to_json())
    else:
        for year in desk.uncovered_years:
            typer.echo(f"注意：{year} 年的法定节假日尚无数据，按周一至周五计算。", err=True)
        if not desk.entries:
            typer.echo(f"{desk.today.isoformat()}：没有逾期或即将到期的事项。")
        for where, entries in desk.grouped().items():
            typer.echo(where)
            for e in entries:
                flag = f"逾期{e.workdays_late}个工作日" if e.status == "overdue" else "即将到期"
                what = f"{e.record_id} {e.title}" if e.kind == "record" else f"（缺）{e.period}"
                chans = "、".join(e.missing_channels)
                typer.echo(f"  [{flag}] 截止 {e.due.isoformat()}  {e.item}  {what}  未确认渠道：{chans}")
    raise typer.Exit(1 if desk.overdue else 0)


@app.command()
@clean_errors
def inspect(as_json: JsonOpt = False) -> None:
    """迎检自查: single-veto indicators first, then the rest, each with the records behind it.

    Exit status 1 when a single-veto indicator fails.
    """
    from hub.office.inspection import STATUS_NAMES
    from hub.office.inspection import inspect as run
    from hub.store.db import session_scope

    with session_scope() as s:
        report = run(s)
    if as_json:
        _dump(report.to_json())
    else:
        typer.echo(f"迎检自查 {report.today.isoformat()}：" + ("单项否决不达标！" if report.vetoed else "单项否决指标均未触发。"))
        for title, veto in (("单项否决指标", True), ("其他指标", False)):
            typer.echo(title)
            for c in (c for c in report.checks if c.veto is veto):
                typer.echo(f"  [{STATUS_NAMES[c.status]}] {c.name}：{c.summary}")
                for item in c.items[:20]:
                    label = item.get("record_id") or item.get("name") or item.get("department") or ""
                    extra = item.get("title") or item.get("item") or item.get("period") or ""
                    typer.echo(f"      - {label} {extra}".rstrip())
    raise typer.Exit(1 if report.vetoed else 0)


urge_app = typer.Typer(help="督办: the tasks the office gave, and escalation of ignored ones.", no_args_is_help=True)
app.add_typer(urge_app, name="urges")


@urge_app.command("list")
@clean_errors
def urges_list(as_json: JsonOpt = False) -> None:
    """Urges not yet closed, oldest due first."""
    from hub.office import urges
    from hub.store.db import session_scope

    with session_scope() as s:
        rows: list[dict[str, Any]] = [
            {"id": u.id, "record_id": u.record_id, "assignee": u.assignee, "due_on": u.due_on.isoformat(),
             "state": u.state, "escalated_to": [str(x) for x in u.escalated_to or []], "note": u.note}
            for u in urges.open_all(s)]
    if as_json:
        _dump(rows)
        return
    for r in rows:
        up = f" → {'、'.join(r['escalated_to'])}" if r["escalated_to"] else ""
        typer.echo(f"#{r['id']} {r['due_on']} {r['record_id']} {r['assignee']}{up} "
                   f"[{urges.STATE_NAMES.get(str(r['state']), r['state'])}] {r['note']}")
    if not rows:
        typer.echo("没有未办结的督办。")


@urge_app.command("escalate")
@clean_errors
def urges_escalate(
    today: Annotated[str | None, typer.Option("--today", help="Evaluate as of this day (YYYY-MM-DD).")] = None,
) -> None:
    """Escalate urges still open after their due day to the department's reviewers (run daily from cron)."""
    from hub.office import urges
    from hub.store.db import session_scope

    with session_scope() as s:
        done = urges.escalate_due(s, today=_date(today) if today else None, actor="cli")
        lines = [f"#{u.id} {u.record_id} → {'、'.join(u.escalated_to) or '（该部门没有审核人）'}" for u in done]
    typer.echo("\n".join(lines) if lines else "没有需要升级的督办。")
