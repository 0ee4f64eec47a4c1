"""The group committer: many writes per SQLite transaction, each caller answered after the commit."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import Connection, Engine, Insert, text
from sqlalchemy.exc import IntegrityError, OperationalError

from hub.store.db import make_engine
from hub.store.groupcommit import GroupCommitter, defer
from hub.store.precompiled import precompiled


@pytest.fixture
def db(tmp_path: Path) -> Iterator[tuple[Engine, Path]]:
    path = tmp_path / "gc.db"
    engine = make_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)"))
    yield engine, path
    engine.dispose()


@pytest.fixture
def committer(db: tuple[Engine, Path]) -> Iterator[tuple[GroupCommitter, threading.RLock, Path]]:
    lock = threading.RLock()
    gc = GroupCommitter(db[0], lock)
    yield gc, lock, db[1]
    gc.close()


def insert(v: str) -> Callable[[Connection], object]:
    def fn(conn: Connection) -> object:
        return conn.execute(text("INSERT INTO t (v) VALUES (:v) RETURNING id"), {"v": v}).scalar_one()
    return fn


def committed_values(path: Path) -> list[str]:
    """What another connection sees: only committed rows."""
    with sqlite3.connect(path) as other:
        return [r[0] for r in other.execute("SELECT v FROM t ORDER BY id")]


def test_a_write_is_committed_when_run_returns(committer: tuple[GroupCommitter, threading.RLock, Path]) -> None:
    gc, _, path = committer
    row_id = gc.run(insert("a"))
    assert row_id == 1
    assert committed_values(path) == ["a"]


def test_waiting_writes_share_one_transaction(committer: tuple[GroupCommitter, threading.RLock, Path]) -> None:
    gc, lock, path = committer
    results: dict[int, object] = {}

    def worker(i: int) -> None:
        results[i] = gc.run(insert(f"w{i}"))

    gc.run(insert("first"))  # the thread is idle and waiting
    before = gc.transactions
    with lock:  # the writer cannot commit while a person (here: the test) holds the process's write lock
        threads = [threading.Thread(target=worker, args=(i,)) for i in range(10)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 10
        while gc._queue.qsize() < 9 and time.monotonic() < deadline:  # one may already be taken as a batch
            time.sleep(0.01)
    for t in threads:
        t.join(10)
    assert len(results) == 10 and len(set(results.values())) == 10
    assert gc.transactions - before <= 2, "ten waiting writes should ride in one or two commits"
    assert sorted(committed_values(path)) == sorted(["first"] + [f"w{i}" for i in range(10)])


def in_one_batch(gc: GroupCommitter, lock: threading.RLock,
                 writes: dict[str, Callable[[Connection], object]]) -> dict[str, object]:
    """Run ``writes`` from one thread each so that they wait together (the test holds the process's
    write lock meanwhile) and ride in one batch; returns each one's result or exception."""
    outcomes: dict[str, object] = {}

    def run(name: str, fn: Callable[[Connection], object]) -> None:
        try:
            outcomes[name] = gc.run(fn)
        except Exception as exc:  # noqa: BLE001 - collected for the assertion
            outcomes[name] = exc

    with lock:
        threads = [threading.Thread(target=run, args=item) for item in writes.items()]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 10
        while gc._queue.qsize() < len(writes) - 1 and time.monotonic() < deadline:  # one may be taken already
            time.sleep(0.01)
    for t in threads:
        t.join(10)
    return outcomes


def test_a_failing_write_fails_alone(committer: tuple[GroupCommitter, threading.RLock, Path]) -> None:
    gc, lock, path = committer

    def bad(conn: Connection) -> object:
        conn.execute(text("INSERT INTO t (v) VALUES ('half-done')"))
        raise ValueError("a bug in one write")

    outcomes = in_one_batch(gc, lock, {"a": insert("a"), "bad": bad, "b": insert("b")})
    assert isinstance(outcomes["bad"], ValueError)
    assert sorted(committed_values(path)) == ["a", "b"], "the others commit; the failed write leaves nothing"


def test_a_database_error_reaches_every_caller_and_commits_nothing(
        committer: tuple[GroupCommitter, threading.RLock, Path]) -> None:
    gc, _, path = committer

    def locked(conn: Connection) -> object:
        conn.execute(text("INSERT INTO t (v) VALUES ('x')"))
        raise OperationalError("INSERT", {}, Exception("database is locked"))

    with pytest.raises(OperationalError):
        gc.run(locked)
    assert committed_values(path) == []
    assert gc.run(insert("after")) == 1, "the thread lives on"


def test_a_write_that_writes_through_the_committer_again_is_refused(
        committer: tuple[GroupCommitter, threading.RLock, Path]) -> None:
    """It would wait for its own thread forever; a clear error instead, and the thread lives on."""
    gc, _, path = committer

    def outer(conn: Connection) -> object:
        return gc.run(insert("inner"))

    with pytest.raises(RuntimeError, match="again"):
        gc.run(outer)
    assert gc.run(insert("after")) == 1
    assert committed_values(path) == ["after"]


def test_close_finishes_what_is_queued(db: tuple[Engine, Path]) -> None:
    gc = GroupCommitter(db[0], threading.RLock())
    assert gc.run(insert("last")) == 1
    gc.close()
    assert not gc._thread.is_alive()
    assert committed_values(db[1]) == ["last"]


def _deferred_insert(v: str | None) -> Callable[[Connection], object]:
    """A write that defers its INSERT (as a ledger move defers its event); ``None`` violates NOT NULL."""
    statement = insert_statement()

    def fn(conn: Connection) -> object:
        pre = precompiled(statement, conn.dialect, ("v",))
        return defer(conn, pre, {"v": v})
    return fn


def test_deferred_inserts_run_as_one_executemany_before_the_commit_and_a_bad_one_fails_alone(
        committer: tuple[GroupCommitter, threading.RLock, Path]) -> None:
    gc, lock, path = committer
    outcomes = in_one_batch(gc, lock, {n: _deferred_insert(v) for n, v in (("a", "a"), ("bad", None), ("b", "b"))})
    assert outcomes["a"] is True and outcomes["b"] is True, "inside a batch the insert was held back"
    assert isinstance(outcomes["bad"], IntegrityError), "the failed executemany was retried alone: only its writer hears"
    assert sorted(committed_values(path)) == ["a", "b"]
    with make_engine(f"sqlite:///{path}").connect() as conn:  # outside a batch nothing is held back
        assert defer(conn, precompiled(insert_statement(), conn.dialect, ("v",)), {"v": "c"}) is False


def insert_statement() -> Insert:
    return sa.insert(sa.table("t", sa.column("v")))
