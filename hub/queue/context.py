"""What deliver / reconcile / confirm need from the world, injectable for tests.

Why a small bundle instead of globals: the engine's logic is tested with no
broker, a fake clock and (for unit tests of the logic only) a fake channel,
while production passes the real registry, renderers and database. Defaults
import the real parts lazily, so this module loads before they exist.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, TypeVar

from sqlalchemy import Connection
from sqlalchemy.orm import Session

from hub.channels.base import Channel
from hub.deliverables import Rendition, Target
from hub.queue.policy import EngineSettings, engine_settings
from hub.timeutil import utcnow

ChannelFor = Callable[[str], Channel]
RenditionFor = Callable[[Session | Connection, str, str], Rendition]
Sessions = Callable[[], AbstractContextManager[Session]]
Reads = Callable[[], AbstractContextManager[Connection]]

def default_channels(name: str) -> Channel:
    from hub.channels.registry import get_channel

    channel: Channel = get_channel(name)
    return channel


def default_renditions(session: Session | Connection, version: str, kind: str) -> Rendition:
    """The stored rendition; NotFound when it is missing (``deliver`` then renders it outside any transaction)."""
    from hub.renderers.service import get_rendition

    return get_rendition(session, version, kind)


#: one SQLite writer at a time in this process: threads queue on a Python lock (a fast hand-off)
#: instead of meeting in SQLite's busy handler, which sleeps 1–100 ms per retry
_SQLITE_WRITER = threading.RLock()


T = TypeVar("T")


@contextmanager
def _serialised(inner: AbstractContextManager[Session]) -> Iterator[Session]:
    with _SQLITE_WRITER, inner as session:
        yield session


def default_sessions() -> AbstractContextManager[Session]:
    """One short transaction (``session_scope``); on SQLite, serialised within this process."""
    from hub.settings import get_settings
    from hub.store.db import session_scope

    url = get_settings().database_url
    if url.startswith("sqlite"):
        return _serialised(session_scope(url))
    return session_scope(url)


class Writer(Protocol):
    """Runs a write function in a short transaction and returns its result once committed."""

    def __call__(self, fn: Callable[[Connection], T]) -> T: ...


def default_write(fn: Callable[[Connection], T]) -> T:
    """The hot path's writes (claim, record): group-committed on SQLite, a transaction each on PostgreSQL.

    See ``hub.store.groupcommit`` for why SQLite writes go through one thread.
    """
    from hub.settings import get_settings
    from hub.store.db import connection_scope, get_engine
    from hub.store.groupcommit import committer_for

    url = get_settings().database_url
    if url.startswith("sqlite"):
        return committer_for(get_engine(url), _SQLITE_WRITER).run(fn)
    with connection_scope(url) as conn:
        return fn(conn)


def default_reads() -> AbstractContextManager[Connection]:
    """A read-only transaction (``read_scope``): not serialised, it takes no lock in WAL mode."""
    from hub.store.db import read_scope

    return read_scope()


def target_for(name: str) -> Target:
    """The ``Target`` of a configured target name (channel, account, and its settings as params)."""
    from hub.config import get_config
    from hub.errors import ConfigError

    cfg = get_config().targets.get(name)
    if cfg is None:
        from hub.audience.direct import direct_target  # a one-recipient notice's row names its template

        found = direct_target(name)
        if found is not None:
            return found
        raise ConfigError(f"channels.toml: no target {name!r} (a delivery names it)")
    params: dict[str, Any] = cfg.model_dump(exclude={"channel", "account"}, exclude_none=True)
    return Target(channel=cfg.channel, name=name, account=cfg.account, params=params)


def rendition_kind(channel: Channel, name: str) -> str:
    """The kind the adapter declares (a test's fake channel may declare none: then its own name)."""
    kind = getattr(channel, "rendition_kind", None)
    return str(kind) if kind else name


@dataclass
class Deps:
    """The injectable world of one engine call."""

    channels: ChannelFor = default_channels
    clock: Callable[[], datetime] = utcnow
    renditions: RenditionFor = default_renditions
    sessions: Sessions = default_sessions
    #: the hot path's write transactions (claim and record: prebuilt Core statements only)
    write: Writer = default_write
    #: read-only work on a bare connection (the pre-claim snapshot); it must not write
    reads: Reads = default_reads
    settings: EngineSettings = field(default_factory=engine_settings)
    targets: Callable[[str], Target] = target_for
    actor: str | None = None

    @classmethod
    def of(cls, deps: Deps | None, overrides: dict[str, Any]) -> Deps:
        """The deps of one step: ``deps`` (or the defaults) with ``overrides`` set (how tests inject fakes)."""
        d = deps or cls()
        for key, value in overrides.items():
            setattr(d, key, value)
        return d
