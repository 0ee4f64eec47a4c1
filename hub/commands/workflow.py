"""``hub show / list / submit / approve / reject / waive / audit`` and ``hub user add``.

Thin: parse, call ``hub.store.repo`` / ``hub.workflow`` / ``hub.auth`` in one
short transaction, print. Times are stored UTC and shown in Asia/Shanghai.

``--as NAME`` names the acting account. The CLI runs on the server with
direct database access, so it trusts the operator's claim of identity (the
web console is where people sign in); the role matrix and the workflow rules
still apply to the named account, and every action is audited under it.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import datetime
from typing import Annotated, Any

import typer

from hub import auth, workflow
from hub.cli import app, clean_errors
from hub.errors import InputError
from hub.record import short_version
from hub.store import repo
from hub.store.db import session_scope
from hub.store.models import FindingRow, VersionRow
from hub.timeutil import to_local

#: Where ``hub user add`` reads the password when neither stdin nor a terminal gives one.
PASSWORD_ENV = "HUB_NEW_USER_PASSWORD"  # noqa: S105 - the variable name, not a password

user_app = typer.Typer(help="Staff accounts (author, reviewer, office, admin, station).", no_args_is_help=True)
app.add_typer(user_app, name="user")

AsOpt = Annotated[str, typer.Option("--as", help="The acting account's name.")]


def _local(value: datetime | None) -> str:
    """A stored UTC instant as people in the county read it."""
    return "-" if value is None else to_local(value).strftime("%Y-%m-%d %H:%M:%S (UTC+8)")


def _dump(obj: Any) -> None:
    typer.echo(json.dumps(obj, ensure_ascii=False, indent=2))


def _finding_line(f: FindingRow) -> str:
    where = "" if f.line is None else f"{f.line}:{f.column or 0} "
    flag = "BLOCKING" if f.blocking else "warning"
    text = f"  #{f.id} {flag} {f.kind} {where}{f.excerpt}"
    if f.suggestion:
        text += f" → {f.suggestion}"
    if f.waived_by:
        text += f"  [waived by {f.waived_by} {_local(f.waived_at)}: {f.waiver_reason}]"
    return text


def _summary(row: VersionRow) -> str:
    return f"{row.record_id}@{short_version(row.version)} {row.state}"


@app.command()
@clean_errors
def show(
    ref: Annotated[str, typer.Argument(help="Record id, version hash or a unique prefix of ≥ 8 hex.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the record as JSON.")] = False,
) -> None:
    """Show one record version: metadata, findings and workflow history."""
    with session_scope() as session:
        row, record = repo.get_version(session, ref)
        findings = repo.findings_of(session, row)
        if as_json:
            _dump(repo.record_to_json(row, record, findings=findings))
            return
        events = workflow.history(session, row)
        lines = [
            record.title,
            f"  id          {record.id}",
            f"  version     {short_version(row.version)}  ({row.state})",
            f"  索引号      {record.index_no or '-'}",
            f"  文号        {record.doc_no or '-'}",
            f"  部门        {record.department or '-'}",
            f"  公开目录    {record.catalog or '-'}",
            f"  公开形式    {record.disclosure.value}",
            f"  成文日期    {record.written_on.isoformat() if record.written_on else '-'}",
            f"  公开日期    {_local(record.published_at)}",
            f"  有效性      {record.validity or '-'}",
            f"  五公开      {record.stage.value if record.stage else '-'}   domain {record.domain or '-'}",
            f"  level       {record.level.value}   region {record.region or '-'}",
            f"  blocks      {len(record.body)}",
            f"  created     {_local(row.created_at)} by {row.created_by or '-'}",
        ]
        for warning in row.warnings or []:
            lines.append(f"  warning: {warning}")
        lines.append(f"findings ({len(findings)}):" if findings else "findings: none")
        lines.extend(_finding_line(f) for f in findings)
        lines.append("history:")
        for ev in events:
            move = f"{ev.from_state or '·'} → {ev.to_state}"
            note = f"  “{ev.comment}”" if ev.comment else ""
            lines.append(f"  {_local(ev.at)}  {move:24} {ev.actor}{note}")
        typer.echo("\n".join(lines))


@app.command("list")
@clean_errors
def list_(
    as_json: Annotated[bool, typer.Option("--json", help="Print the versions as JSON.")] = False,
    state: Annotated[str | None, typer.Option("--state", help="Only versions in this state.")] = None,
    department: Annotated[str | None, typer.Option("--department", help="Only this department.")] = None,
    all_versions: Annotated[bool, typer.Option("--all", help="Every version, not only current ones.")] = False,
    limit: Annotated[int | None, typer.Option("--limit", min=1)] = None,
) -> None:
    """List records (their current versions), newest first; --state lists every version in that state."""
    if state is not None and state not in {s.value for s in workflow.State}:
        raise InputError(f"unknown state {state!r}; states: {', '.join(s.value for s in workflow.State)}")
    with session_scope() as session:
        rows = repo.list_versions(
            session,
            state=state,
            department=department,
            current_only=not all_versions and state is None,
            limit=limit,
        )
        if as_json:
            _dump({"versions": [repo.record_to_json(r, repo.record_of(r)) for r in rows]})
            return
        if not rows:
            typer.echo("no records")
        for r in rows:
            typer.echo(
                f"{short_version(r.version)}  {r.state:9}  {_local(r.created_at)}  {r.record_id}  {r.title}"
            )


@user_app.command("add")
@clean_errors
def user_add(
    name: Annotated[str, typer.Argument(help="Log-in name.")],
    role: Annotated[str, typer.Option("--role", help="author, reviewer, office, admin or station.")],
    department: Annotated[str | None, typer.Option("--department", help="The user's department.")] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from the first line of stdin.")
    ] = False,
) -> None:
    """Create a staff account. The password comes from --password-stdin, HUB_NEW_USER_PASSWORD or a prompt."""
    if role not in {r.value for r in auth.PERSON_ROLES}:
        raise InputError(f"unknown role {role!r}; roles: {', '.join(r.value for r in auth.PERSON_ROLES)}")
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    elif os.environ.get(PASSWORD_ENV):
        password = os.environ[PASSWORD_ENV]
    elif sys.stdin.isatty():
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    else:
        raise InputError(f"no password: use --password-stdin, set {PASSWORD_ENV}, or run in a terminal")
    with session_scope() as session:
        user = auth.add_user(session, name, role, department, password, actor="cli")
        typer.echo(f"user {user.name} ({user.role}, {user.department or 'all departments'}) created")


@app.command()
@clean_errors
def submit(
    ref: Annotated[str, typer.Argument(help="Record id or version.")],
    as_: Annotated[str, typer.Option("--as", help="The submitting account (default: the hub itself).")] = "system",
    comment: Annotated[str | None, typer.Option("--comment")] = None,
) -> None:
    """Hand a draft to review (draft → in_review)."""
    with session_scope() as session:
        typer.echo(_summary(workflow.submit(session, ref, as_, comment)))


@app.command()
@clean_errors
def approve(
    ref: Annotated[str, typer.Argument(help="Record id or version.")],
    as_: AsOpt,
    comment: Annotated[str | None, typer.Option("--comment")] = None,
) -> None:
    """Approve a version in review (its blocking findings must each be waived)."""
    with session_scope() as session:
        typer.echo(_summary(workflow.approve(session, ref, as_, comment)))


@app.command()
@clean_errors
def reject(
    ref: Annotated[str, typer.Argument(help="Record id or version.")],
    as_: AsOpt,
    comment: Annotated[str, typer.Option("--comment", help="Why (the author reads this).")],
) -> None:
    """Send a version in review back to its author, saying why."""
    with session_scope() as session:
        typer.echo(_summary(workflow.reject(session, ref, as_, comment)))


@app.command()
@clean_errors
def waive(
    finding_id: Annotated[int, typer.Argument(help="The finding's number (see `hub show`).")],
    as_: AsOpt,
    reason: Annotated[str, typer.Option("--reason", help="Why this finding may be published as is.")],
) -> None:
    """Waive one blocking finding, with a recorded reason."""
    with session_scope() as session:
        f = workflow.waive(session, finding_id, as_, reason)
        typer.echo(f"finding #{f.id} ({f.kind}) waived by {f.waived_by}")


@app.command("audit")
@clean_errors
def audit_log(
    subject: Annotated[str | None, typer.Option("--subject", help="Only this record id or user name.")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    limit: Annotated[int, typer.Option("--limit", min=1)] = 50,
) -> None:
    """The append-only audit log, newest last."""
    with session_scope() as session:
        rows = repo.audit_rows(session, subject=subject)[-limit:]
        if as_json:
            _dump(
                {
                    "audit": [
                        {
                            "id": r.id,
                            "at": to_local(r.at).isoformat(),
                            "actor": r.actor,
                            "action": r.action,
                            "subject": r.subject,
                            "detail": r.detail,
                        }
                        for r in rows
                    ]
                }
            )
            return
        for r in rows:
            detail = json.dumps(r.detail, ensure_ascii=False, sort_keys=True)
            typer.echo(f"{_local(r.at)}  {r.actor:10} {r.action:16} {r.subject or '-'}  {detail}")
