"""Fixtures of the consultation tests: the app, staff accounts, a citizen's client, an ID number."""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

PASSWORD = "consult-test-pw"
DEPT = "汉阴县人民政府办公室"
OTHER = "汉阴县财政局"


def id_number(body17: str = "61092119900307123") -> str:
    """A checksum-valid resident ID (GB 11643-1999) built from 17 digits."""
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return body17 + "10X98765432"[sum(int(d) * w for d, w in zip(body17, weights, strict=True)) % 11]


def csrf_of(client: TestClient, path: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text)
    assert m, f"no csrf token on {path}"
    return m.group(1)


@pytest.fixture(autouse=True)
def quick_argon2(monkeypatch: pytest.MonkeyPatch) -> None:
    from argon2 import PasswordHasher

    from hub import auth

    monkeypatch.setattr(auth, "_hasher", PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1))


@pytest.fixture
def phone_key(monkeypatch: pytest.MonkeyPatch) -> None:
    from hub.channels.subscribers import new_key

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


def first_item_topic() -> str:
    from hub.catalog import get_catalog

    d = get_catalog().domains[0]
    return f"i:{d.name}/{d.items[0].name}"


def ask(client: TestClient, **fields: Any) -> Any:
    data = {"topic": first_item_topic(), "title": "低保申请需要哪些材料", "question": "请问申请低保需要准备哪些材料？",
            "name": "", "mobile": "", "website": "", "csrf_token": csrf_of(client, "/consult")}
    data.update(fields)
    return client.post("/consult", data=data)


def code_of(html: str) -> str:
    m = re.search(r'/consult/([a-z0-9]{16})', html)
    assert m, html[:2000]
    return m.group(1)
