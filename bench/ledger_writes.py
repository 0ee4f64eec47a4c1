"""The ledger's write pair (conditional UPDATE + event INSERT) three ways, timed in one process.

    .venv/bin/python bench/ledger_writes.py [--moves 3000] [--rounds 5] [--per-commit 4]

Why: ``hub.queue.ledger.move`` runs twice per delivery on the hot path. It used to run on
``hub.store.prepared`` (SQL compiled once, values converted with SQLAlchemy's private
``_bind_processors``, executed on the driver's cursor), then as plain Core, and now through
``hub.store.precompiled`` (docs/decisions/2026-12-03-precompiled-ledger-writes.md).
This prints microseconds per move for:

* ``core``: plain ``connection.execute(statement, params)`` with SQLAlchemy's compiled cache;
* ``driver_sql``: what ``ledger.move`` does now (``hub.store.precompiled``: SQL compiled once,
  values converted by the public ``TypeEngine.bind_processor``, run with
  ``Connection.exec_driver_sql``; events and error wrapping kept, no cache-key walk);
* ``raw_cursor``: the old ``prepared.py`` path (same compiled SQL and processors, the
  driver's cursor, no SQLAlchemy execution at all);

alternated for ``--rounds`` rounds on one SQLite WAL file, ``--per-commit`` moves per
transaction (the group committer carries about 3.6), with the median of each and its ratio
to ``core``, by wall clock and by this process's CPU time (steadier on a shared machine).
Numbers only, not a test.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--moves", type=int, default=3000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--per-commit", type=int, default=4)
    args = ap.parse_args()

    home = Path(tempfile.mkdtemp(prefix="hub-bench-ledger-"))
    os.environ["HUB_VAR"] = str(home / "var")
    os.environ.pop("HUB_DATABASE_URL", None)
    from hub.queue import ledger
    from hub.store.db import connection_scope, get_engine, session_scope
    from hub.store.models import DeliveryRow

    engine = get_engine()
    dialect = engine.dialect
    vals_keys = ("attempts", "lease_expires_at", "needs_attention", "state", "updated_at")
    upd = ledger._update_for(vals_keys, True)
    ins = ledger._EVENT_INSERT
    event_keys = ("delivery_id", "at", "actor", "from_state", "to_state", "error_class", "message")
    from hub.store.precompiled import Precompiled

    pre_upd, pre_ins = Precompiled(upd, dialect), Precompiled(ins, dialect, event_keys)

    def make_rows(n: int, tag: str) -> list[int]:
        now = datetime.now(UTC)
        with session_scope() as s:
            rows = [DeliveryRow(record_id=f"b-{tag}", version=f"{i:064d}", channel="bench", target="t",
                                idempotency_key=ledger.idempotency_key(f"b-{tag}", str(i), "bench", "t"),
                                state="queued", attempts=0, redeliveries=0, needs_attention=False,
                                created_at=now, updated_at=now) for i in range(n)]
            s.add_all(rows)
            s.flush()
            return [r.id for r in rows]

    def params(rid: int, now: datetime) -> tuple[dict[str, Any], dict[str, Any]]:
        u = {"v_attempts": 1, "v_lease_expires_at": now + timedelta(minutes=5), "v_needs_attention": False,
             "v_state": "sending", "v_updated_at": now, "w_id": rid, "w_state": "queued", "w_attempts": 0}
        e = {"delivery_id": rid, "at": now, "actor": "worker:bench", "from_state": "queued",
             "to_state": "sending", "error_class": None, "message": None}
        return u, e

    def core(conn: Any, rid: int, now: datetime) -> None:
        u, e = params(rid, now)
        assert conn.execute(upd, u).rowcount == 1
        conn.execute(ins, e)

    def driver_sql(conn: Any, rid: int, now: datetime) -> None:
        u, e = params(rid, now)
        assert conn.exec_driver_sql(pre_upd.sql, pre_upd.args(u)).rowcount == 1
        conn.exec_driver_sql(pre_ins.sql, pre_ins.args(e))

    def raw_cursor(conn: Any, rid: int, now: datetime) -> None:
        u, e = params(rid, now)
        cur = conn.connection.driver_connection.cursor()
        try:
            cur.execute(pre_upd.sql, pre_upd.args(u))
            assert cur.rowcount == 1
        finally:
            cur.close()
        cur = conn.connection.driver_connection.cursor()
        try:
            cur.execute(pre_ins.sql, pre_ins.args(e))
        finally:
            cur.close()

    variants: dict[str, Callable[[Any, int, datetime], None]] = {
        "core": core, "driver_sql": driver_sql, "raw_cursor": raw_cursor}
    timings: dict[str, list[float]] = {k: [] for k in variants}
    cpus: dict[str, list[float]] = {k: [] for k in variants}
    print(f"ledger write pair (UPDATE … WHERE id, state, attempts + event INSERT), SQLite WAL, "
          f"{args.moves} moves × {args.rounds} rounds, {args.per_commit} moves per commit")
    try:
        for r in range(args.rounds):
            for name, fn in variants.items():
                ids = make_rows(args.moves, f"{name}{r}")
                now = datetime.now(UTC)
                started, cpu = time.perf_counter(), time.process_time()
                for i in range(0, len(ids), args.per_commit):
                    with connection_scope() as conn:
                        for rid in ids[i:i + args.per_commit]:
                            fn(conn, rid, now)
                timings[name].append((time.perf_counter() - started) / args.moves * 1e6)
                cpus[name].append((time.process_time() - cpu) / args.moves * 1e6)
            print(f"round {r + 1}: " + "   ".join(f"{k} {timings[k][-1]:6.1f} µs ({cpus[k][-1]:5.1f} CPU)"
                                                for k in variants))
        base, base_cpu = statistics.median(timings["core"]), statistics.median(cpus["core"])
        for name in variants:
            m, c = statistics.median(timings[name]), statistics.median(cpus[name])
            print(f"{name:10} median {m:6.1f} µs per move ({c:5.1f} µs CPU)   ratio to core "
                  f"{m / base:4.2f} (CPU {c / base_cpu:4.2f})")
    finally:
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
