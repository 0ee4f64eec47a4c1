"""Seeded chaos soak of the delivery engine: faults on every channel and workers killed as it runs.

    .venv/bin/python bench/soak.py [--records 500] [--seed 7] [--workers 2] [--kill-every 3] [--short]

500 records × 6 channels of deliveries go through a loopback fake platform (the sandbox
core with one route per channel and a store keyed by idempotency key, reliability.md
plan E.6) with 10% 5xx, 5% accept-then-drop, 5% 429 (Retry-After: 1), 3% late answers
(past the client's read timeout) and 3% garbage bodies per request; the platform is
restarted once during the chaos.
Worker processes (each an embedded hub worker: in-process broker, maintenance loop)
share the SQLite ledger; one is SIGKILLed every ``--kill-every`` seconds and replaced.
After the chaos the faults stop and the survivors drain. It prints:

* duplicates: publications beyond the first per key on non-idempotent channels (must be 0);
* lost: deliveries the ledger calls delivered that the platform does not have, or rows gone (0);
* stuck: rows still queued / sending / due retry_wait after the drain (0);
* ledger≠platform: from the platform's inbox, deliveries confirmed that are not there, or
  there but not confirmed (an unknown row waiting for a person excepted) (0);
* deliveries/s, and how many ended unknown-for-a-person (channels that cannot look up).

Exit status 1 when duplicates, lost or stuck is not 0. ``--short`` (60 records, fewer
kills) runs in CI as a test (``tests/crash/test_soak_short.py``).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

#: channel → (idempotent_upsert, can_lookup, confirmed at once)
SOAK_CHANNELS: dict[str, tuple[bool, bool, bool]] = {
    "web": (True, True, True), "wechat": (False, True, False), "weibo": (False, True, True),
    "sms": (False, True, False), "newspaper": (False, False, True), "tv": (True, True, False),
}


class SoakChannel:
    """A real HTTP client of the fake platform, mapping answers to the hub's error classes like an adapter."""

    rendition_kind: ClassVar[str] = "sms"

    def __init__(self, name: str, base: str) -> None:
        import httpx

        self.name = name
        self.idempotent_upsert, self.can_lookup, self.final = SOAK_CHANNELS[name]
        self.base = f"{base}/soak/{name}"
        self.httpx = httpx
        self.local = threading.local()

    def client(self) -> Any:
        c = getattr(self.local, "c", None)
        if c is None:
            c = self.local.c = self.httpx.Client(timeout=self.httpx.Timeout(connect=2.0, read=3.0, write=3.0,
                                                                            pool=2.0))
        return c

    def _call(self, method: str, path: str, **kw: Any) -> Any:
        from hub.errors import Ambiguous, RateLimited, Retryable

        try:
            r = self.client().request(method, self.base + path, **kw)
        except (self.httpx.ConnectError, self.httpx.ConnectTimeout, self.httpx.PoolTimeout) as exc:
            raise Retryable(f"{self.name}: cannot connect ({type(exc).__name__})") from None
        except self.httpx.HTTPError as exc:
            self.local.c = None
            raise Ambiguous(f"{self.name}: {type(exc).__name__} after sending") from None
        if r.status_code == 429:
            raise RateLimited(f"{self.name}: HTTP 429", float(r.headers.get("Retry-After", "1")))
        if r.status_code >= 500:
            raise Retryable(f"{self.name}: HTTP {r.status_code}")
        return r

    def send(self, rendition: Any, target: Any, key: str) -> Any:
        from hub.deliverables import Receipt
        from hub.errors import Ambiguous

        r = self._call("POST", "/post", json={"key": key})
        try:
            ref = r.json()["id"]
        except (ValueError, KeyError, TypeError):  # a garbage answer after the platform applied it (F12)
            raise Ambiguous(f"{self.name}: HTTP {r.status_code} with an unreadable answer") from None
        return Receipt(provider_ref=ref, accepted_at=datetime.now(UTC), confirmed=self.final)

    def lookup(self, target: Any, key: str) -> Any:
        from hub.deliverables import Receipt
        from hub.errors import Retryable

        try:
            r = self._call("GET", "/lookup", params={"key": key})
            if r.status_code == 404:
                return None
            ref = r.json()["id"]
        except Exception as exc:  # noqa: BLE001 - any failed read: the lookup could not tell, ask again later
            from hub.errors import ChannelError

            if isinstance(exc, ChannelError):
                raise Retryable(exc.message) from None
            raise Retryable(f"{self.name}: unreadable lookup answer") from None
        return Receipt(provider_ref=ref, accepted_at=datetime.now(UTC), confirmed=self.final)

    def status(self, receipt: Any, target: Any) -> Any:
        from hub.deliverables import DeliveryStatus

        self._call("GET", "/lookup", params={"key": "status"})
        return DeliveryStatus.DELIVERED


def start_platform(seed: int) -> Any:
    """The loopback fake: POST /soak/<ch>/post records a publication; GET /soak/<ch>/lookup?key= finds it."""
    from hub.sandbox.core import Sandbox, SandboxResponse

    sb = Sandbox(0, seed=seed)
    for name in SOAK_CHANNELS:
        def post(req: Any, s: Any, ch: str = name) -> Any:
            if s.roll(s.fault(ch).rate_limit_rate):
                return SandboxResponse.json({"error": "slow down"}, 429, headers={"Retry-After": "1"})
            key = req.json()["key"]
            msg = s.record(ch, "post", "soak", {}, ref=key)
            with s.lock:
                s.vendor(ch).setdefault(key, str(msg["id"]))
            return SandboxResponse.json({"id": str(msg["id"])})

        def lookup(req: Any, s: Any, ch: str = name) -> Any:
            key = req.arg("key") or ""
            found = s.vendor(ch).get(key)
            if key == "status":
                return SandboxResponse.json({"ok": True})
            return SandboxResponse.json({"id": found}) if found else SandboxResponse.json({"error": "none"}, 404)

        sb.route("POST", f"/soak/{name}/post", name, post)
        sb.route("GET", f"/soak/{name}/lookup", name, lookup)
    return sb.start()


def faults(sb: Any, on: bool) -> None:
    """The chaos: 10% 5xx, 5% drop after applying, 5% 429, 3% late past the client's read timeout, 3% garbage."""
    for name in SOAK_CHANNELS:
        if on:
            sb.set_faults(name, error_5xx_rate=0.10, drop_rate=0.05, rate_limit_rate=0.05, late_rate=0.03,
                          late_seconds=3.5, garbage_rate=0.03)
        else:
            sb.set_faults(name, error_5xx_rate=0.0, drop_rate=0.0, rate_limit_rate=0.0, late_rate=0.0,
                          garbage_rate=0.0)


def make_rows(records: int) -> list[int]:
    from hub.queue import ledger
    from hub.store.db import session_scope
    from hub.store.models import DeliveryRow

    now = datetime.now(UTC)
    with session_scope() as s:
        rows = []
        for i in range(records):
            version = f"{i:064x}"
            for ch in SOAK_CHANNELS:
                rows.append(DeliveryRow(record_id=f"soak-{i}", version=version, channel=ch, target=f"{ch}-main",
                                        idempotency_key=ledger.idempotency_key(f"soak-{i}", version, ch, f"{ch}-main"),
                                        state="queued", attempts=0, redeliveries=0, next_attempt_at=now,
                                        needs_attention=False, created_at=now, updated_at=now))
        s.add_all(rows)
        s.flush()
        return [r.id for r in rows]


# --- the worker process ---------------------------------------------------------------------------


def worker_main(base: str, queues: str | None = None) -> None:
    """A hub worker whose channels are the fake platform's; runs until killed.

    ``queues``: with a real broker one process consumes one queue group (``hub.queue.queues``),
    as ``hub worker`` runs them; the ``tv`` deliveries go on the ``video`` queue.
    """
    from hub.deliverables import Artifact, Rendition, Target
    from hub.queue import actors
    from hub.queue.context import Deps
    from hub.queue.runtime import start_embedded_worker

    channels = {n: SoakChannel(n, base) for n in SOAK_CHANNELS}
    rendition = Rendition(kind="sms", record_id="soak", version="0" * 64,
                          main=Artifact(Path("/dev/null"), "0" * 64, 0, "text/plain"))

    def deps() -> Deps:
        return Deps(channels=lambda n: channels[n], renditions=lambda *_a: rendition,  # type: ignore[arg-type,return-value]
                    targets=lambda n: Target(channel=n.split("-")[0], name=n, account=n))

    actors.deps_factory = deps
    from hub.queue.queues import parse_queues

    handle = start_embedded_worker(threads=4, deps=deps(), queues=parse_queues(queues) if queues else None)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    stop.wait()
    handle.stop()


QUEUE_ENV = {"HUB_QUEUE_LEASE": "4", "HUB_QUEUE_MIN_BACKOFF": "0.3", "HUB_QUEUE_MAX_BACKOFF": "2",
             "HUB_QUEUE_MAX_ATTEMPTS": "8", "HUB_QUEUE_CONFIRM_FIRST": "0.3", "HUB_QUEUE_CONFIRM_MAX": "1",
             "HUB_QUEUE_TICK": "0.5", "HUB_QUEUE_HINT_GRACE": "3", "HUB_QUEUE_MAX_REDELIVERIES": "6"}


class Redis:
    """A redis-server for ``--broker redis`` (no persistence: a restart loses every queued message)."""

    def __init__(self, home: Path) -> None:
        import socket

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = int(sock.getsockname()[1])
        self.home = home
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        import socket

        self.proc = subprocess.Popen(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir",
                                      str(self.home), "--save", "", "--appendonly", "no"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)


#: with a real broker, worker ``i`` consumes group ``i % 2`` (the quick queues, or the renders), as ``hub worker`` does
GROUPS = ("deliveries,confirm", "video")


def spawn(base: str, log: Any, index: int = 0) -> subprocess.Popen[bytes]:
    extra = ["--worker-queues", GROUPS[index % len(GROUPS)]] if os.environ.get("HUB_BROKER_URL") else []
    return subprocess.Popen([sys.executable, __file__, "--worker", base, *extra], env={**os.environ, **QUEUE_ENV},
                            stdout=log, stderr=subprocess.STDOUT)


def run(records: int, seed: int, workers: int, kill_every: float, chaos_s: float, drain_s: float,
        broker: str = "embedded") -> dict[str, Any]:
    """The soak; returns the figures (also printed by ``main``).

    ``broker="redis"``: the workers consume from a redis-server, which is SIGKILLed and
    restarted empty once during the chaos (the ledger's ``requeue_due`` finds the work again).
    """
    if broker == "redis" and workers < len(GROUPS):
        raise SystemExit(f"--broker redis needs --workers {len(GROUPS)} or more (one per queue group: {GROUPS})")
    home = Path(tempfile.mkdtemp(prefix="hub-soak-"))
    os.environ["HUB_VAR"] = str(home / "var")
    os.environ.pop("HUB_DATABASE_URL", None)
    os.environ.pop("HUB_BROKER_URL", None)
    redis = Redis(home) if broker == "redis" else None
    if redis is not None:
        redis.start()
        os.environ["HUB_BROKER_URL"] = redis.url
    os.environ.update(QUEUE_ENV)
    from sqlalchemy import func, select

    from hub.queue import ledger
    from hub.queue.states import State
    from hub.store.db import get_engine, session_scope
    from hub.store.models import DeliveryRow

    get_engine()
    rng = random.Random(seed)
    sb = start_platform(seed)
    faults(sb, True)
    ids = make_rows(records)
    log = (home / "workers.log").open("ab")
    procs = [spawn(sb.url, log, i) for i in range(workers)]
    kills = 0
    started = time.monotonic()
    try:
        final = {State.CONFIRMED, State.FAILED, State.EXPIRED, State.CANCELLED}

        def active() -> int:
            """Rows still on their way (not final, not waiting for a person)."""
            with session_scope() as s:
                return int(s.scalar(select(func.count()).select_from(DeliveryRow).where(
                    DeliveryRow.state.not_in(list(final)), DeliveryRow.needs_attention.is_(False))) or 0)

        next_kill = time.monotonic() + kill_every
        restarted = False
        broker_restarts = 0
        while time.monotonic() - started < chaos_s:
            time.sleep(0.2)
            if redis is not None and not broker_restarts and time.monotonic() - started > min(chaos_s / 2, 5.0):
                redis.kill()  # the broker dies without saving: every queued hint is gone
                time.sleep(1.0)
                redis.start()
                broker_restarts = 1
            if not restarted and time.monotonic() - started > min(chaos_s / 3, 3.0):
                sb.stop()  # the platform restarts (its store survives, as a real platform's does)
                time.sleep(1.0)
                sb.start()
                restarted = True
            if time.monotonic() >= next_kill:
                victim = rng.randrange(len(procs))
                procs[victim].send_signal(signal.SIGKILL)
                procs[victim].wait(10)
                procs[victim] = spawn(sb.url, log, victim)
                kills += 1
                next_kill = time.monotonic() + kill_every
            if active() == 0:
                break
        chaos_elapsed = time.monotonic() - started
        faults(sb, False)
        deadline = time.monotonic() + drain_s
        while time.monotonic() < deadline and active():
            time.sleep(0.5)
        elapsed = time.monotonic() - started
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()
        log.close()
        sb.stop()
        if redis is not None:
            redis.kill()
            os.environ.pop("HUB_BROKER_URL", None)

    with session_scope() as s:
        rows = {r.idempotency_key: (r.channel, r.state, r.needs_attention, r.last_error_msg)
                for r in s.query(DeliveryRow).all()}
        stuck_rows = []
        for r in s.query(DeliveryRow).filter(DeliveryRow.state.in_([State.QUEUED, State.SENDING, State.SUBMITTED])):
            evs = [(e.from_state, e.to_state, e.actor, e.at.isoformat()[11:23]) for e in ledger.events(s, r.id)]
            stuck_rows.append({"id": r.id, "channel": r.channel, "state": r.state, "attempts": r.attempts,
                               "next": str(r.next_attempt_at), "hinted": str(r.hinted_at), "events": evs[-4:]})
    posted = Counter((m["channel"], m["ref"]) for m in sb.messages())
    duplicates = sum(n - 1 for (ch, _k), n in posted.items() if n > 1 and not SOAK_CHANNELS[ch][0])
    lost = len(ids) - len(rows)
    lost += sum(1 for key, (ch, st, _a, _m) in rows.items() if st == State.CONFIRMED and (ch, key) not in posted)
    stuck = sum(1 for (_ch, st, att, _m) in rows.values()
                if st in (State.QUEUED, State.SENDING, State.SUBMITTED) or (st == State.RETRY_WAIT and not att))
    # the ledger equals the platform, judged from the platform's inbox: confirmed ⇔ present, for every
    # delivery of a channel that publishes (an unknown row waiting for a person may be either)
    mismatched = sum(1 for key, (ch, st, att, _m) in rows.items()
                     if not (st == State.UNKNOWN and att) and (st == State.CONFIRMED) != ((ch, key) in posted))
    states = Counter(st for (_c, st, _a, _m) in rows.values())
    attention = sum(1 for (_c, st, att, _m) in rows.values() if att)
    unknown_reasonless = sum(1 for (_c, st, _a, m) in rows.values() if st == State.UNKNOWN and not m)
    shutil.rmtree(home, ignore_errors=True)
    return {"records": records, "deliveries": len(ids), "kills": kills, "duplicates": duplicates, "lost": lost,
            "stuck": stuck, "unknown_without_reason": unknown_reasonless, "needs_person": attention,
            "ledger_vs_platform": mismatched, "sandbox_restarts": 1 if restarted else 0,
            "broker": broker, "broker_restarts": broker_restarts,
            "states": dict(states), "chaos_s": round(chaos_elapsed, 1), "elapsed_s": round(elapsed, 1),
            "deliveries_per_s": round(states.get(State.CONFIRMED, 0) / elapsed, 1),
            "stuck_rows": stuck_rows[:5]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=500)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--kill-every", type=float, default=3.0)
    ap.add_argument("--chaos-seconds", type=float, default=120.0)
    ap.add_argument("--drain-seconds", type=float, default=90.0)
    ap.add_argument("--short", action="store_true", help="60 records, 40 s of chaos (the CI version)")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--broker", choices=("embedded", "redis"), default="embedded",
                    help="embedded (in-process) or a redis-server killed and restarted during the chaos")
    ap.add_argument("--worker", metavar="BASE_URL", help=argparse.SUPPRESS)
    ap.add_argument("--worker-queues", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker_main(args.worker, args.worker_queues)
        return
    if args.short:
        args.records, args.chaos_seconds, args.drain_seconds, args.kill_every = 60, 40.0, 60.0, 3.0
    import logging

    logging.basicConfig(level=logging.ERROR)
    result = run(args.records, args.seed, args.workers, args.kill_every, args.chaos_seconds, args.drain_seconds,
                 args.broker)
    if args.json:
        print(json.dumps(result))
    else:
        print(f"soak: {result['records']} records × {len(SOAK_CHANNELS)} channels = {result['deliveries']} deliveries, "
              f"seed {args.seed}, 10% 5xx, 5% drop, 5% 429, 3% late, 3% garbage, {result['kills']} worker kills")
        print(f"  duplicates {result['duplicates']}   lost {result['lost']}   stuck {result['stuck']}   "
              f"ledger≠platform {result['ledger_vs_platform']}   (all must be 0); "
              f"sandbox restarts {result['sandbox_restarts']}, broker {result['broker']} "
              f"(restarts {result['broker_restarts']})")
        print(f"  states {result['states']}; waiting for a person: {result['needs_person']}")
        for row in result["stuck_rows"]:
            print(f"  stuck: {row}")
        print(f"  {result['deliveries_per_s']} confirmed deliveries/s over {result['elapsed_s']} s "
              f"(chaos {result['chaos_s']} s)")
    bad = (result["duplicates"] or result["lost"] or result["stuck"] or result["unknown_without_reason"]
           or result["ledger_vs_platform"])
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
