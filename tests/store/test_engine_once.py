"""The first use of a database from many threads (or processes) at once migrates it once, without errors."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import inspect

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
