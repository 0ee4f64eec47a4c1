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

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "queue"))

from sandbox_world import FINAL, assert_truthful, posts, rows_of  # noqa: E402 - needs the path above

from hub.testing.caches import clear_caches  # noqa: E402

QUEUE_ENV = {
    "HUB_QUEUE_LEASE": "3", "HUB_QUEUE_MIN_BACKOFF": "0.3", "HUB_QUEUE_MAX_BACKOFF": "2",
    "HUB_QUEUE_CONFIRM_FIRST": "0.3", "HUB_QUEUE_CONFIRM_MAX": "1", "HUB_QUEUE_TICK": "0.3",
    "HUB_QUEUE_HINT_GRACE": "1", "HUB_REDIS_HEARTBEAT_TIMEOUT_MS": "3000",
    "HUB_REDIS_MAINTENANCE_CHANCE": "1000000", "dramatiq_queue_prefetch": "8",
}


class WorkerProcess:
    """``hub worker`` in a subprocess with this test's environment (plus ``extra``)."""

    def __init__(self, log: Path, extra: dict[str, str] | None = None) -> None:
        env = {**os.environ, **QUEUE_ENV, **(extra or {})}
        self.log = log
        self.fh = log.open("ab")
        hub = Path(sys.executable).with_name("hub")
        self.proc = subprocess.Popen([str(hub), "worker", "--processes", "1", "--threads", "2"], env=env,
                                     stdout=self.fh, stderr=subprocess.STDOUT, start_new_session=True)

    def wait_exit(self, timeout: float = 60) -> int:
        try:
            return self.proc.wait(timeout=timeout)
        finally:
            self.fh.close()

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        if not self.fh.closed:
            self.fh.close()


#: the channels the crash tests publish to (TV is left out: its video render is slow)
CHANNELS = ["web", "wechat", "weibo", "sms", "newspaper"]


def wait_settled(ids: list[int], timeout: float = 60) -> dict[int, Any]:
    """The rows once every one is final or needs a person (or as they are at the timeout)."""
    deadline = time.monotonic() + timeout
    rows = rows_of(ids)
    while time.monotonic() < deadline:
        rows = rows_of(ids)
        if all(r.state in FINAL or r.needs_attention for r in rows.values()):
            return rows
        time.sleep(0.3)
    return rows


def run_until_settled(world: dict[str, Any], ids: list[int], timeout: float = 60) -> dict[int, Any]:
    """A fresh ``hub worker`` (as a supervisor would start) until the rows settle; then it is stopped."""
    worker = WorkerProcess(world["log"])
    t0 = time.monotonic()
    try:
        return wait_settled(ids, timeout)
    finally:
        t1 = time.monotonic()
        worker.stop()
        print(f"settled in {t1 - t0:.1f} s, stopped in {time.monotonic() - t1:.1f} s")


def check(world: dict[str, Any], rows: dict[int, Any]) -> None:
    """Every row final or unknown-with-a-reason, and at most one publication per (channel, target, recipient)."""
    assert_truthful(rows)
    counts = posts(world["sandbox"])
    assert counts and max(counts.values()) == 1, counts


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

    from hub.channels.subscribers import new_key
    from hub.queue import actors
    from hub.queue.broker import make_broker

    fast_config(tmp_path, monkeypatch)
    monkeypatch.setenv("HUB_PHONE_KEY", new_key())
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
