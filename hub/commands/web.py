"""``hub serve``: the console, the portal, the TV pickup page, the JSON API and /metrics.

Runs uvicorn on one process. With ``HUB_BROKER_URL`` unset the delivery
engine's embedded worker runs in the same process, so publishing from the
console delivers without any other service.
"""

from __future__ import annotations

import os

import typer

from hub.cli import app, clean_errors


def seed_demo() -> str:
    """Create the demo accounts if missing; returns the demo password (HUB_DEMO_PASSWORD or the default)."""
    from hub import auth
    from hub.queue.demo import DEMO_PASSWORD_DEFAULT
    from hub.store.db import session_scope

    password = os.environ.get("HUB_DEMO_PASSWORD") or DEMO_PASSWORD_DEFAULT
    with session_scope() as s:
        auth.seed_demo_users(s, password)
    return password


@app.command()
@clean_errors
def serve(
    host: str = typer.Option("127.0.0.1", help="address to listen on"),
    port: int = typer.Option(8000, help="port to listen on"),
    seed_demo_accounts: bool = typer.Option(False, "--seed-demo", help="create the demo accounts author/reviewer/office/admin/station"),
    sandbox: bool = typer.Option(False, "--sandbox", help="run the channel sandbox in this process and deliver to it "
                                 "(trying the hub out; never in production)"),
) -> None:
    """Serve the editor console, the public portal and the TV pickup page."""
    import uvicorn

    from hub import redact
    from hub.settings import get_settings
    from hub.store.db import get_engine
    from hub.web.app import create_app

    redact.install()
    local = None
    if sandbox:
        from hub.queue.demo import start_local_channels

        local = start_local_channels()
        typer.echo(f"sandbox {local.sandbox.url}/_sandbox/ (what citizens receive; secrets are fresh for this run)")
    get_engine()  # migrate before the first request
    warn_config_problems()
    if seed_demo_accounts:
        password = seed_demo()
        typer.echo(f"demo accounts: author, reviewer, office, admin, station (password: {password})")
    worker = None
    if get_settings().broker_url is None:
        from hub.queue.runtime import start_embedded_worker

        worker = start_embedded_worker()
        typer.echo("embedded delivery worker started")
    typer.echo(f"portal  http://{host}:{port}/\nconsole http://{host}:{port}/console\nTV      http://{host}:{port}/tv")
    try:
        uvicorn.run(create_app(), host=host, port=port, log_level="info", access_log=True,
                    server_header=False)
    finally:
        if worker is not None:
            worker.stop()
        if local is not None:
            local.stop()


def warn_config_problems() -> None:
    """Every account problem ``hub config check`` would report, as warnings at start-up (nothing refused:
    a channel with a missing secret waits for a person; the others deliver)."""
    from hub.channels.accounts import check
    from hub.config import get_config

    for line in check(get_config()):
        typer.echo(f"配置问题 (config): {line}", err=True)
