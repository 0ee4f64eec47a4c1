"""Delivery throughput: the hub's claim → send → record pipeline against a bare Dramatiq actor.

    .venv/bin/python bench/delivery.py [--n 2000] [--threads 8] [--brokers embedded,redis]

For each broker (the embedded in-process one, and a real redis-server started here on a
random loopback port) it measures, in the same process:

* hub: N delivery rows in the ledger (SQLite in WAL mode), hinted to the ``deliver`` actor;
  each message claims its row, sends through a channel adapter (one HTTP POST to the
  in-process sandbox), and records the receipt: the full ``deliver_one`` path;
* bare: N messages to a plain actor making the same HTTP POST with no ledger at all.

It prints deliveries/s for both and the ratio hub/bare (target ≥ 0.5), alternating the two
for ``--rounds`` rounds and giving the median ratio (the machines are noisy). It also prints
the process's CPU time per delivery for both: the whole pipeline runs in this one process
under one GIL, so bare CPU / hub CPU is the throughput ratio a quiet machine would show,
and it moves far less than wall-clock rates when other work shares the machine. The channel is a
minimal HTTP adapter so that both pipelines pay exactly the same network cost; the
vendor adapters are exercised by the tests, not timed here. Not a test: numbers only.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


class BenchChannel:
    """One HTTP POST per send to the sandbox's /bench/post route (a real socket round trip)."""

    name: ClassVar[str] = "bench"
    idempotent_upsert: ClassVar[bool] = False
    can_lookup: ClassVar[bool] = False
    rendition_kind: ClassVar[str] = "sms"

    def __init__(self, url: str) -> None:
        import httpx

        self.url = url
        self.local = threading.local()
        self.httpx = httpx
        #: set once ``expect`` sends were made (how a run knows the network part is over)
        self.sent = threading.Event()
        self._count, self._expect, self._lock = 0, 0, threading.Lock()

    def expect(self, n: int) -> None:
        with self._lock:
            self._count, self._expect = 0, n
            self.sent.clear()

    def client(self) -> Any:
        c = getattr(self.local, "c", None)
        if c is None:
            c = self.local.c = self.httpx.Client(timeout=5.0)
        return c

    def send(self, rendition: Any, target: Any, key: str) -> Any:
        from hub.deliverables import Receipt

        r = self.client().post(self.url, json={"key": key})
        r.raise_for_status()
        with self._lock:
            self._count += 1
            if self._count >= self._expect:
                self.sent.set()
        return Receipt(provider_ref=r.json()["id"], accepted_at=datetime.now(UTC), confirmed=True)

    def lookup(self, target: Any, key: str) -> None:
        return None

    def status(self, receipt: Any, target: Any) -> Any:
        raise NotImplementedError


def start_sandbox() -> Any:
    from hub.sandbox.core import Sandbox, SandboxResponse

    sb = Sandbox(0)
    counter = {"n": 0}
    lock = threading.Lock()

    def post(req: Any, sandbox: Any) -> Any:
        with lock:
            counter["n"] += 1
            n = counter["n"]
        return SandboxResponse.json({"id": str(n)})

    sb.route("POST", "/bench/post", "bench", post)
    sb.counter = counter  # type: ignore[attr-defined]
    return sb.start()


def start_redis(workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--dir", str(workdir)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
        except OSError:
            time.sleep(0.05)
    return proc, f"redis://127.0.0.1:{port}/0"


def make_rows(n: int, tag: str) -> list[int]:
    from hub.queue import ledger
    from hub.store.db import session_scope
    from hub.store.models import DeliveryRow

    now = datetime.now(UTC)
    with session_scope() as s:
        rows = [DeliveryRow(record_id=f"bench-{tag}", version=f"{tag}{i:060d}"[:64], channel="bench",
                            target="bench-main",
                            idempotency_key=ledger.idempotency_key(f"bench-{tag}", str(i), "bench", "main"),
                            state="queued", attempts=0, redeliveries=0, next_attempt_at=now, needs_attention=False,
                            created_at=now, updated_at=now, hinted_at=now) for i in range(n)]
        s.add_all(rows)
        s.flush()
        return [r.id for r in rows]


def run_hub(broker: Any, n: int, threads: int, channel: BenchChannel, tag: str) -> tuple[float, float]:
    import sqlite3

    import dramatiq

    from hub.deliverables import Artifact, Rendition, Target
    from hub.queue import actors
    from hub.queue.context import Deps
    from hub.settings import get_settings

    rendition = Rendition(kind="sms", record_id="bench", version="0" * 64,
                          main=Artifact(Path("/dev/null"), "0" * 64, 0, "text/plain"))
    target = Target(channel="bench", name="bench-main", account="bench")
    actors.bind(broker)
    actors.deps_factory = lambda: Deps(channels=lambda _n: channel, renditions=lambda *_a: rendition,  # type: ignore[assignment,arg-type,return-value]
                                       targets=lambda _n: target)
    ids = make_rows(n, tag)
    channel.expect(n)
    worker = dramatiq.Worker(broker, worker_threads=threads, worker_timeout=100)
    worker.queue_prefetch = max(worker.queue_prefetch, 64)
    worker.start()
    try:
        started, cpu = time.perf_counter(), time.process_time()
        for i in ids:
            actors.deliver.send(i)
        # the channel counts its sends; only once all N were sent is the ledger polled (every 10 ms) until
        # all N rows are confirmed. Polling the ledger all along (a count over N rows every 0.1 s) cost the
        # measuring thread ~0.13 ms of CPU per delivery, charged to the hub's side of the ratio: the bare
        # side waits on an event, so the hub's side now waits the same way for the part that can.
        channel.sent.wait(600)
        reader = sqlite3.connect(str(get_settings().var_dir / "hub.db"), timeout=5)
        while reader.execute("SELECT count(*) FROM deliveries WHERE record_id = ? AND state = 'confirmed'",
                             (f"bench-{tag}",)).fetchone()[0] < n:
            time.sleep(0.01)
        reader.close()
        return n / (time.perf_counter() - started), (time.process_time() - cpu) / n * 1000
    finally:
        worker.stop()


def group_commit_note() -> str:
    """How many ledger writes each SQLite commit carried (the group committer's batching)."""
    from hub.store import groupcommit

    writes = sum(c.writes for c in groupcommit._committers.values())
    commits = sum(c.transactions for c in groupcommit._committers.values())
    return f"; {writes / commits:.1f} ledger writes per SQLite commit" if commits else ""


def run_bare(broker: Any, n: int, threads: int, channel: BenchChannel) -> tuple[float, float]:
    import dramatiq

    @dramatiq.actor(broker=broker, queue_name="bare", max_retries=0, time_limit=60_000, max_age=3_600_000,
                    min_backoff=1000, max_backoff=1000)
    def bare_send(i: int) -> None:
        channel.send(None, None, f"bare-{i}")

    worker = dramatiq.Worker(broker, worker_threads=threads, worker_timeout=100)
    worker.queue_prefetch = max(worker.queue_prefetch, 64)
    channel.expect(n)
    worker.start()
    try:
        started, cpu = time.perf_counter(), time.process_time()
        for i in range(n):
            bare_send.send(i)
        channel.sent.wait(600)
        return n / (time.perf_counter() - started), (time.process_time() - cpu) / n * 1000
    finally:
        worker.stop()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--brokers", default="embedded,redis")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()

    home = Path(tempfile.mkdtemp(prefix="hub-bench-delivery-"))
    os.environ["HUB_VAR"] = str(home / "var")
    os.environ.pop("HUB_DATABASE_URL", None)
    os.environ.pop("HUB_BROKER_URL", None)
    import logging

    logging.getLogger("dramatiq").setLevel(logging.WARNING)
    from hub.queue.broker import make_broker
    from hub.store.db import get_engine

    get_engine()
    sb = start_sandbox()
    channel = BenchChannel(f"{sb.url}/bench/post")
    redis_proc = None
    print(f"delivery throughput: {args.n} deliveries, {args.threads} worker threads, SQLite WAL ledger, "
          "one HTTP POST per delivery to the in-process sandbox")
    try:
        for kind in args.brokers.split(","):
            if kind == "redis":
                if shutil.which("redis-server") is None:
                    print("redis: redis-server not installed, skipped")
                    continue
                redis_proc, url = start_redis(home)
                make = lambda url=url: make_broker(url)  # type: ignore[misc]  # noqa: E731
            else:
                make = lambda: make_broker(None)  # noqa: E731
            ratios: list[float] = []
            cpu_ratios: list[float] = []
            for r in range(args.rounds):  # alternated, so a noisy neighbour hits both sides alike
                bare, bare_cpu = run_bare(make(), args.n, args.threads, channel)
                hub, hub_cpu = run_hub(make(), args.n, args.threads, channel, f"{kind[:2]}{r}")
                ratios.append(hub / bare)
                cpu_ratios.append(bare_cpu / hub_cpu)
                print(f"{kind:9} round {r + 1}: bare actor {bare:6.0f}/s ({bare_cpu:4.1f} ms CPU each)   "
                      f"hub claim→send→record {hub:6.0f}/s ({hub_cpu:4.1f} ms CPU each)   ratio {hub / bare:5.2f}")
            print(f"{kind:9} median ratio {statistics.median(ratios):5.2f} over {args.rounds} rounds "
                  f"(target ≥ 0.50); by CPU per delivery {statistics.median(cpu_ratios):5.2f}{group_commit_note()}")
    finally:
        sb.stop()
        if redis_proc is not None:
            redis_proc.terminate()
            redis_proc.wait(10)
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
