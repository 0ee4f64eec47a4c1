"""The audit log and the workflow history are append-only, and every store action writes one audit row."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from storekit import make_record

from hub.store import repo
from hub.store.db import session_scope
from hub.store.models import AuditRow, WorkflowEventRow


def test_an_audit_row_records_who_what_which_and_details(db_url: str) -> None:
    when = datetime(2026, 11, 25, 1, 2, 3, tzinfo=UTC)
    with session_scope(db_url) as s:
        repo.audit(s, "office", "record.urge", "hanyin-2017-168", comment="请尽快审核", due=when, n=3)
    with session_scope(db_url) as s:
        [row] = repo.audit_rows(s)
        assert (row.actor, row.action, row.subject) == ("office", "record.urge", "hanyin-2017-168")
        assert row.detail == {"comment": "请尽快审核", "due": "2026-11-25 01:02:03+00:00", "n": 3}
        assert row.at.tzinfo is not None


def test_saving_a_version_writes_one_audit_row_and_one_creation_event(db_url: str) -> None:
    with session_scope(db_url) as s:
        v = repo.save_version(s, make_record(), findings=[], warnings=[], actor="author")
    with session_scope(db_url) as s:
        [row] = repo.audit_rows(s)
        assert (row.actor, row.action, row.subject) == ("author", "record.save", "hanyin-2017-168")
        assert row.detail["version"] == v.version
        [event] = repo.events_of(s, v.version)
        assert (event.from_state, event.to_state, event.actor) == (None, "draft", "author")


@pytest.mark.parametrize("model", [AuditRow, WorkflowEventRow])
def test_history_rows_can_be_neither_changed_nor_deleted(db_url: str, model: type) -> None:
    with session_scope(db_url) as s:
        repo.save_version(s, make_record(), findings=[], warnings=[], actor="author")
    with pytest.raises(repo.AppendOnlyViolation), session_scope(db_url) as s:
        row = s.scalars(sa.select(model)).one()
        row.actor = "mallory"
    with pytest.raises(repo.AppendOnlyViolation), session_scope(db_url) as s:
        s.delete(s.scalars(sa.select(model)).one())
    with pytest.raises(repo.AppendOnlyViolation), session_scope(db_url) as s:
        s.execute(sa.update(model).values(actor="mallory"))
    with pytest.raises(repo.AppendOnlyViolation), session_scope(db_url) as s:
        s.execute(sa.delete(model))
    with session_scope(db_url) as s:
        [row] = s.scalars(sa.select(model)).all()
        assert row.actor == "author"
        # appending is what the log is for
        repo.audit(s, "office", "record.urge", "hanyin-2017-168")
    with session_scope(db_url) as s:
        assert [r.action for r in repo.audit_rows(s)] == ["record.save", "record.urge"]
