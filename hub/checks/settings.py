"""The checks' editable configuration: ``config/words.toml`` and ``config/checks.toml``.

Loaded once per file version (mtime), validated, and every mistake is one
``ConfigError`` naming the file and key, found before any record is checked.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, ValidationError, model_validator

from hub.errors import ConfigError
from hub.settings import get_settings


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WordEntry(_Strict):
    """One wrong or sensitive word and its preferred form."""

    wrong: str = Field(min_length=1)
    preferred: str
    kind: Literal["wrong", "sensitive"] = "wrong"
    blocking: StrictBool | None = None
    except_: tuple[str, ...] = Field(default=(), alias="except")

    @model_validator(mode="after")
    def _not_self(self) -> WordEntry:
        if self.wrong == self.preferred:
            raise ValueError("wrong and preferred are the same")
        return self


class WordSettings(_Strict):
    blocking: StrictBool = False
    blocking_kinds: tuple[Literal["wrong", "sensitive"], ...] = ()


class WordsFile(_Strict):
    settings: WordSettings = WordSettings()
    words: tuple[WordEntry, ...] = ()


class LinkSettings(_Strict):
    allowed_hosts: tuple[str, ...] = ()
    blocking_malformed: StrictBool = True
    blocking_unknown_host: StrictBool = False
    #: ask each linked site whether the page is there (off for an installation without Internet access)
    check_reachable: StrictBool = False
    blocking_dead: StrictBool = False
    reach_timeout_s: float = Field(default=5.0, gt=0, le=60)
    reach_cache_s: int = Field(default=3600, ge=0)


class PersonalDataSettings(_Strict):
    bank_prefixes: tuple[str, ...] = Field(default=("62", "4", "51", "52", "53", "54", "55"), min_length=1)


class ChecksFile(_Strict):
    links: LinkSettings = LinkSettings()
    personal_data: PersonalDataSettings = PersonalDataSettings()


@dataclass(frozen=True, slots=True)
class CheckConfig:
    """Everything the checks read from configuration."""

    words: tuple[WordEntry, ...]
    word_settings: WordSettings
    links: LinkSettings
    personal_data: PersonalDataSettings

    def word_blocking(self, entry: WordEntry) -> bool:
        if entry.blocking is not None:
            return entry.blocking
        return entry.kind in self.word_settings.blocking_kinds or self.word_settings.blocking


def _key(loc: tuple[int | str, ...]) -> str:
    out = ""
    for p in loc:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


def _load(path: Path, model: type[_Strict]) -> Any:
    if not path.exists():
        return model()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path.name}: not valid TOML: {exc}") from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        err = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])  # a misspelt key first
        what = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
        raise ConfigError(f"{path.name}: {_key(tuple(err['loc']))}: {what}") from None


def _mtime(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except FileNotFoundError:
        return 0


@lru_cache(maxsize=8)
def _cached(words: Path, words_mtime: int, checks: Path, checks_mtime: int) -> CheckConfig:
    wf: WordsFile = _load(words, WordsFile)
    cf: ChecksFile = _load(checks, ChecksFile)
    return CheckConfig(words=wf.words, word_settings=wf.settings, links=cf.links, personal_data=cf.personal_data)


#: ``0`` / ``1`` overrides ``[links] check_reachable`` (an air-gapped host, or the test suite, without editing files).
REACHABLE_ENV = "HUB_CHECK_LINKS_REACHABLE"


def _reachable_override(config: CheckConfig) -> CheckConfig:
    value = os.environ.get(REACHABLE_ENV, "").strip()
    if value not in ("0", "1"):
        return config
    links = config.links.model_copy(update={"check_reachable": value == "1"})
    return CheckConfig(words=config.words, word_settings=config.word_settings, links=links,
                       personal_data=config.personal_data)


def load_check_config(config_dir: Path | None = None) -> CheckConfig:
    """The checks' configuration from ``config_dir`` (default: the installation's config dir)."""
    base = config_dir or get_settings().config_dir
    words, checks = base / "words.toml", base / "checks.toml"
    return _reachable_override(_cached(words, _mtime(words), checks, _mtime(checks)))
