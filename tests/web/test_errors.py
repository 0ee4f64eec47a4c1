"""An unexpected error is a page in words for a clerk (and JSON for the API), never a bare English 500."""

from __future__ import annotations

from typing import Any

from web_helpers import TestClient


def test_a_crash_in_a_page_is_answered_with_a_chinese_error_page(app: Any) -> None:
    def boom() -> None:
        raise RuntimeError("database is locked")

    app.add_api_route("/boom", boom)
    app.add_api_route("/api/boom", boom)
    client = TestClient(app, raise_server_exceptions=False)
    page = client.get("/boom")
    assert page.status_code == 500
    assert "系统暂时出错" in page.text and "database is locked" not in page.text
    api = client.get("/api/boom")
    assert api.status_code == 500 and api.json() == {"error": "internal error"}
