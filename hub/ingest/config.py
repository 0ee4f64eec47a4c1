"""``config/ingest.toml``: the hub's departments and what each feed's entries are by default.

Two questions the page itself cannot answer are configured here, in one place:

- ``departments``: the hub departments (公开责任部门) records may be assigned to, besides
  those that have staff accounts. A record whose department is none of them cannot be
  reviewed by anyone, so it goes to the office's queue (``hub.departments.route``).
- ``[feeds."<url or file glob>"]``: ``issuer`` (发布机构 used when an entry names no office:
  not in its title, ``<source>`` or 来源 line) and ``department`` (the hub department that
  publishes the feed's entries). The first glob that matches the feed's URL or path wins.

A missing file is an empty configuration (no feed rules, departments from staff accounts
only); a malformed one is one ConfigError naming the key.
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from hub.config import invalid, read_toml
from hub.settings import get_settings


class FeedRule(BaseModel):
    """What a feed's entries are when they say nothing themselves."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    issuer: str | None = None
    department: str | None = None


class IngestConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    departments: list[str] = Field(default_factory=list)
    feeds: dict[str, FeedRule] = Field(default_factory=dict)

    def feed_rule(self, uri: str | None) -> FeedRule | None:
        """The rule of the first glob matching ``uri`` (a URL, a path or a ``file://`` URI), or None."""
        if not uri:
            return None
        plain = uri.split("?", 1)[0]
        candidates = {plain, plain.removeprefix("file://")}
        for pattern, rule in self.feeds.items():
            if any(fnmatchcase(c, pattern) for c in candidates):
                return rule
        return None


def load_ingest_config(path: Path) -> IngestConfig:
    """Parse ``path``; a missing file is the empty configuration."""
    if not path.exists():
        return IngestConfig()
    try:
        return IngestConfig.model_validate(read_toml(path))
    except ValidationError as exc:
        raise invalid(path, exc) from None


@lru_cache(maxsize=8)
def _cached(path: str, mtime: int) -> IngestConfig:
    return load_ingest_config(Path(path))


def get_ingest_config() -> IngestConfig:
    """The ingest configuration of this installation (``config_dir/ingest.toml``), reloaded on change."""
    path = get_settings().config_dir / "ingest.toml"
    try:
        mtime = path.stat().st_mtime_ns
    except FileNotFoundError:
        return IngestConfig()
    return _cached(str(path), mtime)
