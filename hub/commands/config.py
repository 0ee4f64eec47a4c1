"""``hub config check``: every account's problems, before anything is sent.

Why a command of its own: a secret missing on one account is otherwise found by
the first delivery to that account (which then waits for a person); an office
setting up a server wants the whole list at once.
"""

from __future__ import annotations

from typing import Annotated

import typer

from hub.cli import app, clean_errors

config_app = typer.Typer(help="Check the channel configuration (config/channels.toml).", no_args_is_help=True)
app.add_typer(config_app, name="config")


@config_app.command("check")
@clean_errors
def check_command(
    no_env: Annotated[bool, typer.Option("--no-env", help="Check the file only, not the secrets in the environment.")]
    = False,
) -> None:
    """Validate every account against its channel's typed declaration; one line per problem, exit 2 if any."""
    from hub.channels.accounts import check
    from hub.config import get_config

    config = get_config()
    problems = check(config, env=not no_env)
    if not no_env:  # the artifact store (HUB_ARTIFACTS) is reachable and writable
        from hub import artifacts

        problems += artifacts.check()
    for line in problems:
        typer.echo(line, err=True)
    if problems:
        raise typer.Exit(2)
    typer.echo(f"channels.toml: {len(config.accounts)} accounts and {len(config.targets)} targets are valid")
