"""Database contention (reliability.md plan F, F14): short transactions, nothing held during a send."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest
from engine_fakes import Engine

from hub.errors import Retryable
from hub.queue import ledger
from hub.queue.deliver import deliver_one
from hub.queue.states import State
from hub.queue.sweeper import replay_journal
from hub.store import db


@pytest.fixture
def short_busy(monkeypatch: pytest.MonkeyPatch, hub_home: Path) -> Path:
    """A 300 ms busy timeout (the production value is 5 s) so lock tests stay quick."""
    monkeypatch.setattr(db, "SQLITE_BUSY_TIMEOUT_MS", 300)
    db._engine_for.cache_clear()
    return hub_home / "hub.db"


def hold_lock(path: Path, seconds: float) -> threading.Thread:
    """Another process-like writer holding the SQLite write lock for ``seconds``."""
    ready = threading.Event()

    def run() -> None:
        con = sqlite3.connect(path, isolation_level=None, timeout=5)
        con.execute("BEGIN EXCLUSIVE")
        ready.set()
        time.sleep(seconds)
        con.execute("ROLLBACK")
        con.close()

    t = threading.Thread(target=run)
    t.start()
    ready.wait(5)
    return t


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_a_locked_database_at_claim_time_is_retryable_with_zero_sends(engine: Engine, short_busy: Path) -> None:
    d = engine.add()
    t = hold_lock(short_busy, 1.0)
    with pytest.raises(Retryable):
        deliver_one(d, deps=engine.deps())
    t.join()
    assert engine.channels["fake"].platform.sends == 0
    assert deliver_one(d, deps=engine.deps()).state == State.CONFIRMED


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_no_transaction_is_open_while_the_channel_sends(engine: Engine, short_busy: Path) -> None:
    wrote: list[bool] = []

    def write_during_send() -> None:
        con = sqlite3.connect(short_busy, isolation_level=None, timeout=0)
        con.execute("BEGIN IMMEDIATE")
        con.execute("UPDATE deliveries SET updated_at = updated_at WHERE 0")
        con.execute("COMMIT")
        con.close()
        wrote.append(True)

    engine.channels["fake"].during_send = write_during_send
    d = engine.add()
    assert deliver_one(d, deps=engine.deps()).state == State.CONFIRMED
    assert wrote == [True]


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_a_lock_while_recording_retries_only_the_write(engine: Engine, short_busy: Path) -> None:
    holders: list[threading.Thread] = []
    engine.channels["fake"].during_send = lambda: holders.append(hold_lock(short_busy, 1.0))
    d = engine.add()
    out = deliver_one(d, deps=engine.deps())
    holders[0].join()
    assert out.state == State.CONFIRMED
    assert engine.channels["fake"].platform.sends == 1


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_a_result_the_database_refuses_is_journalled_and_recorded_later_without_resending(
        engine: Engine, short_busy: Path) -> None:
    holders: list[threading.Thread] = []
    engine.channels["fake"].during_send = lambda: holders.append(hold_lock(short_busy, engine.settings.write_retry + 1))
    d = engine.add()
    out = deliver_one(d, deps=engine.deps())
    holders[0].join()
    assert out.state == State.SENDING and "journalled" in out.note
    assert len(ledger.journal_entries()) == 1
    assert replay_journal(deps=engine.deps()) == 1
    assert engine.row(d).state == State.CONFIRMED
    assert engine.channels["fake"].platform.sends == 1 and ledger.journal_entries() == []


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_every_sqlite_connection_runs_wal_with_a_busy_timeout(engine: Engine) -> None:
    with db.get_engine().connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == db.SQLITE_BUSY_TIMEOUT_MS
