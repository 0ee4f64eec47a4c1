"""``hub serve``: the console, the portal, the TV pickup page, the JSON API and /metrics.

Runs uvicorn on one process. With ``HUB_BROKER_URL`` unset the delivery
engine's embedded worker runs in the same process, so publishing from the
console delivers without any other service.
"""

from __future__ import annotations

import typer

from hub.cli import app, clean_errors


def seed_demo() -> str | None:
    """Create the demo accounts if missing; returns their password, or None when they all existed already.

    The password is ``HUB_DEMO_PASSWORD`` when set, else a random one made now: a server started
    with ``--seed-demo`` must not open with a password printed in the README.
    """
    from hub import auth
    from hub.store.db import session_scope

    password = auth.demo_password()
    with session_scope() as s:
        missing = [r for r in auth.PERSON_ROLES if auth.get_user(s, r.value) is None]
        auth.seed_demo_users(s, password)
    return password if missing else None


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

    from hub import logs
    from hub.settings import get_settings
    from hub.store.db import get_engine
    from hub.web.app import create_app

    local = None
    if sandbox:
        from hub.queue.demo import start_local_channels

        local = start_local_channels()
        typer.echo(f"sandbox {local.sandbox.url}/_sandbox/ (what citizens receive; secrets are fresh for this run)")
    get_engine()  # migrate before the first request
    warn_config_problems()
    if seed_demo_accounts:
        password = seed_demo()
        if password is None:
            typer.echo("demo accounts: author, reviewer, office, admin, station (already there; passwords unchanged)")
        else:
            typer.echo(f"demo accounts: author, reviewer, office, admin, station (password: {password})")
    worker = None
    if get_settings().broker_url is None:
        from hub.queue.runtime import start_embedded_worker

        worker = start_embedded_worker()
        typer.echo("embedded delivery worker started")
    typer.echo(f"portal  http://{host}:{port}/\nconsole http://{host}:{port}/console\nTV      http://{host}:{port}/tv")
    try:
        # proxy_headers off: uvicorn would trust X-Forwarded-For from 127.0.0.1; the app reads it only from
        # HUB_TRUSTED_PROXIES (hub.web.security.client_address)
        # uvicorn applies a logging config of its own unless given one: give it the hub's (format, redaction)
        uvicorn.run(create_app(), host=host, port=port, log_level="info", access_log=True,
                    server_header=False, proxy_headers=False, log_config=logs.config_dict(logs.log_format()))
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
