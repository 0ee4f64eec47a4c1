"""The first use of a database from many threads (or processes) at once migrates it once, without errors."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import inspect

from hub.settings import PROJECT_ROOT
from hub.store import db


def _first_use_from(threads: int) -> list[BaseException]:
    errors: list[BaseException] = []
    barrier = threading.Barrier(threads)

    def use() -> None:
        barrier.wait()
        try:
            with db.session_scope() as s:
                s.connection()
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    workers = [threading.Thread(target=use, daemon=True) for _ in range(threads)]
    for t in workers:
        t.start()
    deadline = time.monotonic() + 60
    for t in workers:
        t.join(max(0.0, deadline - time.monotonic()))
    stuck = [t for t in workers if t.is_alive()]  # without the turn-taking, concurrent DDL can deadlock
    return errors + [TimeoutError(f"{len(stuck)} threads still migrating after 60 s")] * bool(stuck)


def test_eight_threads_opening_a_new_sqlite_database_together_all_succeed() -> None:
    """A worker's threads all take their first message at once (Alembic's globals are not thread-safe)."""
    assert _first_use_from(8) == []
    assert "deliveries" in inspect(db.get_engine()).get_table_names()


@pytest.mark.postgres
def test_eight_threads_opening_a_new_postgresql_database_together_all_succeed(pg_database: str) -> None:
    db._engine_for.cache_clear()
    assert _first_use_from(8) == []
    assert "deliveries" in inspect(db.get_engine()).get_table_names()


FIRST_USE = r'''
import sys, threading
from sqlalchemy import text
from hub.store.db import get_engine
errors = []
def use():
    try:
        for _ in range(5):
            with get_engine(sys.argv[1]).begin() as c:
                c.execute(text("SELECT count(*) FROM deliveries"))
    except Exception as exc:
        errors.append(repr(exc))
threads = [threading.Thread(target=use) for _ in range(3)]
for t in threads: t.start()
for t in threads: t.join()
if errors:
    sys.exit("\n".join(errors))
'''


def test_two_processes_starting_on_a_new_sqlite_file_never_see_database_is_locked(tmp_path: Path) -> None:
    """Two `hub worker`s started together on a fresh file: one thread migrates while the other process
    connects, and the switch to WAL used to fail at once with ``database is locked`` (SQLite refuses to
    wait there), seen as a lost render in the five-concurrent-renders test. Without the fix this failed
    in about 1 round of 4."""
    script = tmp_path / "first_use.py"
    script.write_text(FIRST_USE)
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    for round_ in range(12):
        url = f"sqlite:///{tmp_path / f'fresh-{round_}.db'}"
        procs = [subprocess.Popen([sys.executable, str(script), url], env=env, text=True,
                                  stderr=subprocess.PIPE) for _ in range(2)]
        for p in procs:
            _, err = p.communicate(timeout=120)
            assert p.returncode == 0, f"round {round_}: {err[-1500:]}"
