"""Fixtures of the web tests: the app, the demo accounts, signed-in clients per role."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from web_helpers import DEPT, PASSWORD, ROLES, TestClient, sign_in


@pytest.fixture(autouse=True)
def quick_argon2(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cheap argon2 parameters: these tests are about the web layer, not the cost of hashing."""
    from argon2 import PasswordHasher

    from hub import auth

    monkeypatch.setattr(auth, "_hasher", PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1))


@pytest.fixture
def app() -> Any:
    from hub.web.app import create_app

    return create_app(warm_search=False)  # the login throttle lives in this test's fresh database


@pytest.fixture
def users() -> list[str]:
    from hub import auth
    from hub.store.db import session_scope

    with session_scope() as s:
        for role in ROLES:
            auth.add_user(s, role, role, DEPT, PASSWORD)
        auth.add_user(s, "reviewer2", "reviewer", DEPT, PASSWORD)
        auth.add_user(s, "other-author", "author", "汉阴县财政局", PASSWORD)
    return [*ROLES, "reviewer2", "other-author"]


@pytest.fixture
def client(app: Any) -> Iterator[TestClient]:
    with TestClient(app, base_url="http://127.0.0.1") as c:
        yield c


@pytest.fixture
def as_role(app: Any, users: list[str]) -> Iterator[Callable[[str], TestClient]]:
    """A signed-in client per user name (created on first use)."""
    clients: dict[str, TestClient] = {}

    def get(name: str) -> TestClient:
        if name not in clients:
            c = TestClient(app, base_url="http://127.0.0.1")
            c.__enter__()
            r = sign_in(c, name)
            assert r.status_code == 303, r.text
            clients[name] = c
        return clients[name]

    yield get
    for c in clients.values():
        c.__exit__(None, None, None)
