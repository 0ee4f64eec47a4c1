"""Fixtures of the workflow tests: staff of two departments and a way to make a draft."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from argon2 import PasswordHasher
from workflowkit import PASSWORD, STAFF, CheckFinding, Draft, make_record

from hub import auth
from hub.store import repo
from hub.store.db import session_scope
from hub.store.models import UserRow
from hub.timeutil import utcnow

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
            s.add(
                UserRow(
                    name=name, password_hash=password_hash, role=role, department=dept, created_at=utcnow()
                )
            )
    return db_url


@pytest.fixture
def draft(staff: str) -> Draft:
    """``draft(findings=..., actor="author", **record_fields) -> version``: save a draft."""

    def make(findings: Sequence[CheckFinding] = (), actor: str = "author", **changes: Any) -> str:
        with session_scope(staff) as s:
            return repo.save_version(
                s, make_record(**changes), findings=findings, warnings=[], actor=actor
            ).version

    return make
