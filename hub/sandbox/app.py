"""Assemble the sandbox: the core server plus every vendor module, each adding its routes.

Each vendor module exposes ``register(sandbox: Sandbox) -> None``. The list is
explicit (no discovery) so a reader sees every fake API the sandbox serves.
"""

from __future__ import annotations

import importlib
import secrets
from pathlib import Path
from typing import Any

from hub.sandbox.core import Sandbox

VENDOR_MODULES = (
    "hub.sandbox.wechat",
    "hub.sandbox.weibo",
    "hub.sandbox.tencent",
    "hub.sandbox.inbox",
)

#: Environment variables holding the secrets the sandbox accepts (the same ones the adapters read).
SANDBOX_SECRET_ENV = (
    "HUB_WECHAT_COUNTY_SECRET",
    "HUB_WECHAT_JIANCHI_SECRET",
    "HUB_WECHAT_CALLBACK_TOKEN",
    "HUB_WEIBO_COUNTY_TOKEN",
    "HUB_WEIBO_APP_SECRET",
    "HUB_TENCENT_SECRET_ID",
    "HUB_TENCENT_SECRET_KEY",
    "HUB_TV_PICKUP_TOKEN",
)


def random_secrets() -> dict[str, str]:
    """Fresh secrets for a demo or test run: nothing secret is ever committed, even for the sandbox."""
    return {name: secrets.token_hex(16) for name in SANDBOX_SECRET_ENV}


def build_sandbox(port: int = 0, *, state_file: Path | None = None, seed: int = 1,
                  credentials: dict[str, dict[str, str]] | None = None,
                  options: dict[str, Any] | None = None) -> Sandbox:
    """A sandbox with every vendor's routes registered (not started)."""
    sandbox = Sandbox(port, state_file=state_file, credentials=credentials, seed=seed, options=options)
    for name in VENDOR_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue  # a vendor module not written yet
        module.register(sandbox)
    return sandbox
