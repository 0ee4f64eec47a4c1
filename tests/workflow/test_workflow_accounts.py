"""Staff accounts: argon2 passwords, log-in checks, account creation rules and the demo accounts."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher
from workflowkit import DEPT

from hub import auth
from hub.errors import InputError
from hub.store import repo
from hub.store.db import get_engine, session_scope
from hub.store.models import UserRow
from hub.timeutil import utcnow


def test_a_password_hash_is_salted_argon2id_and_verifies_only_the_right_password() -> None:
    first, second = auth.hash_password("政务公开-2026"), auth.hash_password("政务公开-2026")
    assert first.startswith("$argon2id$") and first != second
    assert auth.verify_password(first, "政务公开-2026") and auth.verify_password(second, "政务公开-2026")
    assert not auth.verify_password(first, "政务公开-2025")
    assert not auth.verify_password("not a hash", "政务公开-2026")
    assert not auth.verify_password(first, "")


def test_the_shipped_hasher_uses_rfc_9106_parameters_and_upgrades_weaker_hashes_on_log_in(
    production_argon2: None,
) -> None:
    stored = auth.hash_password("政务公开-2026")
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    weak = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash("政务公开-2026")
    with session_scope() as s:
        s.add(UserRow(name="old", password_hash=weak, role="office", department=None, created_at=utcnow()))
    with session_scope() as s:
        assert auth.authenticate(s, "old", "政务公开-2026") is not None
    with session_scope() as s:
        upgraded = s.scalars(sa.select(UserRow.password_hash).where(UserRow.name == "old")).one()
        assert upgraded.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
        assert auth.verify_password(upgraded, "政务公开-2026")


def test_an_account_is_stored_with_its_hash_only_and_audited_without_the_password(db_url: str) -> None:
    with session_scope(db_url) as s:
        auth.add_user(s, "zhang.wei", "author", DEPT, "s3cret-passw0rd", actor="admin")
    with get_engine(db_url).connect() as conn:
        dump = repr(conn.execute(sa.text("select * from users")).all())
        dump += repr(conn.execute(sa.text("select * from audit_log")).all())
    assert "s3cret-passw0rd" not in dump
    with session_scope(db_url) as s:
        [row] = repo.audit_rows(s, action="user.add")
        assert (row.actor, row.subject, row.detail) == ("admin", "zhang.wei", {"role": "author", "department": DEPT})


def test_authenticate_returns_the_user_only_for_the_right_password_of_an_active_account(db_url: str) -> None:
    with session_scope(db_url) as s:
        auth.add_user(s, "li.na", "reviewer", DEPT, "right-password")
    with session_scope(db_url) as s:
        user = auth.authenticate(s, "li.na", "right-password")
        assert user is not None and user.role == "reviewer"
        assert auth.authenticate(s, "li.na", "wrong-password") is None
        assert auth.authenticate(s, "nobody", "right-password") is None
        user.active = False
    with session_scope(db_url) as s:
        assert auth.authenticate(s, "li.na", "right-password") is None


@pytest.mark.parametrize(
    ("name", "role", "department", "password", "message"),
    [
        ("", "author", DEPT, "long-enough", "name"),
        ("x" * 101, "author", DEPT, "long-enough", "name"),
        ("wang", "boss", DEPT, "long-enough", "unknown role"),
        ("wang", "system", None, "long-enough", "not an account"),
        ("wang", "author", None, "long-enough", "needs --department"),
        ("wang", "reviewer", "  ", "long-enough", "needs --department"),
        ("wang", "office", None, "short", "at least 8"),
    ],
)
def test_bad_account_requests_are_refused_with_the_reason(
    name: str, role: str, department: str | None, password: str, message: str
) -> None:
    with pytest.raises(InputError, match=message), session_scope() as s:
        auth.add_user(s, name, role, department, password)
    with session_scope() as s:
        assert s.scalars(sa.select(UserRow)).all() == []


def test_a_name_is_taken_once(db_url: str) -> None:
    with session_scope(db_url) as s:
        auth.add_user(s, "wang", "office", None, "long-enough")
    with pytest.raises(InputError, match="already exists"), session_scope(db_url) as s:
        auth.add_user(s, "wang", "admin", None, "long-enough")


def test_the_demo_accounts_are_seeded_once_with_their_roles_in_the_county_office(db_url: str) -> None:
    with session_scope(db_url) as s:
        auth.seed_demo_users(s, "demo-password")
    with session_scope(db_url) as s:
        again = auth.seed_demo_users(s, "another-password")
        assert [(u.name, u.role, u.department) for u in again] == [
            (r, r, "汉阴县人民政府办公室") for r in ("author", "reviewer", "office", "admin", "station")
        ]
        assert len(s.scalars(sa.select(UserRow)).all()) == 5
        # existing accounts are left as they are
        assert auth.authenticate(s, "reviewer", "demo-password") is not None
        assert auth.authenticate(s, "reviewer", "another-password") is None
