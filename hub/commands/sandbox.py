"""``hub sandbox``: run the local stand-ins of WeChat, Weibo and Tencent Cloud in the foreground.

The sandbox accepts exactly the secrets the adapters read from the environment
(``hub.sandbox.credentials``), so ``hub sandbox`` and a worker started in the
same environment talk to each other with no other setup. It never prints a
secret: only which environment variables are missing.
"""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path
from typing import Annotated, Any

import typer

from hub.cli import app, clean_errors
from hub.config import get_config
from hub.errors import ConfigError


def parse_fault(spec: str) -> tuple[str, str, str]:
    """``channel:knob=value`` → (channel, knob, value); a malformed spec is a ConfigError naming it."""
    channel, sep, rest = spec.partition(":")
    knob, eq, value = rest.partition("=")
    if not sep or not eq or not channel or not knob:
        raise ConfigError(f"--fault {spec!r}: expected channel:knob=value, e.g. wechat:rate_limit_rate=0.1")
    return channel.strip(), knob.strip(), value.strip()


def sandbox_options() -> dict[str, Any]:
    """Vendor options from config and environment (each fake reads its own accounts)."""
    from hub.sandbox.credentials import options_from_config

    return options_from_config()


@app.command("sandbox")
@clean_errors
def sandbox_command(
    port: Annotated[int | None, typer.Option(help="Port (default: [sandbox] port of channels.toml).")] = None,
    state: Annotated[Path | None, typer.Option(help="Keep the inbox and vendor state in this JSON file.")] = None,
    fault: Annotated[list[str] | None, typer.Option(
        help="A fault knob, channel:knob=value (repeatable), e.g. weibo:rate_limit_rate=0.2.")] = None,
    wechat_callback: Annotated[str | None, typer.Option(
        help="POST WeChat PUBLISHJOBFINISH events here (default: $HUB_WECHAT_CALLBACK_URL).")] = None,
) -> None:
    """Run the sandbox (WeChat, Weibo, Tencent SMS/TTS fakes and the inbox) until Ctrl-C."""
    from hub.sandbox.app import build_sandbox, secret_env_names
    from hub.sandbox.core import Faults
    from hub.sandbox.credentials import credentials_from_env

    config = get_config()
    faults = [parse_fault(spec) for spec in fault or []]
    for channel, knob, value in faults:
        try:
            Faults().update(**{knob: value})
        except (ValueError, TypeError) as exc:
            raise ConfigError(f"--fault {channel}:{knob}={value}: {exc}") from None
    options = sandbox_options()
    if wechat_callback:
        options["wechat_callback_url"] = wechat_callback
    if state is not None:
        state.parent.mkdir(parents=True, exist_ok=True)
    sb = build_sandbox(config.sandbox.port if port is None else port, state_file=state,
                       credentials=credentials_from_env(), options=options)
    sb.host = config.sandbox.host
    for channel, knob, value in faults:
        sb.set_faults(channel, **{knob: value})
    try:
        sb.start()
    except OSError as exc:
        raise ConfigError(f"sandbox: cannot listen on {config.sandbox.host}:{sb.port}: {exc.strerror}") from None
    missing = [name for name in secret_env_names() if not os.environ.get(name)]
    typer.echo(f"sandbox listening on {sb.url}  (inbox: {sb.url}/_sandbox/)")
    if missing:
        typer.echo(f"note: unset, so those accounts are refused: {', '.join(missing)}", err=True)
    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stop.set()

    previous = signal.signal(signal.SIGTERM, on_signal)
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        sb.stop()
        sb.save()
        typer.echo("sandbox stopped")
