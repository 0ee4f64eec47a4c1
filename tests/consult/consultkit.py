"""The consultation tests' helpers: accounts, an ID number, the form's CSRF token, asking a question.

(Not in conftest.py: ``from conftest import`` resolves to whichever conftest was imported
first when several test directories run together.)
"""

from __future__ import annotations

import re
import warnings
from typing import Any

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
