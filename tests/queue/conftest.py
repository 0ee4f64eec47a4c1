"""Fixtures of the engine tests: the database (SQLite and PostgreSQL), the engine's test world
with fake channels, and the sandbox world with the real adapters (``world``, ``published``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from engine_fakes import Engine, FakeChannel, FakeClock
from sandbox_world import CHANNELS, Clock, approved_sample, drain, fast_config

from hub.queue.policy import EngineSettings


@pytest.fixture(params=["sqlite", "postgres"])
def db(request: pytest.FixtureRequest) -> str:
    """Run a test on SQLite (WAL, BEGIN IMMEDIATE) and again on PostgreSQL."""
    if request.param == "postgres":
        return str(request.getfixturevalue("pg_database"))
    return "sqlite"


@pytest.fixture
def engine(db: str) -> Iterator[Engine]:
    settings = EngineSettings(lease=30, min_backoff=10, max_backoff=600, max_attempts=4, confirm_first=5,
                              confirm_max=60, tick=0.2, hint_grace=5, write_retry=2)
    yield Engine(FakeClock(), {"fake": FakeChannel("fake"), "web": FakeChannel("web", idempotent=True),
                               "blind": FakeChannel("blind", lookup=False)}, settings)


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The sandbox world: fast config, a fresh phone key, and no worker (``drain`` runs the steps)."""
    from hub.queue import actors

    fast_config(tmp_path, monkeypatch)
    monkeypatch.setattr(actors, "hint", lambda a, i, d: None)
    yield


@pytest.fixture
def published(world: None, sandbox: Any) -> tuple[str, list[int]]:
    """The sample published on ``CHANNELS`` and confirmed everywhere: its version and delivery ids."""
    from hub.app import deliveries
    from hub.queue.states import State

    version = approved_sample(kinds=())
    ids = deliveries.publish(version, actor="office", channels=CHANNELS).ids
    rows = drain(ids, clock=Clock())
    assert {r.channel: r.state for r in rows.values()} == {c: State.CONFIRMED for c in CHANNELS}
    return version, ids
