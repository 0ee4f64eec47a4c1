"""``hub subscribers import FILE.csv | optout PHONE | list [--json] | keygen``: the SMS audience.

Thin: everything is in ``hub.audience.subscribers``. Numbers are printed only
masked (``+86*******1234``); import and opt-out write one audit row each.
``import`` exits 1 when any row was rejected (each named by line and field).
"""

from __future__ import annotations

import getpass
import json
from pathlib import Path
from typing import Annotated

import typer

from hub.audience import subscribers as subs
from hub.cli import app, clean_errors
from hub.store import repo
from hub.store.db import session_scope

sub_app = typer.Typer(help="SMS subscribers: import, opt-out (退订), list (masked).", no_args_is_help=True)
app.add_typer(sub_app, name="subscribers")

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


@sub_app.command("import")
@clean_errors
def import_(path: Annotated[Path, typer.Argument(help="CSV with a header: phone,level,region,topics")],
            as_json: JsonOpt = False) -> None:
    """Add or update subscribers from a CSV file; bad rows are skipped and reported (masked)."""
    with session_scope() as s:
        report = subs.import_csv(s, path)
        repo.audit(s, _actor(), "subscribers.import", str(path.name), added=report.added, updated=report.updated,
                   rejected=len(report.rejected))
    if as_json:
        typer.echo(json.dumps(report.to_json(), ensure_ascii=False, indent=2))
    else:
        typer.echo(f"added {report.added}, updated {report.updated}, rejected {len(report.rejected)}")
        for line, field, reason in report.rejected:
            typer.echo(f"  {path}:{line}: [{field}] {reason}", err=True)
    if report.rejected:
        raise typer.Exit(1)


@sub_app.command("optout")
@clean_errors
def optout(phone: Annotated[str, typer.Argument(help="The number that asked to unsubscribe (退订)")]) -> None:
    """Stop every SMS to this number, including pending ones of running deliveries."""
    with session_scope() as s:
        row = subs.opt_out(s, phone)
        repo.audit(s, _actor(), "subscribers.optout", f"subscriber:{row.id}")
        shown = subs.masked(row)
    typer.echo(f"opted out {shown}")


@sub_app.command("list")
@clean_errors
def list_(as_json: JsonOpt = False) -> None:
    """Every subscriber with the number masked."""
    with session_scope() as s:
        rows = [subs.describe(r) for r in subs.iter_subscribers(s) if r.listed]
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for r in rows:
        # 退订 with its time (UTC, as stored), so the office can answer "when did this number stop?"
        status = f"opted out {r['opted_out_at'][:16].replace('T', ' ')} UTC" if r["opted_out_at"] else "active"
        topics = ",".join(r["topics"]) or "-"
        typer.echo(f"{r['id']:>6}  {r['phone']}  {r['level']:<8} {r['region'] or '-':<12} {topics:<16} {status}")
    typer.echo(f"{len(rows)} subscriber(s)")


@sub_app.command("keygen")
def keygen() -> None:
    """Print a new key for HUB_PHONE_KEY (keep it in the secret store, never in the repository)."""
    typer.echo(subs.new_key())
