"""Fixtures of the workflow tests: staff of two departments and a way to make a draft."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pytest
from argon2 import PasswordHasher

from hub import auth
from hub.record import Paragraph, Record
from hub.store import repo
from hub.store.db import session_scope
from hub.store.models import UserRow
from hub.timeutil import utcnow

DEPT = "汉阴县人民政府办公室"
OTHER = "汉阴县财政局"
PASSWORD = "correct horse battery"

#: name → (role, department)
STAFF = {
    "author": ("author", DEPT),
    "reviewer": ("reviewer", DEPT),
    "reviewer2": ("reviewer", DEPT),
    "office": ("office", DEPT),
    "admin": ("admin", DEPT),
    "station": ("station", None),
    "author_b": ("author", OTHER),
    "reviewer_b": ("reviewer", OTHER),
}


@dataclass(frozen=True)
class CheckFinding:
    """Shaped like ``hub.checks.Finding``."""

    kind: str
    line: int | None
    column: int | None
    excerpt: str
    suggestion: str | None
    blocking: bool


ID_NUMBER = CheckFinding("id_number", 8, 5, "6109**********2515", "6109**********2515", True)
PHONE = CheckFinding("mobile", 9, 3, "138****5678", "138****5678", True)
WORD = CheckFinding("word", 3, 1, "贫困户", "困难群众", False)


def make_record(record_id: str = "rec-1", **changes: Any) -> Record:
    fields: dict[str, Any] = {
        "id": record_id,
        "title": "关于2026年度城乡低保对象名单的公示",
        "department": DEPT,
        "body": [Paragraph(text="经审核,现将名单公示如下。")],
    }
    fields.update(changes)
    return Record(**fields)


_PRODUCTION_HASHER = auth._hasher


@pytest.fixture(autouse=True)
def cheap_argon2(monkeypatch: pytest.MonkeyPatch) -> None:
    """Real argon2id with small parameters: the default costs ~0.2 s per hash (seconds on a busy CI box)."""
    monkeypatch.setattr(auth, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    auth._dummy_hash.cache_clear()


@pytest.fixture
def production_argon2(monkeypatch: pytest.MonkeyPatch) -> None:
    """The hasher the hub ships with (for the tests of its parameters)."""
    monkeypatch.setattr(auth, "_hasher", _PRODUCTION_HASHER)
    auth._dummy_hash.cache_clear()


@pytest.fixture(scope="session")
def password_hash() -> str:
    """One argon2 hash of ``PASSWORD`` for every account (hashing costs ~0.2 s by design)."""
    return auth.hash_password(PASSWORD)


@pytest.fixture
def staff(db_url: str, password_hash: str) -> str:
    """Every account of ``STAFF`` in the database under test; returns the URL."""
    with session_scope(db_url) as s:
        for name, (role, dept) in STAFF.items():
            s.add(UserRow(name=name, password_hash=password_hash, role=role, department=dept, created_at=utcnow()))
    return db_url


Draft = Callable[..., str]


@pytest.fixture
def draft(staff: str) -> Draft:
    """``draft(findings=..., actor="author", **record_fields) -> version``: save a draft."""

    def make(findings: Sequence[CheckFinding] = (), actor: str = "author", **changes: Any) -> str:
        with session_scope(staff) as s:
            return repo.save_version(s, make_record(**changes), findings=findings, warnings=[], actor=actor).version

    return make
