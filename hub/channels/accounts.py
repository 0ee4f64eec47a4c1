"""Every ``[accounts.*]`` and ``[targets.*]`` table checked against its channel's typed declaration.

Why not at ``get_config()``: the generic config loader sits below the channels
(it must load before any adapter exists), and a missing secret on one account
must not stop the portal from publishing. ``check(config)`` is what ``hub
config check`` runs before anything is sent: it lists *every* problem, one
line each, naming the file and key, never a secret's value.
"""

from __future__ import annotations

import os
from typing import TypeVar

from pydantic import ValidationError

from hub.channels.base import AccountConfig
from hub.config import Account, HubConfig, dotted
from hub.errors import ConfigError

FILE = "channels.toml"
M = TypeVar("M", bound=AccountConfig)


def account_models() -> dict[str, type[AccountConfig]]:
    """``channel`` value of an account → its typed model: every channel's, plus vendor-only accounts (TTS)."""
    from hub.channels.registry import CHANNELS
    from hub.vendors.tencent.tts import ACCOUNT_CHANNEL, TtsAccount

    models: dict[str, type[AccountConfig]] = {name: cls.account_model for name, cls in CHANNELS.items()}
    models[ACCOUNT_CHANNEL] = TtsAccount
    return models


def typed(name: str, account: Account, model: type[M]) -> M:
    """``account`` as its channel's ``model`` (``${VAR:-default}`` expanded): what an adapter reads
    instead of untyped ``Account.get``; ConfigError naming the first bad key."""
    problems = account_problems(name, account, model, env=False)
    if problems:
        raise ConfigError(problems[0])
    values = {"channel": account.channel, **{k: account.get(k) for k in (account.model_extra or {})}}
    return model.model_validate(values)


def account_problems(name: str, account: Account, model: type[AccountConfig], *, env: bool = True) -> list[str]:
    """Every problem of one account: bad or unknown keys, unset variables, secrets not in the environment."""
    where = f"{FILE}: accounts.{name}"
    values: dict[str, object] = {"channel": account.channel}
    problems: list[str] = []
    for key in account.model_extra or {}:
        try:
            values[key] = account.get(key)
        except ConfigError as exc:  # ${VAR} without a default and VAR unset
            problems.append(f"{where}.{key}: {str(exc).removeprefix(FILE + ': ')}")
    try:
        model.model_validate(values)
    except ValidationError as exc:
        for err in exc.errors():
            what = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
            problems.append(f"{where}.{dotted(tuple(err['loc']))}: {what}")
    if env:
        for key in model.required_env:
            var = str(values.get(key) or "")
            if var and not os.environ.get(var):
                problems.append(f"{where}.{key}: environment variable {var} is not set")
        for key in model.optional_env:
            var = str(values.get(key) or "")
            if var and not os.environ.get(var):
                problems.append(f"{where}.{key}: environment variable {var} is not set")
    return problems


def check(config: HubConfig, *, env: bool = True) -> list[str]:
    """Every problem of the accounts and targets of ``config``, in file order; empty when clean.

    ``env=False`` checks the file only (no secret needs to be present), e.g. on a build machine.
    """
    from hub.channels.registry import CHANNELS

    models = account_models()
    problems: list[str] = []
    for name, account in config.accounts.items():
        model = models.get(account.channel)
        if model is None:
            problems.append(f"{FILE}: accounts.{name}.channel: unknown channel {account.channel!r} "
                            f"(one of {', '.join(sorted(models))})")
            continue
        problems.extend(account_problems(name, account, model, env=env))
    for name, target in config.targets.items():
        if target.channel not in CHANNELS:
            problems.append(f"{FILE}: targets.{name}.channel: no channel {target.channel!r} "
                            f"(one of {', '.join(CHANNELS)})")
    return problems
