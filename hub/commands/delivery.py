"""``hub publish / status / worker / retry / cancel / demo``: the delivery engine's commands.

Thin: parse, call ``hub.queue``, print. ``hub worker`` hands over to Dramatiq's own
CLI (processes and threads) on ``HUB_BROKER_URL``; the other commands run the
embedded worker in this process when they need one and no broker URL is set.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from hub.cli import app, clean_errors

JsonOpt = Annotated[bool, typer.Option("--json", help="Print the status JSON (the documented contract).")]


def _dump(obj: Any) -> None:
    typer.echo(json.dumps(obj, ensure_ascii=False, indent=2))


def _status(ref: str | None) -> dict[str, Any]:
    from hub.queue.status import status_json
    from hub.store.db import session_scope

    with session_scope() as s:
        data = status_json(s, ref)
        if ref and not data["deliveries"]:
            _must_exist(s, ref)
        return data


def _must_exist(session: Any, ref: str) -> None:
    """An unknown id is an error (exit 2), not an empty table a clerk could misread as "nothing sent"."""
    from hub.errors import NotFound
    from hub.store import repo

    if ref.isdigit() and len(ref) < 8:
        raise NotFound(f"no delivery {ref}")
    try:
        repo.get_version(session, ref)
    except NotFound:
        raise NotFound(f"no record, version or delivery {ref!r}") from None


@app.command()
@clean_errors
def publish(
    ref: Annotated[str, typer.Argument(help="Record id or version (approved).")],
    channels: Annotated[str | None, typer.Option("--channels", help="Only these channels, e.g. web,wechat.")] = None,
    at: Annotated[str | None, typer.Option("--at", help='定时发布: "YYYY-MM-DD hh:mm" (Asia/Shanghai); '
                                                       "the deliveries wait in the ledger until then.")] = None,
    now: Annotated[bool, typer.Option("--now", help="Send the version's scheduled deliveries now.")] = False,
    material: Annotated[bool, typer.Option("--material", help="更正: a material change (SMS subscribers and the "
                                                              "newspaper desk are told too).")] = False,
    wait: Annotated[bool, typer.Option("--wait", help="Deliver now in this process and wait for the outcome.")] = False,
    as_json: JsonOpt = False,
    as_: Annotated[str, typer.Option("--as", help="The publishing account (office, or the hub itself).")] = "system",
    timeout: Annotated[float, typer.Option(help="Seconds --wait waits at most.")] = 300.0,
) -> None:
    """Create the deliveries of an approved version (idempotent) and run them, now or at --at."""
    from hub.app import deliveries
    from hub.queue.status import table

    wanted = [c for c in channels.split(",")] if channels else None
    when = deliveries.parse_local_time(at) if at else None
    handle = _worker_if(wait)
    done = True
    try:
        if now:
            ids = deliveries.publish_now(ref, actor=as_)
        else:
            ids = deliveries.publish(ref, actor=as_, channels=wanted, at=when, material=material).ids
        if wait and when is None:
            done = _wait_settled(ids, timeout, show=not as_json)
    finally:
        if handle is not None:
            handle.stop()
    data = _status(ref)
    if not set(ids) <= {d["id"] for d in data["deliveries"]}:  # a correction's take-downs: the whole record
        from hub.store import repo
        from hub.store.db import session_scope

        with session_scope() as s:
            data = _status(repo.find_version(s, ref).record_id)
    data["deliveries"] = [d for d in data["deliveries"] if d["id"] in set(ids)]
    if as_json:
        _dump(data)
    else:
        typer.echo(table(data))
        if when is not None:
            typer.echo(f"定时发布：{at}（北京时间）前不会发送；`hub publish {ref} --now` 立即发送，"
                       f"`hub unschedule {ref}` 取消")
        elif not wait:
            typer.echo("queued; `hub status` follows them (a worker must be running: `hub worker`, or --wait)")
    if not done:
        # the timeout ended with deliveries still on their way: not a success (issue 18)
        pending = [d for d in data["deliveries"] if d["state"] in ("queued", "sending", "retry_wait", "submitted")
                   and not d["needs_attention"]]
        names = ", ".join(f"#{d['id']} {d['channel']} ({d['state']})" for d in pending) or "(see hub status)"
        typer.echo(f"error: --wait timed out after {timeout:.0f} s; still on their way: {names}", err=True)
        raise typer.Exit(3)


def _worker_if(wait: bool) -> Any:
    """The embedded worker for ``--wait`` when no broker URL is set (else None)."""
    from hub.settings import get_settings

    if wait and get_settings().broker_url is None:
        from hub.queue.runtime import start_embedded_worker

        return start_embedded_worker()
    return None


def _wait_settled(ids: list[int], timeout: float, *, show: bool = True) -> bool:
    """Wait until every delivery in ``ids`` is final (or ``timeout``); True when they all are.

    On a terminal (and unless ``show`` is off, e.g. ``--json``) two bars say how far it is:
    deliveries settled, and the SMS fan-out's numbers sent (``hub.progress``).
    """
    import time

    from hub.progress import Bar
    from hub.queue.status import recipients_done, settled, settled_count
    from hub.store.db import session_scope

    deadline = time.monotonic() + timeout
    enabled = None if show else False
    sms: Bar | None = None
    with Bar("deliveries", len(ids), enabled=enabled, count=True) as bar:
        try:
            while time.monotonic() < deadline:
                with session_scope() as s:
                    if bar.enabled:
                        bar.update(settled_count(s, ids))
                        done, total = recipients_done(s, ids)
                        if total and sms is None:  # a bulk SMS delivery has expanded its recipients
                            sms = Bar("SMS numbers", total, count=True)
                        if sms is not None:
                            sms.update(done, total=total)
                    if settled(s, ids):
                        return True
                time.sleep(0.25)
        finally:
            if sms is not None:
                sms.close()
    return False


@app.command()
@clean_errors
def status(
    ref: Annotated[str | None, typer.Argument(help="Record id, version, or delivery id (default: everything).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """The delivery ledger: per delivery and in summary, those needing a person, stuck and unknown first."""
    from hub.queue.status import table

    data = _status(ref)
    if as_json:
        _dump(data)
    else:
        typer.echo(table(data))


@app.command()
@clean_errors
def retry(
    delivery_id: Annotated[int, typer.Argument(help="The delivery id (see `hub status`).")],
    as_: Annotated[str, typer.Option("--as", help="Who decided (recorded in the event log and the audit).")] = "operator",
) -> None:
    """Send a waiting, held or unknown delivery again now, or re-send a failed one whose cause is fixed (logged)."""
    _person_action(delivery_id, as_, "retry")


@app.command()
@clean_errors
def cancel(
    delivery_id: Annotated[int, typer.Argument(help="The delivery id (see `hub status`).")],
    as_: Annotated[str, typer.Option("--as", help="Who decided (recorded in the event log and the audit).")] = "operator",
) -> None:
    """Cancel a delivery that has not been sent (or whose outcome a person judged)."""
    _person_action(delivery_id, as_, "cancel")


def _person_action(delivery_id: int, who: str, what: str) -> None:
    from hub.app import deliveries

    row = (deliveries.retry if what == "retry" else deliveries.cancel)(delivery_id, actor=who, via="cli")
    if row.id != delivery_id:
        typer.echo(f"delivery {delivery_id}: failed; re-sent as delivery {row.id} ({row.state})")
    else:
        typer.echo(f"delivery {delivery_id}: {row.state}")


@app.command()
@clean_errors
def worker(
    processes: Annotated[int, typer.Option(help="Worker processes per queue group (default: one per CPU).")] = 0,
    threads: Annotated[int, typer.Option(help="Threads per process of the quick queues (video: always 1).")] = 8,
    queues: Annotated[str | None, typer.Option("--queues", help="Only these queues, e.g. video or deliveries,confirm "
                                                               "(default: all: deliveries, confirm, video).")] = None,
    metrics: Annotated[bool, typer.Option(help="Dramatiq's Prometheus exporter on 127.0.0.1:9191 "
                                               "(the video group's on 9192).")] = False,
) -> None:
    """Run Dramatiq worker processes on HUB_BROKER_URL (the distributed mode); each also runs the sweeper."""
    # The quick queues (deliveries, confirm) run with a high prefetch, the video renders with
    # prefetch 1 in a Dramatiq group of their own (hub.queue.queues); one group replaces this
    # process with Dramatiq's CLI, two run side by side under this one (hub.queue.supervise).
    from hub.errors import ConfigError
    from hub.queue.queues import parse_queues, worker_groups
    from hub.settings import get_settings

    if get_settings().broker_url is None:
        raise ConfigError("hub worker needs HUB_BROKER_URL (redis:// or amqp://); the embedded mode runs "
                          "its worker inside hub serve / hub publish --wait / hub demo")
    groups = worker_groups(parse_queues(queues), threads=threads)
    from hub.commands.web import warn_config_problems

    warn_config_problems()
    os.environ["HUB_WORKER_MAINTENANCE"] = "1"
    if metrics:
        os.environ["HUB_WORKER_PROMETHEUS"] = "1"
        os.environ.setdefault("dramatiq_prom_host", "127.0.0.1")
    commands = []
    for n, group in enumerate(groups):
        env = {"dramatiq_queue_prefetch": str(group.prefetch)}
        if metrics:  # one exporter (and one multiprocess directory) per Dramatiq CLI
            env["dramatiq_prom_port"] = str(int(os.environ.get("dramatiq_prom_port", "9191")) + n)
            base = os.environ.get("dramatiq_prom_db") or str(get_settings().var_dir / "prometheus")
            env["dramatiq_prom_db"] = os.path.join(base, group.name)
        args = [sys.executable, "-m", "dramatiq", "hub.queue.actors", "--threads", str(group.threads),
                "--queues", *group.queues]
        if processes:
            args[4:4] = ["--processes", str(processes)]
        commands.append((args, env))
    typer.echo("hub worker: " + "; ".join(f"{g.name} (prefetch {g.prefetch}, {g.threads} thread"
                                          f"{'s' if g.threads > 1 else ''})" for g in groups), err=True)
    sys.stdout.flush()
    if len(commands) == 1:
        args, env = commands[0]
        os.environ.update(env)
        os.execv(sys.executable, args)  # noqa: S606 - replaces this process with Dramatiq's CLI on purpose
    from hub.queue.supervise import run_groups

    raise typer.Exit(run_groups(commands))


@app.command()
@clean_errors
def demo(
    keep: Annotated[bool, typer.Option("--keep", help="Keep the sandbox running afterwards (Ctrl-C stops).")] = False,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for every delivery to be final.")] = 300.0,
    sample: Annotated[Path | None, typer.Option(help="Record file to publish (default: the 2017 sample).")] = None,
    lifecycle: Annotated[bool, typer.Option("--lifecycle", help="Then correct the sample (a material change) and "
                                                               "withdraw it, printing each stage's deliveries.")] = False,
) -> None:
    """The whole pipeline on the sample: sandbox, ingest, approve, publish everywhere, deliver, status."""
    import time

    from hub.queue.demo import SAMPLE, run_demo
    from hub.queue.status import table

    def hold(url: str) -> None:
        typer.echo(f"\nsandbox inbox: {url}  (Ctrl-C stops)")
        try:
            while True:
                time.sleep(1)
        except KeyboardInterrupt:
            pass

    result = run_demo(sample=sample or SAMPLE, timeout=timeout, echo=typer.echo, keep=hold if keep else None,
                      lifecycle=lifecycle)
    typer.echo("")
    if result.stages:
        for name, data in result.stages:
            typer.echo(f"== {name} ==")
            typer.echo(table(data))
            typer.echo("")
    else:
        typer.echo(table(result.status))
    typer.echo("")
    typer.echo("where to look:")
    typer.echo(f"  sandbox inbox      {result.sandbox_url}/_sandbox/  (kept in var/sandbox-demo.json; "
               "`hub demo --keep` or `hub sandbox --state var/sandbox-demo.json` serves it)")
    typer.echo("  inbox by channel   " + ", ".join(f"{k} {v}" for k, v in sorted(result.inbox.items())))
    typer.echo(f"  portal page        {result.portal or '-'}")
    typer.echo(f"  TV package         {result.tv_package or '-'}")
    typer.echo("  delivery ledger    hub status --json")
    typer.echo(f"  console            hub serve --seed-demo --sandbox  → http://127.0.0.1:8000/console  (author/reviewer/office/admin/"
               f"station, password {result.password})")
    if not result.complete:
        typer.echo("not every delivery reached a final state in time (see the notes above)", err=True)
        raise typer.Exit(1)
