"""Fixtures of the consultation tests: the app, staff accounts, a citizen's client, an ID number."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from consultkit import DEPT, OTHER, PASSWORD, csrf_of

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

@pytest.fixture(autouse=True)
def quick_argon2(monkeypatch: pytest.MonkeyPatch) -> None:
    from argon2 import PasswordHasher

    from hub import auth

    monkeypatch.setattr(auth, "_hasher", PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1))


@pytest.fixture
def phone_key(monkeypatch: pytest.MonkeyPatch) -> None:
    from hub.audience.subscribers import new_key

    monkeypatch.setenv("HUB_PHONE_KEY", new_key())


@pytest.fixture
def app(phone_key: None) -> Any:
    from hub.web.app import create_app

    return create_app(warm_search=False)


@pytest.fixture
def staff() -> None:
    from hub import auth
    from hub.store.db import session_scope

    with session_scope() as s:
        auth.add_user(s, "author", "author", DEPT, PASSWORD)
        auth.add_user(s, "reviewer", "reviewer", DEPT, PASSWORD)
        auth.add_user(s, "office", "office", DEPT, PASSWORD)
        auth.add_user(s, "fin-author", "author", OTHER, PASSWORD)


@pytest.fixture
def citizen(app: Any) -> Iterator[TestClient]:
    with TestClient(app, base_url="http://127.0.0.1") as c:
        yield c


@pytest.fixture
def as_staff(app: Any, staff: None) -> Iterator[Callable[[str], TestClient]]:
    clients: dict[str, TestClient] = {}

    def get(name: str) -> TestClient:
        if name not in clients:
            c = TestClient(app, base_url="http://127.0.0.1")
            c.__enter__()
            token = csrf_of(c, "/console/login")
            r = c.post("/console/login", data={"name": name, "password": PASSWORD, "csrf_token": token,
                                                "next": "/console"}, follow_redirects=False)
            assert r.status_code == 303, r.text
            clients[name] = c
        return clients[name]

    yield get
    for c in clients.values():
        c.__exit__(None, None, None)
