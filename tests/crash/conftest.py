"""Crash and broker-fault fixtures: a real Redis, the sandbox, and ``hub worker`` in a subprocess.

The worker is Dramatiq's own CLI (``hub worker``) on a real redis-server, sharing the
test's SQLite file (WAL) and the sandbox's address through the environment. Crash
points (``HUB_FAULT``) SIGKILL the worker process at a precise line; Dramatiq's
parent then stops, as it does in production when a worker process dies, and the
test starts a fresh worker, as a supervisor would.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "queue"))


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


def clear_caches() -> None:
    from hub import config, settings
    from hub.store import db

    settings.get_settings.cache_clear()
    config._cached.cache_clear()
    db._engine_for.cache_clear()


@pytest.fixture
def crash_world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sandbox: Any,
                redis_server: Any) -> Iterator[dict[str, Any]]:
    """Sandbox + Redis + an approved sample; this process publishes through Redis like a console would."""
    from sandbox_world import approved_sample, fast_config

    from hub.channels.subscribers import new_key
    from hub.queue import actors
    from hub.queue.broker import make_broker

    fast_config(tmp_path, monkeypatch)
    monkeypatch.setenv("HUB_PHONE_KEY", new_key())
    for k, v in QUEUE_ENV.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("HUB_BROKER_URL", redis_server.url)
    clear_caches()
    version = approved_sample()
    broker = actors.rebind_from_settings()
    try:
        yield {"version": version, "redis": redis_server, "sandbox": sandbox, "broker": broker,
               "log": tmp_path / "worker.log"}
    finally:
        actors.bind(make_broker(None))
