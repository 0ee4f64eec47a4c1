"""Assemble the sandbox: the core server plus every vendor module, each adding its routes.

Each vendor module exposes ``register(sandbox: Sandbox) -> None``. The list is
the channel registry's (each channel declares its fake, ``ChannelBase.sandbox``)
plus ``EXTRA_MODULES``: explicit, no discovery.
"""

from __future__ import annotations

import importlib
import secrets
from pathlib import Path
from typing import Any

from hub.sandbox.core import Sandbox

#: Fakes of outside services that no channel declares (a vendor used by a renderer only), and the inbox.
EXTRA_MODULES = ("hub.sandbox.tencent", "hub.sandbox.inbox")


def vendor_modules() -> tuple[str, ...]:
    """Every module whose ``register(sandbox)`` adds routes: the fakes the channels declare, then the extras."""
    from hub.channels.registry import sandbox_modules

    return tuple(dict.fromkeys((*sandbox_modules(), *EXTRA_MODULES)))

def secret_env_names() -> tuple[str, ...]:
    """The environment variables holding the secrets the sandbox accepts (the same ones the adapters read).

    Derived from the configured accounts: every field their channel's account model
    names in ``required_env`` or ``optional_env`` (``hub.channels.base.AccountConfig``).
    """
    from hub.channels.accounts import account_models
    from hub.config import get_config

    models = account_models()
    names: list[str] = []
    for account in get_config().accounts.values():
        model = models.get(account.channel)
        for key in (*model.required_env, *model.optional_env) if model is not None else ():
            var = account.get(key)
            if var:
                names.append(str(var))
    return tuple(dict.fromkeys(names))


def random_secrets() -> dict[str, str]:
    """Fresh secrets for a demo or test run: nothing secret is ever committed, even for the sandbox."""
    return {name: secrets.token_hex(16) for name in secret_env_names()}


def build_sandbox(port: int = 0, *, state_file: Path | None = None, seed: int = 1,
                  credentials: dict[str, dict[str, str]] | None = None,
                  options: dict[str, Any] | None = None) -> Sandbox:
    """A sandbox with every vendor's routes registered (not started)."""
    sandbox = Sandbox(port, state_file=state_file, credentials=credentials, seed=seed, options=options)
    for name in vendor_modules():
        register = getattr(importlib.import_module(name), "register", None)
        if register is not None:  # the SMTP desk is started by the caller (start_smtp), it has no routes
            register(sandbox)
    return sandbox
