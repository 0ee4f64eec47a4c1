"""Search kept current at publish time: the index follows the workflow, a citizen's search never builds it."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from web_helpers import TestClient, make_record, publish_directly


def indexed_versions() -> set[str]:
    from hub.store.db import read_scope
    from hub.store.models import SearchDocRow

    with read_scope() as conn:  # no lock taken: it also reads while another writer holds it
        return set(conn.scalars(select(SearchDocRow.version)))


def test_the_first_search_after_a_publish_builds_nothing(client: TestClient, users: list[str],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from hub.web import search

    version = publish_directly(make_record())
    assert version in indexed_versions()  # indexed by the publish transition itself

    def no_build(*_: object, **__: object) -> str:
        raise AssertionError("a search request segmented a document: it built the index")

    monkeypatch.setattr(search, "document_text", no_build)
    html = client.get("/search", params={"q": "补偿款"}).text
    assert "汉阴县2026年第一批征地补偿公示" in html and "共找到 <strong>1</strong> 条结果" in html


def test_a_withdrawn_record_leaves_the_search_index_in_the_withdrawal_itself(client: TestClient,
                                                                             users: list[str]) -> None:
    from hub import workflow
    from hub.store.db import session_scope

    version = publish_directly(make_record())
    with session_scope() as s:
        workflow.withdraw(s, version, "office", comment="数据有误")
    assert version not in indexed_versions()
    assert "共找到 <strong>0</strong>" in client.get("/search", params={"q": "补偿款"}).text


def test_sync_catches_up_versions_published_around_the_workflow(client: TestClient, users: list[str]) -> None:
    """Rows marked published without the workflow (an old database, a bulk import) are added by ``sync``."""
    from hub.store.db import session_scope
    from hub.store.models import SearchDocRow
    from hub.web import search

    version = publish_directly(make_record())
    with session_scope() as s:
        search.unindex(s, [version])
        assert s.get(SearchDocRow, version) is None
        assert search.sync(s) == 1
    assert version in indexed_versions()


class LockHolder:
    """Another writer: a plain sqlite3 connection holding the database's write lock (BEGIN IMMEDIATE)."""

    def __init__(self, release_after: float | None = None) -> None:
        import sqlite3
        import threading

        from hub.settings import get_settings

        self.path = get_settings().database_url.split("///", 1)[-1]
        self.conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self.held = False
        self.release_after = release_after
        self.timer: threading.Timer | None = None
        self._lock = threading.Lock()

    def take(self) -> None:
        import threading

        with self._lock:
            if not self.held:
                self.conn.execute("BEGIN IMMEDIATE")
                self.held = True
                if self.release_after is not None:  # counted from when the lock is held
                    self.timer = threading.Timer(self.release_after, self.release)
                    self.timer.start()

    def release(self) -> None:
        with self._lock:
            if self.held:
                self.conn.execute("ROLLBACK")
                self.held = False


def pending_versions() -> set[str]:
    from hub.store.db import read_scope
    from hub.store.models import SearchPendingRow

    with read_scope() as conn:
        return set(conn.scalars(select(SearchPendingRow.version)))


def lock_before_the_write(monkeypatch: pytest.MonkeyPatch, holder: LockHolder) -> None:
    """Another writer takes the lock after the publish committed, before the search document is written."""
    from hub.web import search

    original = search.segment

    def segment_after_locking(value: str) -> list[str]:
        holder.take()
        return original(value)

    monkeypatch.setattr(search, "segment", segment_after_locking)


@pytest.mark.slow
def test_a_search_write_refused_by_a_writer_holding_the_lock_is_written_by_the_next_maintenance_pass(
        client: TestClient, users: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """Never lost: the pending row commits with the publication; the maintenance pass writes the document."""
    from hub.queue.runtime import MaintenanceLoop
    from hub.web import search

    monkeypatch.setattr(search, "AFTER_COMMIT_RETRY_S", 0.0)  # one try: the busy timeout, then give up
    holder = LockHolder()
    lock_before_the_write(monkeypatch, holder)
    try:
        version = publish_directly(make_record())  # returns although the index write was refused
        assert holder.held and version not in indexed_versions()
        assert version in pending_versions(), "the publication committed without its pending search row"
    finally:
        holder.release()
        holder.conn.close()
    monkeypatch.undo()
    counts = MaintenanceLoop().run_once()
    assert counts["search"] == 1
    assert version in indexed_versions() and version not in pending_versions()
    html = client.get("/search", params={"q": "补偿款"}).text
    assert "共找到 <strong>1</strong> 条结果" in html


@pytest.mark.slow
def test_a_search_write_after_a_publish_waits_for_a_writer_holding_the_lock_past_the_busy_timeout(
        client: TestClient, users: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """The write after the commit is retried (``retry_locked``) while another writer holds the lock."""
    import time

    from hub.store.db import SQLITE_BUSY_TIMEOUT_MS

    holder = LockHolder(release_after=SQLITE_BUSY_TIMEOUT_MS / 1000 + 0.5)
    lock_before_the_write(monkeypatch, holder)
    started = time.monotonic()
    try:
        version = publish_directly(make_record())
    finally:
        if holder.timer is not None:
            holder.timer.join()
        holder.release()
        holder.conn.close()
    assert time.monotonic() - started > SQLITE_BUSY_TIMEOUT_MS / 1000  # the first try timed out, a retry wrote it
    assert version in indexed_versions() and not pending_versions()
