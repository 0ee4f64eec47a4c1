"""Management pages: disabling, resetting and changing passwords; subscribers; the seeded demo password."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from web_helpers import PASSWORD, TestClient, csrf_of, sign_in

from hub.store import repo
from hub.store.db import session_scope


def _post(client: TestClient, path: str, **data: str) -> Any:
    return client.post(path, data={"csrf_token": csrf_of(client, "/console"), **data}, follow_redirects=False)


def test_a_disabled_user_cannot_sign_in_and_is_signed_out_at_once(as_role: Callable[[str], TestClient],
                                                                  app: Any) -> None:
    author = as_role("author")
    assert author.get("/console").status_code == 200
    r = _post(as_role("admin"), "/console/users/author/disable")
    assert r.status_code == 303 and "msg=" in r.headers["location"]
    assert author.get("/console", follow_redirects=False).status_code == 303  # out at the next request
    with TestClient(app, base_url="http://127.0.0.1") as fresh:
        assert sign_in(fresh, "author").status_code == 401
    _post(as_role("admin"), "/console/users/author/enable")
    with TestClient(app, base_url="http://127.0.0.1") as fresh:
        assert sign_in(fresh, "author").status_code == 303
    with session_scope() as s:
        assert [a.action for a in repo.audit_rows(s, subject="author") if a.action.startswith("user.")] == [
            "user.add", "user.disable", "user.enable"]


def test_an_admin_cannot_disable_themself(as_role: Callable[[str], TestClient]) -> None:
    r = _post(as_role("admin"), "/console/users/admin/disable")
    assert "err=" in r.headers["location"]


def test_a_reset_password_is_shown_once_and_works(as_role: Callable[[str], TestClient], app: Any) -> None:
    r = _post(as_role("admin"), "/console/users/reviewer/reset")
    page = as_role("admin").get(r.headers["location"]).text
    new = re.search(r"新密码：([A-Za-z0-9_-]+)", page).group(1)  # type: ignore[union-attr]
    with TestClient(app, base_url="http://127.0.0.1") as c:
        assert sign_in(c, "reviewer").status_code == 401
        assert sign_in(c, "reviewer", new).status_code == 303


def test_role_and_department_come_from_lists_and_are_checked(as_role: Callable[[str], TestClient]) -> None:
    admin = as_role("admin")
    page = admin.get("/console/users").text
    assert '<select id="u-dept" name="department">' in page and "汉阴县财政局" in page
    bad = _post(admin, "/console/users/author/role", role="reviewer", department="")
    assert "err=" in bad.headers["location"]
    ok = _post(admin, "/console/users/author/role", role="reviewer", department="汉阴县财政局")
    assert "msg=" in ok.headers["location"]
    refused = _post(admin, "/console/users", name="x", role="author", department="", password="long-enough-1")
    assert "err=" in refused.headers["location"]
    assert "flash-error" in admin.get(refused.headers["location"]).text


def test_changing_ones_own_password_needs_the_current_one(as_role: Callable[[str], TestClient], app: Any) -> None:
    station = as_role("station")
    wrong = _post(station, "/console/account/password", current="nope", new="new-password-9", again="new-password-9")
    assert "err=" in wrong.headers["location"]
    differ = _post(station, "/console/account/password", current=PASSWORD, new="new-password-9", again="other-1234")
    assert "err=" in differ.headers["location"]
    ok = _post(station, "/console/account/password", current=PASSWORD, new="new-password-9", again="new-password-9")
    assert "msg=" in ok.headers["location"]
    with TestClient(app, base_url="http://127.0.0.1") as c:
        assert sign_in(c, "station").status_code == 401
        assert sign_in(c, "station", "new-password-9").status_code == 303


def test_subscribers_are_imported_listed_masked_and_opted_out(as_role: Callable[[str], TestClient],
                                                              monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from hub.audience.subscribers import new_key

    monkeypatch.setenv("HUB_PHONE_KEY", new_key())
    admin = as_role("admin")
    csv = "phone,level,region,topics\n13800138001,county,,\n13800138002,township,涧池镇,低保\nnot-a-phone,county,,\n"
    r = admin.post("/console/subscribers/import", data={"csrf_token": csrf_of(admin, "/console")},
                   files={"file": ("subs.csv", csv.encode(), "text/csv")}, follow_redirects=False)
    assert "err=" in r.headers["location"]  # one row rejected: reported as a failure, not a success
    page = admin.get(r.headers["location"]).text
    assert "新增 2" in page and "第 4 行" in page and "13800138001" not in page
    assert "+86*******8001" in admin.get("/console/subscribers").text
    out = _post(admin, "/console/subscribers/optout", phone="13800138002")
    assert "msg=" in out.headers["location"]
    listing = admin.get("/console/subscribers").text
    assert "已退订" in listing and "13800138002" not in admin.get(out.headers["location"]).text
    assert as_role("office").get("/console/subscribers").status_code == 200
    assert as_role("author").get("/console/subscribers").status_code == 403


def test_seed_demo_makes_a_random_password_unless_one_is_given(monkeypatch: pytest.MonkeyPatch) -> None:
    from hub import auth
    from hub.commands.web import seed_demo

    monkeypatch.delenv("HUB_DEMO_PASSWORD", raising=False)
    password = seed_demo()
    assert password is not None and password != "hanyin-demo-2017" and len(password) >= 12
    with session_scope() as s:
        assert auth.authenticate(s, "office", password) is not None
    assert seed_demo() is None  # already there: nothing printed, nothing changed
