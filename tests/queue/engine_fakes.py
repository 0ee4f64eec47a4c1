"""Helpers of the engine's logic tests: a small fake channel, a fake clock, the engine's test world.

The fake channel stands in for a *platform* only in tests of the engine's own
logic (claims, retries, reconciliation), as reliability.md plan D allows; the
same behaviours are exercised through the real sandbox and adapters in
``tests/queue/test_sandbox_*.py`` and ``tests/crash/``. The database is real:
SQLite in WAL mode, and PostgreSQL for the ``db`` fixture's second run.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from hub.deliverables import Artifact, DeliveryStatus, Receipt, Rendition, Target
from hub.queue.context import Deps
from hub.queue.policy import EngineSettings
from hub.store.db import session_scope
from hub.store.models import DeliveryRow


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class FakePlatform:
    """What a platform holds: posts by idempotency key, plus call counters.

    ``posts`` keeps the first receipt of a key (what ``lookup`` finds); ``landed`` counts every
    post that reached the platform per key, so a test can see a second copy on a platform that
    does not deduplicate (``posts`` alone would hide it).
    """

    posts: dict[str, Receipt] = field(default_factory=dict)
    landed: Counter[str] = field(default_factory=Counter)
    sends: int = 0
    lookups: int = 0
    polls: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


class FakeChannel:
    """A channel whose next outcomes are scripted: "ok", "pending", an exception, or ("land", exception).

    An exception is raised before anything lands: a ``ChannelError``, a raw adapter error, or a
    ``BaseException`` standing for a worker killed mid-send (the engine catches ``Exception`` only).
    ("land", exception) means the platform keeps the post and then the call fails (accept-then-drop).
    """

    name: ClassVar[str] = "fake"
    rendition_kind: ClassVar[str] = "sms"

    def __init__(self, name: str = "fake", *, idempotent: bool = False, lookup: bool = True,
                 script: list[Any] | None = None, during_send: Callable[[], None] | None = None) -> None:
        self.name = name  # type: ignore[misc]
        self.idempotent_upsert = idempotent
        self.can_lookup = lookup
        self.script = list(script or [])
        self.platform = FakePlatform()
        self.during_send = during_send
        self.status_script: list[DeliveryStatus | BaseException] = []  # an exception: the poll fails
        self.lookup_script: list[BaseException] = []  # the next lookups fail (e.g. "not visible yet")

    def send(self, rendition: Rendition, target: Target, key: str) -> Receipt:
        with self.platform.lock:
            self.platform.sends += 1
            step = self.script.pop(0) if self.script else "ok"
        if self.during_send is not None:
            self.during_send()
        if isinstance(step, BaseException):
            raise step
        receipt = Receipt(provider_ref=f"{self.name}-{len(self.platform.posts) + 1}",
                          accepted_at=datetime.now(UTC), confirmed=(step != "pending"))
        if isinstance(step, tuple) and step[0] == "land":
            self._land(key, receipt)
            raise step[1]
        self._land(key, receipt)
        return receipt

    def _land(self, key: str, receipt: Receipt) -> None:
        with self.platform.lock:
            self.platform.posts.setdefault(key, receipt)
            self.platform.landed[key] += 1

    def lookup(self, target: Target, key: str) -> Receipt | None:
        self.platform.lookups += 1
        if self.lookup_script:
            raise self.lookup_script.pop(0)
        return self.platform.posts.get(key)

    def status(self, receipt: Receipt, target: Target) -> DeliveryStatus:
        self.platform.polls += 1
        step = self.status_script.pop(0) if self.status_script else DeliveryStatus.DELIVERED
        if isinstance(step, BaseException):
            raise step
        return step


def fake_rendition(version: str = "v" * 64, kind: str = "sms", not_after: datetime | None = None) -> Rendition:
    from pathlib import Path

    return Rendition(kind=kind, record_id="rec-1", version=version,
                     main=Artifact(Path("/dev/null"), "0" * 64, 0, "text/plain"), not_after=not_after)


@dataclass
class Engine:
    """The engine's world for one test: fake channels by name, the fake clock, settings."""

    clock: FakeClock
    channels: dict[str, FakeChannel]
    settings: EngineSettings
    rendition_not_after: datetime | None = None

    def deps(self, **changes: Any) -> Deps:
        d = Deps(channels=lambda n: self.channels[n], clock=self.clock,  # type: ignore[arg-type,return-value]
                 renditions=lambda s, v, k: fake_rendition(v, k, self.rendition_not_after),
                 settings=self.settings, targets=lambda n: Target(channel=n.split("-")[0], name=n, account=n),
                 actor="test-worker")
        for k, v in changes.items():
            setattr(d, k, v)
        return d

    def add(self, channel: str = "fake", target: str | None = None, *, version: str = "v" * 64,
            not_after: datetime | None = None, state: str = "queued") -> int:
        from hub.queue import ledger

        target = target or f"{channel}-main"
        now = self.clock()
        with session_scope() as s:
            row = DeliveryRow(record_id="rec-1", version=version, channel=channel, target=target,
                              idempotency_key=ledger.idempotency_key("rec-1", version, channel, target),
                              state=state, attempts=0, redeliveries=0, next_attempt_at=now, not_after=not_after,
                              needs_attention=False, created_at=now, updated_at=now)
            s.add(row)
            s.flush()
            ledger.created_event(s, row, actor="test", now=now)
            return row.id

    def row(self, delivery_id: int) -> DeliveryRow:
        with session_scope() as s:
            row = s.get(DeliveryRow, delivery_id)
            assert row is not None
            s.expunge(row)
            return row


