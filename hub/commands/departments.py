"""``hub assign ID --department D`` and ``hub departments``: the office chooses who answers for a record.

Thin over ``hub.departments``: a record whose issuer is no hub department (a re-posted 国务院
decision) lands in the office's queue; the office assigns the 公开责任部门, whose author edits
and whose reviewer approves it. The issuer stays as found and renditions say 转发.
"""

from __future__ import annotations

from typing import Annotated

import typer

from hub.cli import app, clean_errors
from hub.record import short_version


@app.command()
@clean_errors
def assign(ref: Annotated[str, typer.Argument(help="Record id or version.")],
           department: Annotated[str, typer.Option("--department", help="A hub department (hub departments).")],
           actor: Annotated[str, typer.Option("--as", help="The acting office (政务公开办) account.")]) -> None:
    """Assign the 公开责任部门 of a record (office only); a new draft version and an audit row."""
    from hub.departments import assign as assign_department
    from hub.store.db import session_scope

    with session_scope() as session:
        row = assign_department(session, ref, department, actor=actor)
        typer.echo(f"{row.record_id}: 公开责任部门 {department.strip()} (version {short_version(row.version)}, draft)")


@app.command()
@clean_errors
def departments() -> None:
    """List the hub departments records can be assigned to (config/ingest.toml and staff accounts)."""
    from hub.departments import hub_departments
    from hub.store.db import session_scope

    with session_scope() as session:
        for name in hub_departments(session):
            typer.echo(name)
