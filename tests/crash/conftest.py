"""Crash and broker-fault fixtures: a real broker, the sandbox, and ``hub worker`` in a subprocess.

The worker is Dramatiq's own CLI (``hub worker``) on a real redis-server (or, in
test_rabbitmq.py, a real rabbitmq-server), sharing the test's ledger and the sandbox's
address through the environment. The ledger is this test's SQLite file (WAL, the
one-machine setup) and then a PostgreSQL database of the test's own (the distributed
setup: ``HUB_DATABASE_URL``). Crash points (``HUB_FAULT``) SIGKILL the worker process
at a precise line; Dramatiq's parent then stops, as it does in production when a
worker process dies, and the test starts a fresh worker, as a supervisor would.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from crashkit import QUEUE_ENV

from hub.testing.caches import clear_caches


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def ledger(request: pytest.FixtureRequest) -> str:
    """The ledger this process and the worker share: this test's SQLite file, then its own PostgreSQL database."""
    if request.param == "postgresql":
        return str(request.getfixturevalue("pg_database"))
    return "sqlite"


@pytest.fixture
def broker_url(redis_server: Any) -> str:
    """The broker the hints go through (a module may override this fixture with another broker)."""
    return str(redis_server.url)


@pytest.fixture
def crash_world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sandbox: Any, ledger: str,
                broker_url: str) -> Iterator[dict[str, Any]]:
    """Sandbox + broker + ledger + an approved sample; this process publishes through the broker like a console would."""
    from sandbox_world import approved_sample, fast_config

    from hub.queue import actors
    from hub.queue.broker import make_broker

    fast_config(tmp_path, monkeypatch)
    for k, v in QUEUE_ENV.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("HUB_BROKER_URL", broker_url)
    clear_caches()
    version = approved_sample()
    broker = actors.rebind_from_settings()
    try:
        yield {"version": version, "ledger": ledger, "sandbox": sandbox, "broker": broker,
               "log": tmp_path / "worker.log"}
    finally:
        actors.bind(make_broker(None))
        broker.close()  # RabbitMQ: this process's AMQP connections; Redis: nothing to do
