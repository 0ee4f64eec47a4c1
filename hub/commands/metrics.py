"""``hub metrics collect`` and ``hub report assessment``: engagement figures and the department assessment.

Why commands: collection normally runs on its own (the maintenance pass schedules it),
but an office wants fresh figures before a meeting; the assessment report is what the
office hands to the county leadership each month (issue 15, docs/metrics.md).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from hub.cli import app, clean_errors

metrics_app = typer.Typer(help="Engagement metrics of published records (reads, shares, likes, scans...).",
                          no_args_is_help=True)
app.add_typer(metrics_app, name="metrics")
report_app = typer.Typer(help="Reports for the county office (the department assessment, 考核).",
                         no_args_is_help=True)
app.add_typer(report_app, name="report")


@metrics_app.command("collect")
@clean_errors
def collect_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print the pass as JSON.")] = False,
) -> None:
    """Collect now from every channel that reports metrics, plus scans and portal views."""
    from hub.channels.registry import label
    from hub.metrics.collect import collect
    from hub.progress import Bar

    with Bar("采集", 0, enabled=None if not as_json else False, count=True) as bar:
        report = collect(progress=lambda done, total: bar.update(done, total=total))
    if as_json:
        typer.echo(json.dumps(report.to_json(), ensure_ascii=False, indent=2))
        return
    for name, tally in sorted(report.channels.items()):
        line = f"{label(name)}: {tally.items} 条，{tally.calls} 次调用"
        for f in tally.failures:
            line += f"；{f['target']} 被拒（{f['error']}），保留上次数据"
        typer.echo(line)
    typer.echo(f"扫码/点击：{report.scans} 行；网站浏览：{report.views} 行；用时 {report.seconds:.1f} 秒")
    if any(t.failures for t in report.channels.values()):
        raise typer.Exit(1)


@report_app.command("assessment")
@clean_errors
def assessment_command(
    period: Annotated[str, typer.Option("--period", help="The month, e.g. 2026-11.")],
    out: Annotated[Path, typer.Option("--out", help="Where to write the report.")],
    department: Annotated[str | None, typer.Option("--department", help="Only this department (or region).")] = None,
    level: Annotated[str, typer.Option("--level", help="county (by department), township or village (by region).")]
    = "county",
    fmt: Annotated[str, typer.Option("--format", help="html, pdf or xlsx.")] = "html",
) -> None:
    """The assessment report of a month, per department (or township / village), with its charts."""
    from hub.errors import InputError
    from hub.metrics import assessment
    from hub.store.db import session_scope

    if fmt not in assessment.FORMATS:
        raise InputError(f"--format: {fmt!r} 不是 html、pdf 或 xlsx")
    with session_scope() as s:
        report = assessment.build(s, period=period, level=level, department=department)
    data = assessment.export(report, fmt)
    out.write_bytes(data)
    typer.echo(f"{out}: {len(report.groups)} 个单位，{sum(g.records for g in report.groups)} 条记录（{fmt}）")
