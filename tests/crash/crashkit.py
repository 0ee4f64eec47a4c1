"""The crash tests' helpers: ``hub worker`` in a subprocess, waiting for rows to settle, the checks.

(Not in conftest.py: ``from conftest import`` resolves to whichever conftest was imported
first when several test directories run together.)
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "queue"))

from sandbox_world import FINAL, assert_truthful, posts, rows_of  # noqa: E402 - needs the path above

QUEUE_ENV = {
    "HUB_QUEUE_LEASE": "3", "HUB_QUEUE_MIN_BACKOFF": "0.3", "HUB_QUEUE_MAX_BACKOFF": "2",
    "HUB_QUEUE_CONFIRM_FIRST": "0.3", "HUB_QUEUE_CONFIRM_MAX": "1", "HUB_QUEUE_TICK": "0.3",
    "HUB_QUEUE_HINT_GRACE": "1", "HUB_REDIS_HEARTBEAT_TIMEOUT_MS": "3000",
    "HUB_REDIS_MAINTENANCE_CHANCE": "1000000", "dramatiq_queue_prefetch": "8",
}


#: holds the sitecustomize that installs the HUB_FAULT crash hook in the workers
HOOKS = Path(__file__).with_name("hooks")


class WorkerProcess:
    """``hub worker`` in a subprocess with this test's environment (plus ``extra``; ``args`` replace the default)."""

    def __init__(self, log: Path, extra: dict[str, str] | None = None, args: list[str] | None = None) -> None:
        env = {**os.environ, **QUEUE_ENV, **(extra or {})}
        # the crash hook (HUB_FAULT) is installed by hooks/sitecustomize.py at interpreter start
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(HOOKS), env.get("PYTHONPATH", "")) if p)
        self.log = log
        self.fh = log.open("ab")
        hub = Path(sys.executable).with_name("hub")
        argv = args if args is not None else ["--processes", "1", "--threads", "2"]
        self.proc = subprocess.Popen([str(hub), "worker", *argv], env=env,
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
