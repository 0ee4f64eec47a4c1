"""What the sandbox accepts, read from the same environment variables the adapters use.

Each sandbox fake a channel declares (``ChannelBase.sandbox``) knows its own
accounts: ``accepted_credentials(config)`` and ``options(config)`` when it has
any. This module only merges them, so it names no channel.
"""

from __future__ import annotations

import importlib
from typing import Any

from hub.config import get_config


def _hooks(hook: str) -> list[Any]:
    from hub.channels.registry import sandbox_modules

    found = (getattr(importlib.import_module(name), hook, None) for name in sandbox_modules())
    return [fn for fn in found if fn is not None]


def credentials_from_env() -> dict[str, dict[str, str]]:
    """``{vendor: {id: secret}}`` of every fake, e.g. WeChat ``{appid: secret}``, Tencent ``{secret_id: secret_key}``.

    Accounts whose env vars are unset are left out (the sandbox then rejects them like the real API).
    """
    config = get_config()
    creds: dict[str, dict[str, str]] = {}
    for accepted in _hooks("accepted_credentials"):
        for vendor, values in accepted(config).items():
            creds.setdefault(vendor, {}).update(values)
    return creds


def options_from_config() -> dict[str, Any]:
    """Vendor options from config and environment (e.g. Weibo's safe domain, the WeChat event callback)."""
    config = get_config()
    options: dict[str, Any] = {}
    for fn in _hooks("options"):
        options.update(fn(config))
    return options
