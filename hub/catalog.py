"""The catalog of disclosure items (基层政务公开标准目录) from ``config/catalog.toml``.

Each domain (征地补偿, 扶贫救灾, …) holds items with their 公开依据, 公开时限, update
cycle, 公开层级 and required channels. An office edits the file; a mistake in it
is one ``ConfigError`` naming the key (``catalog.toml: domains[1].items[3].levels``),
found at load time rather than when a record happens to use the item.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictInt, ValidationError, field_validator

from hub.config import invalid, read_toml
from hub.errors import ConfigError
from hub.record import Level, Stage
from hub.settings import get_settings

LEVEL_BY_NAME = {"县级": Level.COUNTY, "乡级": Level.TOWNSHIP, "村级": Level.VILLAGE}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Item(_Strict):
    """One 公开事项 of a domain."""

    name: str = Field(min_length=1)
    basis: str = Field(min_length=1)
    deadline: str = Field(min_length=1)
    cycle: str = Field(min_length=1)
    cycle_days: StrictInt = Field(ge=0)
    levels: tuple[Level, ...] = Field(min_length=1)
    stage: Stage | None = None
    channels: tuple[str, ...] = Field(min_length=1)

    @field_validator("levels", mode="before")
    @classmethod
    def _levels(cls, value: Any) -> Any:
        if not isinstance(value, list):
            return value
        out = []
        for v in value:
            if v not in LEVEL_BY_NAME and v not in {lv.value for lv in Level}:
                raise ValueError(f"unknown 公开层级 {v!r} (县级, 乡级 or 村级)")
            out.append(LEVEL_BY_NAME.get(v, v))
        return out

    @field_validator("channels")
    @classmethod
    def _channels(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        from hub.channels.registry import channel_names  # the hub's delivery channels (one declaration each)

        known = channel_names()
        for v in value:
            if v not in known:
                raise ValueError(f"unknown channel {v!r} (one of {', '.join(known)})")
        return value


class Domain(_Strict):
    """A disclosure domain (试点领域) and its items."""

    name: str = Field(min_length=1)
    code: str = Field(pattern=r"^[a-z][a-z0-9_-]*$")
    items: tuple[Item, ...] = Field(min_length=1)

    def item(self, name: str) -> Item | None:
        return next((i for i in self.items if i.name == name), None)


class Catalog(_Strict):
    """All domains, looked up by name."""

    domains: tuple[Domain, ...] = Field(min_length=1)

    def domain(self, name: str) -> Domain | None:
        return next((d for d in self.domains if d.name == name), None)

    def find_item(self, name: str) -> tuple[Domain, Item] | None:
        """The (domain, item) whose item has this name, when exactly one has."""
        found = [(d, i) for d in self.domains for i in d.items if i.name == name]
        return found[0] if len(found) == 1 else None

    def item_count(self) -> int:
        return sum(len(d.items) for d in self.domains)




def load_catalog(path: Path) -> Catalog:
    """Load and validate a catalog file; every problem is a ``ConfigError`` naming the key."""
    try:
        catalog = Catalog.model_validate(read_toml(path))
    except ValidationError as exc:
        raise invalid(path, exc) from None
    seen: set[str] = set()
    for n, domain in enumerate(catalog.domains):
        for key, value in (("name", domain.name), ("code", domain.code)):
            if f"{key}:{value}" in seen:
                raise ConfigError(f"{path.name}: domains[{n}].{key}: duplicate {value!r}")
            seen.add(f"{key}:{value}")
        names = [i.name for i in domain.items]
        for m, name in enumerate(names):
            if name in names[:m]:
                raise ConfigError(f"{path.name}: domains[{n}].items[{m}].name: duplicate {name!r}")
    return catalog


@lru_cache(maxsize=8)
def _cached(path: Path, mtime_ns: int) -> Catalog:
    return load_catalog(path)


def get_catalog() -> Catalog:
    """The catalog of this installation (``config_dir/catalog.toml``), reloaded when the file changes."""
    path = get_settings().config_dir / "catalog.toml"
    try:
        mtime = path.stat().st_mtime_ns
    except FileNotFoundError:
        raise ConfigError(f"catalog.toml: file not found ({path})") from None
    return _cached(path, mtime)
