"""Fixtures of the engine tests: the database (SQLite and PostgreSQL) and the engine's test world."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from engine_fakes import Engine, FakeChannel, FakeClock

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
