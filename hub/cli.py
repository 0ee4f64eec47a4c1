"""The ``hub`` command line (Typer). Commands are thin: they parse, call a module, print.

Exit statuses: 0 ok, 1 a check found blocking problems, 2 bad input or
configuration (one clear line, never a traceback).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

import typer

from hub.errors import HubError

app = typer.Typer(add_completion=False, no_args_is_help=True, help="政务公开 publishing hub: one record, every channel.")

F = TypeVar("F", bound=Callable[..., Any])


def clean_errors(fn: F) -> F:
    """Turn the hub's typed errors into one line on stderr and exit status 2 (never a traceback)."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except HubError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(getattr(exc, "exit_code", 2)) from None

    return wrapper  # type: ignore[return-value]


def _register() -> None:
    """Explicit registry of command groups: each module adds its commands to ``app``."""
    import importlib

    for module in (
        "hub.commands.records",
        "hub.commands.workflow",
        "hub.commands.render",
        "hub.commands.sandbox",
        "hub.commands.delivery",
        "hub.commands.lifecycle",
        "hub.commands.web",
        "hub.commands.subscribers",
        "hub.commands.phones",
        "hub.commands.config",
        "hub.commands.departments",
        "hub.commands.office",
        "hub.commands.consult",
        "hub.commands.metrics",
    ):
        importlib.import_module(module)


def main() -> None:
    """The ``hub`` entry point: logging is configured here, once for the process (``hub.logs``)."""
    from hub import logs

    logs.configure()
    _register()
    app(prog_name="hub")


if __name__ == "__main__":  # pragma: no cover
    # ``python -m hub.cli``: the command modules register on ``hub.cli.app``, which is not
    # this ``__main__`` module's copy, so run the registered one.
    from hub.cli import main as registered_main

    registered_main()
