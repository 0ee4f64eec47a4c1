"""``hub mark-delivered / events / unschedule / withdraw``: what happens after "publish".

Thin: parse, call ``hub.app``, print. Times are shown in Asia/Shanghai.
"""

from __future__ import annotations

from typing import Annotated

import typer

from hub.cli import app, clean_errors
from hub.timeutil import to_local

AsOpt = Annotated[str, typer.Option("--as", help="Who acts (recorded in the event log and the audit).")]


@app.command("mark-delivered")
@clean_errors
def mark_delivered(
    delivery_id: Annotated[int, typer.Argument(help="The delivery id (see `hub status`).")],
    note: Annotated[str, typer.Option("--note", help="Who confirmed it and how, e.g. 报社编辑部张某电话确认.")],
    as_: AsOpt = "operator",
) -> None:
    """Mark a delivery delivered that a person confirmed outside any API (e.g. the newspaper desk by phone)."""
    from hub.app import deliveries

    row = deliveries.mark_delivered(delivery_id, actor=as_, note=note, via="cli")
    typer.echo(f"delivery {delivery_id}: {row.state}")


@app.command()
@clean_errors
def events(delivery_id: Annotated[int, typer.Argument(help="The delivery id (see `hub status`).")]) -> None:
    """One delivery's event history: every state change, who made it and why."""
    from hub.app import deliveries

    row, evs = deliveries.events(delivery_id)
    typer.echo(f"delivery {row.id}  {row.purpose}  {row.channel}/{row.target}  {row.state}  "
               f"{row.record_id}@{row.version[:12]}")
    for e in evs:
        move = f"{e.from_state or '·'} → {e.to_state}"
        extra = f"  [{e.error_class}]" if e.error_class else ""
        typer.echo(f"  {to_local(e.at):%Y-%m-%d %H:%M:%S}  {move:26} {e.actor}{extra}  {e.message or ''}".rstrip())


@app.command()
@clean_errors
def unschedule(
    ref: Annotated[str, typer.Argument(help="Record id or version with 定时 deliveries.")],
    as_: AsOpt = "operator",
) -> None:
    """Cancel a version's scheduled (定时) deliveries that have not been sent."""
    from hub.app import deliveries

    ids = deliveries.cancel_schedule(ref, actor=as_, via="cli")
    typer.echo(f"cancelled {len(ids)} scheduled deliveries: {', '.join(map(str, ids))}")


@app.command()
@clean_errors
def withdraw(
    ref: Annotated[str, typer.Argument(help="Record id or version (published).")],
    reason: Annotated[str, typer.Option("--reason", help="Why (required; recorded, and told to the desk and station).")],
    wait: Annotated[bool, typer.Option("--wait", help="Run the withdrawal now in this process and wait.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the status JSON of the withdrawal steps.")] = False,
    as_: Annotated[str, typer.Option("--as", help="The office account that withdraws.")] = "office",
    timeout: Annotated[float, typer.Option(help="Seconds --wait waits at most.")] = 300.0,
) -> None:
    """Withdraw (撤回) a published record on every channel it reached: one ledger step per post."""
    from hub.app import lifecycle
    from hub.commands.delivery import _dump, _status, _wait_settled, _worker_if
    from hub.queue.status import table

    handle = _worker_if(wait)
    try:
        done = lifecycle.withdraw(ref, actor=as_, reason=reason, via="cli")
        if wait:
            _wait_settled(done.ids, timeout, show=not as_json)
    finally:
        if handle is not None:
            handle.stop()
    data = _status(done.record_id)
    data["deliveries"] = [d for d in data["deliveries"] if d["id"] in set(done.ids)]
    if as_json:
        _dump(data)
        return
    typer.echo(table(data))
    if done.cancelled:
        typer.echo(f"cancelled unsent deliveries: {', '.join(map(str, done.cancelled))}")
    if not wait:
        typer.echo("withdrawal queued; `hub status` follows it (a worker must be running, or --wait)")
