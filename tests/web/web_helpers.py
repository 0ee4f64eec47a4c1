"""Helpers of the web tests (imported by the tests and their conftest)."""

from __future__ import annotations

import re
import warnings
from typing import Any

from hub.testing.caches import clear_caches  # noqa: F401 - test modules import it from here

with warnings.catch_warnings():
    # starlette 1.x warns that its TestClient will move to httpx2; httpx is what we pin.
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

__all__ = ["TestClient"]

PASSWORD = "test-password-1"
DEPT = "汉阴县人民政府办公室"
ROLES = ("author", "reviewer", "office", "admin", "station")


def csrf_of(client: TestClient, path: str = "/console/login") -> str:
    """The CSRF token of the client's session, read from a page's form."""
    html = client.get(path).text
    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert m, f"no csrf token on {path}"
    return m.group(1)


def sign_in(client: TestClient, name: str, password: str = PASSWORD) -> Any:
    token = csrf_of(client)
    return client.post("/console/login", data={"name": name, "password": password, "csrf_token": token,
                                               "next": "/console"}, follow_redirects=False)


def make_record(title: str = "汉阴县2026年第一批征地补偿公示", body: str | None = None, **fields: Any) -> Any:
    from hub.record import Heading, Paragraph, Record

    blocks = [Heading(level=1, number="一、", text="补偿标准"),
              Paragraph(text=body or "涧池镇征地补偿款已按标准足额发放到户，群众如有异议请于七日内反映。")]
    data: dict[str, Any] = {"id": fields.pop("id", "rec-2026-001"), "title": title, "index_no": "hyx-2026-0001",
                            "department": DEPT, "doc_no": "汉政办发〔2026〕1号", "stage": "结果",
                            "domain": "征地补偿", "item": "征地补偿标准", "validity": "有效", "body": blocks}
    data.update(fields)
    return Record.model_validate(data)


def publish_directly(record: Any) -> str:
    """Store, review and mark ``record`` published through the workflow (no delivery engine)."""
    from hub import workflow
    from hub.checks import run_checks
    from hub.store.db import session_scope

    with session_scope() as s:
        row = workflow.save_draft(s, record, actor="author", findings=run_checks(record))
        for f in __import__("hub.store.repo", fromlist=["findings_of"]).findings_of(s, row):
            if f.blocking:
                workflow.waive(s, f.id, "reviewer", "test fixture")
        workflow.submit(s, row, "author")
        workflow.approve(s, row, "reviewer")
        workflow.publish(s, row, "office")
        return row.version


def all_routes(app: Any) -> list[tuple[str, str]]:
    """(method, path) of every route the app serves, through included routers."""
    out: list[tuple[str, str]] = []

    def walk(routes: Any, prefix: str) -> None:
        for r in routes:
            inner = getattr(r, "original_router", None)
            if inner is not None:
                walk(inner.routes, prefix + getattr(r.include_context, "prefix", ""))
            elif getattr(r, "methods", None):
                out.extend((m, prefix + r.path) for m in r.methods if m != "HEAD")

    walk(app.routes, "")
    return out


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
