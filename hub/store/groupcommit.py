"""Group commit for SQLite: one writer thread runs many short write functions per transaction.

Why: SQLite has a single writer. With eight worker threads each opening its own short
transaction, every delivery paid two ``BEGIN IMMEDIATE … COMMIT`` round trips and two
hand-offs of the process's writer lock, and each hand-off is a thread wake-up plus a GIL
round trip. Under load the lock's holder waited for the GIL while the others waited for
the lock; the ledger, not the network, set the pace (bench/delivery.py). Here the
workers hand their write (a function of a ``Connection``) to one thread, which runs
whatever is waiting in one transaction and answers each caller after the commit. A
caller still returns only once its write is durable, so "claim committed before the
network call" holds exactly as before; what changes is that under load one commit
carries many claims and receipts.

Failure isolation: if one function raises, the whole batch is rolled back and each
function is run again alone, so only the faulty one sees its exception (the functions
are plain conditional writes, safe to run again after a rollback). A database error on
the batch's own BEGIN or COMMIT (``database is locked`` from another process) goes to
every caller of the batch, which retries as it would have alone.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import OperationalError

from hub.store.precompiled import Precompiled

T = TypeVar("T")

#: most writes in one transaction: bounds how long the writer lock is held (~0.2 ms per write)
MAX_BATCH = 64

#: ``Connection.info`` key, present while a batch runs: the inserts that ``defer`` held back
_DEFERRED = "hub.groupcommit.deferred"


def defer(conn: Connection, statement: Precompiled, params: Mapping[str, Any]) -> bool:
    """Hold an INSERT back until the batch's other writes are done, to run with its like in one executemany.

    Why: every ledger move appends an event row; a batch of a dozen moves ran a dozen single-row
    INSERTs, each paying SQLAlchemy's per-statement cost. Only what nothing in the batch reads
    back may be deferred (the event log is append-only and read by people, not by the engine).
    Returns False, and holds nothing, outside a group-committed batch: the caller runs it itself.
    """
    held: dict[Precompiled, list[Any]] | None = conn.info.get(_DEFERRED)
    if held is None:
        return False
    held.setdefault(statement, []).append(statement.args(params))
    return True


@contextmanager
def _deferring(conn: Connection) -> Iterator[None]:
    held: dict[Precompiled, list[Any]] = {}
    conn.info[_DEFERRED] = held
    try:
        yield
        for statement, rows in held.items():  # in the order first deferred; each one executemany
            conn.exec_driver_sql(statement.sql, rows)
    finally:
        conn.info.pop(_DEFERRED, None)



class _Pending:
    """One caller's write: the function, and a lock its caller waits on until the writer answers.

    A bare lock rather than a ``Future``: a Future's condition variable cost the writer
    thread more than the SQL it ran, per write, at a thousand writes a second.
    """

    __slots__ = ("error", "fn", "ready", "result")

    def __init__(self, fn: Callable[[Connection], Any]) -> None:
        self.fn = fn
        self.result: Any = None
        self.error: BaseException | None = None
        self.ready = threading.Lock()
        self.ready.acquire()

    def answer(self, result: Any = None, error: BaseException | None = None) -> None:
        self.result, self.error = result, error
        self.ready.release()

    def wait(self) -> Any:
        self.ready.acquire()
        if self.error is not None:
            raise self.error
        return self.result


#: the item that stops the thread
_STOP = _Pending(lambda conn: None)


class GroupCommitter:
    """Runs write functions on one thread, many per transaction; see the module docstring."""

    def __init__(self, engine: Engine, lock: AbstractContextManager[Any], *, max_batch: int = MAX_BATCH) -> None:
        self.engine = engine
        self.lock = lock
        self.max_batch = max_batch
        #: transactions committed and writes run (for tests and the benchmark: batches = writes / transactions)
        self.transactions = 0
        self.writes = 0
        self._queue: queue.SimpleQueue[_Pending] = queue.SimpleQueue()
        #: the thread's own connection, kept between batches (see ``_connection``)
        self._conn: Connection | None = None
        self._thread = threading.Thread(target=self._loop, name="hub-group-commit", daemon=True)
        self._thread.start()

    def run(self, fn: Callable[[Connection], T]) -> T:
        """Run ``fn`` in a write transaction; returns its result once that transaction committed."""
        if threading.current_thread() is self._thread:  # it would wait for itself (and for SQLite's lock)
            raise RuntimeError("a write function ran through the group committer tried to write through it again")
        pending = _Pending(fn)
        self._queue.put(pending)
        result: T = pending.wait()
        return result

    def close(self) -> None:
        """Stop the thread after what is queued (tests, which make a database per test, call this)."""
        self._queue.put(_STOP)
        self._thread.join(10)

    def _loop(self) -> None:
        while True:
            batch = [self._queue.get()]
            while len(batch) < self.max_batch and batch[-1] is not _STOP:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            stop = batch[-1] is _STOP
            if stop:
                batch.pop()
            if batch:
                self._commit(batch)
            if stop:
                if self._conn is not None:
                    self._conn.close()
                return

    def _connection(self) -> Connection:
        """This thread's connection, opened once: it is the only user of it, so nothing is shared.

        Why not a pool checkout per batch: checking a connection out and back in (with the
        pool's reset, a ROLLBACK) cost about as much CPU as a batch's own statements
        (bench/delivery.py, profiled). A connection the pool invalidated (a disconnect seen
        by SQLAlchemy) is replaced.
        """
        conn = self._conn
        if conn is None or conn.closed or conn.invalidated:
            if conn is not None:
                conn.close()
            conn = self._conn = self.engine.connect()
        return conn

    def _commit(self, batch: list[_Pending]) -> None:
        results: list[Any] = []
        try:
            with self.lock, self._connection().begin() as tx, _deferring(tx.connection):
                conn = tx.connection
                for pending in batch:
                    results.append(pending.fn(conn))
        except BaseException as exc:  # noqa: BLE001 - every caller must hear of it; the thread must live on
            if len(batch) == 1 or isinstance(exc, OperationalError):
                for pending in batch:
                    pending.answer(error=exc)
                return
            for pending in batch:  # one function failed: run each alone so only that one fails
                try:
                    pending.answer(self._alone(pending.fn))
                except BaseException as one:  # noqa: BLE001
                    pending.answer(error=one)
            return
        self.transactions += 1
        self.writes += len(batch)
        for pending, result in zip(batch, results, strict=True):
            pending.answer(result)

    def _alone(self, fn: Callable[[Connection], T]) -> T:
        with self.lock, self._connection().begin() as tx, _deferring(tx.connection):
            result = fn(tx.connection)
        self.transactions += 1
        self.writes += 1
        return result


_committers: dict[tuple[int, int], GroupCommitter] = {}
_committers_lock = threading.Lock()


def committer_for(engine: Engine, lock: AbstractContextManager[Any]) -> GroupCommitter:
    """The committer of ``engine`` in this process (a forked worker process gets its own thread)."""
    key = (os.getpid(), id(engine))
    with _committers_lock:
        found = _committers.get(key)
        if found is None:
            found = _committers[key] = GroupCommitter(engine, lock)
        return found


def close_all() -> None:
    """Stop every committer of this process (tests switch databases between tests)."""
    with _committers_lock:
        found = list(_committers.values())
        _committers.clear()
    for committer in found:
        committer.close()
