"""``hub consult list|answer|stats|remind``: the 群众咨询 board from the command line.

Thin: parse, call ``hub.consult``, print. Phone numbers are never printed (masked tail only).
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from hub.cli import app, clean_errors

consult_app = typer.Typer(help="群众咨询: citizens' questions, answers, figures.", no_args_is_help=True)
app.add_typer(consult_app, name="consult")

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]


def _dump(obj: Any) -> None:
    typer.echo(json.dumps(obj, ensure_ascii=False, indent=2, default=str))


@consult_app.command("list")
@clean_errors
def list_cmd(as_json: JsonOpt = False,
             department: Annotated[str | None, typer.Option(help="Only this department.")] = None,
             state: Annotated[str | None, typer.Option(help="open, asked_back or answered.")] = None) -> None:
    """Questions, newest first, with their due day and urgency."""
    from sqlalchemy import select

    from hub.consult import deadlines
    from hub.store.db import session_scope
    from hub.store.models import ConsultationRow

    today = deadlines.today()
    with session_scope() as s:
        query = select(ConsultationRow).order_by(ConsultationRow.id.desc())
        if department:
            query = query.where(ConsultationRow.department == department)
        if state:
            query = query.where(ConsultationRow.state == state)
        items = [{"id": r.id, "title": r.title, "department": r.department, "topic": r.topic, "source": r.source,
                  "state": r.state, "status": deadlines.status(r, today), "due_on": r.due_on.isoformat(),
                  "phone": f"+86*******{r.phone_tail}" if r.phone_tail else None,
                  "consent_publish": r.consent_publish, "publication": r.publication,
                  "created_at": r.created_at.isoformat()} for r in s.scalars(query)]
    if as_json:
        _dump(items)
        return
    for i in items:
        typer.echo(f"{i['id']:>5}  {i['status']:<9} {i['due_on']}  {i['department']}  {i['title']}")


@consult_app.command("answer")
@clean_errors
def answer_cmd(consultation_id: Annotated[int, typer.Argument(help="The question's number.")],
               text: Annotated[str, typer.Option("--text", help="The answer.")],
               publish: Annotated[bool, typer.Option("--publish", help="Also propose it for publication.")] = False,
               user: Annotated[str, typer.Option("--user", help="Answer as this staff account.")] = "system") -> None:
    """Answer a question (closes it), send the SMS notice, optionally propose publication."""
    from hub.consult import answers, publication
    from hub.store.db import session_scope

    with session_scope() as s:
        answers.answer(s, consultation_id, user, text)
    typer.echo(f"已答复 {consultation_id}：{answers.notify_answer(consultation_id)}")
    if publish:
        with session_scope() as s:
            publication.propose(s, consultation_id, user)
        typer.echo("已提请公开，待审核人审核")


@consult_app.command("stats")
@clean_errors
def stats_cmd(as_json: JsonOpt = False) -> None:
    """Received, answered, on time, median reply time, published: total, by department and by month."""
    from hub.consult.stats import stats
    from hub.store.db import session_scope

    with session_scope() as s:
        data = stats(s)
    if as_json:
        _dump(data)
        return
    t = data["total"]
    typer.echo(f"收到 {t['received']}  已答复 {t['answered']}  按时 {t['on_time']}  "
               f"答复用时中位数 {t['median_reply_hours'] if t['median_reply_hours'] is not None else '—'} 小时  "
               f"已公开 {t['published']}")
    for dept, f in data["by_department"].items():
        typer.echo(f"  {dept}: 收到 {f['received']} 已答复 {f['answered']} 按时 {f['on_time']} 已公开 {f['published']}")


@consult_app.command("remind")
@clean_errors
def remind_cmd() -> None:
    """Remind staff of due-soon questions and escalate overdue ones to the office (once each)."""
    from hub.consult.deadlines import remind
    from hub.store.db import session_scope

    with session_scope() as s:
        done = remind(s)
    typer.echo(f"已提醒 {len(done['reminded'])} 条，已升级 {len(done['escalated'])} 条")


@consult_app.command("pull-replies")
@clean_errors
def pull_replies_cmd() -> None:
    """Pull citizens' SMS replies (PullSmsReplyStatus): 退订 opts out at once, other replies become questions."""
    from hub.audience.replies import pull

    counts = pull()
    names = {"opted_out": "退订", "question": "转为咨询", "ignored": "忽略", "duplicate": "重复"}
    typer.echo("，".join(f"{names.get(k, k)} {v}" for k, v in sorted(counts.items())) or "没有新的回复短信")
