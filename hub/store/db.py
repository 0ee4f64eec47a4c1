"""Engine and session set-up: SQLite in WAL mode with a busy timeout, or PostgreSQL.

Transactions are short by design (reliability F14): callers open a session,
do one conditional write or a few reads, and commit before any network call.
"""

from __future__ import annotations

import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from hub.settings import PROJECT_ROOT, get_settings

#: execution option of ``read_scope``'s connections (a deferred BEGIN on SQLite)
READ_ONLY = "hub_read_only"
#: How long a SQLite writer waits for the lock before ``database is locked``.
SQLITE_BUSY_TIMEOUT_MS = 5000

T = TypeVar("T")


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # The driver's own transaction handling is turned off so that BEGIN IMMEDIATE below
    # takes the write lock at the start of each transaction, not at the first write.
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    _ensure_wal(cur)
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def _ensure_wal(cur: Any) -> None:
    """Put the file in WAL mode once; the mode is stored in the file, so later connections only read it.

    Switching modes needs the exclusive lock, and SQLite answers ``database is locked`` at once,
    without calling the busy handler, when the switch would wait on another connection's open
    transaction (its deadlock rule). Two workers starting on a fresh file hit exactly that (one
    thread migrating while another connected), so the switch is only attempted when the mode is
    not WAL yet, and retried for as long as the busy timeout allows.
    """
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            if str(cur.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
                cur.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def _sqlite_begin(conn: Any) -> None:
    # A read-only scope (``read_scope``) opens no transaction: the driver is in autocommit, so
    # each read is its own snapshot and, in WAL mode, takes no lock at all (it runs beside
    # the writer instead of queueing behind it). Writers take the lock at BEGIN.
    if not conn.get_execution_options().get(READ_ONLY):
        conn.exec_driver_sql("BEGIN IMMEDIATE")


#: PostgreSQL's DETAIL lines that quote row values ("Failing row contains (…)", "Key (col)=(…)")
_VALUE_DETAIL = re.compile(r"(?m)^DETAIL:.*$|\n?\s*Failing row contains \(.*?\)\.?|Key \(.*?\)=\(.*?\)")


def _scrub_error(context: Any) -> None:
    """Drop the values a database error quotes back (PostgreSQL's DETAIL), and redact what is left.

    ``hide_parameters`` keeps SQLAlchemy from printing the parameters; the server's own
    message still quotes the failing row (a record's text, a citizen's number). The
    DBAPI exception's text is rewritten in place, so every ``str()`` of it, and of the
    SQLAlchemy error wrapping it, is clean wherever it is logged (issue 18).
    """
    from hub.redact import redact

    orig = getattr(context, "original_exception", None)
    args = getattr(orig, "args", None)
    if orig is None or not args or not isinstance(args[0], str):
        return
    try:
        orig.args = (redact(_VALUE_DETAIL.sub("", args[0])), *args[1:])
        wrapped = getattr(context, "sqlalchemy_exception", None)  # its message was built from the original
        if wrapped is not None and wrapped.args and isinstance(wrapped.args[0], str):
            wrapped.args = (redact(_VALUE_DETAIL.sub("", wrapped.args[0])), *wrapped.args[1:])
    except (AttributeError, TypeError):
        return


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite files get WAL, busy_timeout and immediate transactions."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        # hide_parameters: a failed statement's message names the SQL, never its values (a record's body,
        # a phone number): exception text reaches logs and tracebacks (issue 18)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
                               hide_parameters=True)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "handle_error", _scrub_error)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    engine = create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20, hide_parameters=True)
    event.listen(engine, "handle_error", _scrub_error)
    return engine


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest Alembic revision (idempotent)."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # several `hub worker` processes may start on a fresh database at once: one migrates,
            # the others wait here and then find the schema at head (SQLite: BEGIN IMMEDIATE does this)
            conn.execute(text("SELECT pg_advisory_xact_lock(7240419)"))
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


@lru_cache(maxsize=8)
def _engine_for(url: str) -> Engine:
    # lru_cache lets two threads compute the same first value at once, and Alembic keeps its
    # running context in module globals: two worker threads migrating together failed with
    # KeyError 'config' (seen in a RabbitMQ crash test). Migrations take turns; a second
    # engine made meanwhile finds the schema at head and is simply not the one cached.
    with _MIGRATING:
        engine = make_engine(url)
        migrate(engine)
        return engine


_MIGRATING = threading.Lock()


def get_engine(url: str | None = None) -> Engine:
    """The migrated engine for ``url`` (default: the settings' database), one per URL per process."""
    return _engine_for(url or get_settings().database_url)


@lru_cache(maxsize=8)
def _factory_for(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@lru_cache(maxsize=8)
def _read_engine_for(engine: Engine) -> Engine:
    return engine.execution_options(**{READ_ONLY: True})


def session_factory(url: str | None = None) -> sessionmaker[Session]:
    """One cached factory per engine: the delivery engine opens several sessions per delivery."""
    import hub.store.repo  # noqa: F401 - registers the append-only guards of audit_log and workflow_events

    return _factory_for(get_engine(url))


@contextmanager
def session_scope(url: str | None = None) -> Iterator[Session]:
    """One short transaction: commit on success, roll back on error."""
    session = session_factory(url)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


@contextmanager
def read_scope(url: str | None = None) -> Iterator[Connection]:
    """Read-only work on a bare connection: on SQLite it takes no lock, so readers never wait for writers.

    Why: the delivery engine reads a row, its account flags and its rendition before every
    claim; with ``BEGIN IMMEDIATE`` those reads queued behind every writer in the process.
    On SQLite each statement is its own snapshot (no BEGIN is issued): fine for reads whose
    result is only a hint, like the engine's pre-claim look, whose claim is a fenced
    conditional write. Use it for reads alone: on SQLite a write here would commit at once.
    Always rolled back (there is nothing to commit): closing the connection rolls back what it
    began, and the pool's reset on return makes sure of it.
    """
    with _read_engine_for(get_engine(url)).connect() as conn:
        yield conn


@contextmanager
def read_session(url: str | None = None) -> Iterator[Session]:
    """An ORM session over ``read_scope``'s connection: for pages that only read (the public portal).

    Why: ``session_scope`` takes SQLite's write lock at BEGIN, so concurrent page views queued behind each
    other and met in SQLite's busy handler (sleeps of 1–100 ms): the home page served 77 req/s with four
    clients against 2.8 ms for one. Here each statement reads its own snapshot with no lock. Rows are
    detached when the block ends, with what was loaded.
    """
    with read_scope(url) as conn, Session(bind=conn, expire_on_commit=False) as session:
        yield session


@contextmanager
def connection_scope(url: str | None = None) -> Iterator[Connection]:
    """One short write transaction on a bare Core connection (commit on success, roll back on error).

    Why beside ``session_scope``: the delivery engine's claim and record are two prebuilt
    Core statements each; an ORM session around them cost more than the statements.
    """
    with get_engine(url).begin() as conn:
        yield conn


def retry_locked(write: Callable[[], T], *, budget: float) -> T:
    """Run one short write (``write`` opens its own transaction), again while the database refuses it.

    Why: SQLite answers ``database is locked`` when another writer held the lock past the busy
    timeout; the write itself is fine a moment later. Retried for ``budget`` seconds (pauses
    doubling from 50 ms to 1 s), then the last ``OperationalError`` is raised for the caller's
    fallback (the delivery engine's journal, the search index's pending rows).
    """
    deadline = time.monotonic() + budget
    pause = 0.05
    while True:
        try:
            return write()
        except OperationalError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(pause)
            pause = min(pause * 2, 1.0)
