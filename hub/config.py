"""Typed, validated configuration from ``config/channels.toml``, built once at start-up.

A bad file is one ``ConfigError`` naming the key. Secrets are referenced by
environment-variable name and resolved only when an adapter needs them, into
``Secret`` values whose repr never shows the value.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from hub.errors import ConfigError
from hub.settings import get_settings

_VAR = re.compile(r"\$\{([A-Z0-9_]+)(?::-([^}]*))?\}")


@dataclass(frozen=True, slots=True)
class Secret:
    """A secret value that never prints itself."""

    value: str

    def __repr__(self) -> str:
        return "Secret('****')"

    __str__ = __repr__


def expand(value: str) -> str:
    """Replace ``${VAR}`` and ``${VAR:-default}`` with the environment's values."""

    def sub(m: re.Match[str]) -> str:
        name, default = m.group(1), m.group(2)
        got = os.environ.get(name)
        if got:
            return got
        if default is not None:
            return default
        raise ConfigError(f"channels.toml: environment variable {name} is not set")

    return _VAR.sub(sub, value)


def secret_from_env(name: str, *, key: str) -> Secret:
    """The secret held by environment variable ``name``; ``key`` names the config key for the error."""
    if not name:
        raise ConfigError(f"channels.toml: {key} names no environment variable")
    value = os.environ.get(name)
    if not value:
        raise ConfigError(f"channels.toml: {key}: environment variable {name} is not set")
    return Secret(value)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Account(BaseModel):
    """One ``[accounts.NAME]`` table; channel-specific keys are kept and read by the adapter."""

    model_config = ConfigDict(extra="allow", frozen=True)
    channel: str

    def get(self, key: str, default: Any = None) -> Any:
        """A channel-specific key, with ``${VAR}`` expanded in strings."""
        value = (self.model_extra or {}).get(key, default)
        return expand(value) if isinstance(value, str) else value

    def secret(self, key: str, name: str) -> Secret:
        """Resolve the secret whose env-var name is stored under ``key`` (e.g. ``secret_env``)."""
        return secret_from_env(str(self.get(key, "")), key=f"accounts.{name}.{key}")


class TargetConfig(_Strict):
    channel: str
    account: str
    region: str | None = None
    audience: dict[str, Any] = Field(default_factory=dict)
    to: str | None = None


class Route(_Strict):
    name: str
    match: dict[str, list[str]] = Field(default_factory=dict)
    targets: list[str]


class SmsTemplate(_Strict):
    """A further approved SMS template (e.g. the consultation answer notice), sent to one recipient."""

    template_id: str
    template: str
    params: list[str]


class SmsRender(_Strict):
    signature: str
    template_id: str
    template: str
    params: list[str]
    param_max_chars: int = 6
    budget_segments: int = 1
    #: the approved template of the withdrawal notice (撤回通知: an SMS cannot be recalled)
    withdraw_template_id: str = ""
    withdraw_template: str = ""
    #: the approved correction notice (更正, a material change): the same parameters as ``template``
    correct_template_id: str = ""
    correct_template: str = ""
    #: further approved templates by purpose (``hub.audience.direct``)
    templates: dict[str, SmsTemplate] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _distinct_template_ids(self) -> SmsRender:
        """Each approved template has its own id: the platform fills a template by id, so a shared id
        would send one purpose's text with another's parameters (refused, or worse, accepted)."""
        ids = [("template_id", self.template_id)]
        if self.withdraw_template_id:
            ids.append(("withdraw_template_id", self.withdraw_template_id))
        if self.correct_template_id:
            ids.append(("correct_template_id", self.correct_template_id))
            slots = sorted(set(re.findall(r"\{(\d+)\}", self.correct_template)))
            if slots != sorted(set(re.findall(r"\{(\d+)\}", self.template))):
                raise ValueError("correct_template must take the same parameters as template ({1}…{n})")
        ids += [(f"templates.{name}.template_id", t.template_id) for name, t in self.templates.items()]
        seen: dict[str, str] = {}
        for where, tid in ids:
            if tid in seen:
                raise ValueError(f"{where} {tid!r} is already the id of {seen[tid]}: each approved template has its own")
            seen[tid] = where
        return self


class RenderConfig(_Strict):
    font: str = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"
    logo: str = ""
    wechat_author: str = ""
    weibo_topics: list[str] = Field(default_factory=list)
    not_after_hours: dict[str, int] = Field(default_factory=dict)
    sms: SmsRender


class Portal(_Strict):
    site_name: str


class SandboxConfig(_Strict):
    host: str = "127.0.0.1"
    port: int = 8765


class HubConfig(_Strict):
    """The whole of channels.toml."""

    portal: Portal
    render: RenderConfig
    sandbox: SandboxConfig = SandboxConfig()
    accounts: dict[str, Account]
    targets: dict[str, TargetConfig]
    routes: list[Route]

    def check_references(self) -> None:
        for name, target in self.targets.items():
            if target.account not in self.accounts:
                raise ConfigError(f"channels.toml: targets.{name}.account: no account {target.account!r}")
            if self.accounts[target.account].channel != target.channel:
                raise ConfigError(f"channels.toml: targets.{name}: account {target.account!r} is not a {target.channel} account")
        for i, route in enumerate(self.routes):
            for t in route.targets:
                if t not in self.targets:
                    raise ConfigError(f"channels.toml: routes[{i}] ({route.name}).targets: no target {t!r}")

    def targets_for(self, fields: dict[str, Any]) -> list[str]:
        """Target names the routing selects for a record with these field values (order kept, no repeats)."""
        chosen: list[str] = []
        for route in self.routes:
            if all(str(fields.get(k)) in v for k, v in route.match.items()):
                chosen.extend(t for t in route.targets if t not in chosen)
        return chosen


def read_toml(path: Path) -> dict[str, Any]:
    """A TOML config file as a dict; a missing or malformed file is one ConfigError naming it."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path.name}: file not found ({path})") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path.name}: not valid TOML: {exc}") from None


def dotted(loc: tuple[int | str, ...]) -> str:
    """A key path as written in TOML terms: ``routes[0].targets``."""
    out = ""
    for p in loc:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


def invalid(path: Path, exc: ValidationError, prefix: tuple[int | str, ...] = ()) -> ConfigError:
    """The first problem of a validation error as one ConfigError naming the key (a misspelt key first)."""
    errors = exc.errors()
    err = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    what = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
    return ConfigError(f"{path.name}: {dotted((*prefix, *err['loc']))}: {what}")


def load_config(path: Path) -> HubConfig:
    """Parse and validate ``path``; any problem is one ConfigError naming the key."""
    try:
        config = HubConfig.model_validate(read_toml(path))
    except ValidationError as exc:
        raise invalid(path, exc) from None
    config.check_references()
    return config


@lru_cache(maxsize=4)
def _cached(path: str) -> HubConfig:
    return load_config(Path(path))


def get_config() -> HubConfig:
    """The configuration of this process (config/channels.toml under the settings' config dir)."""
    return _cached(str(get_settings().config_dir / "channels.toml"))
