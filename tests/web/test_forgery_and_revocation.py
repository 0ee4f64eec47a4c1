"""Issue 18 on the web: department rules on the API and artifacts, private metrics, drafts' short links,
revocable sessions, a throttle no forwarded header fools, one link filter, and errors that echo nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from web_helpers import DEPT, PASSWORD, TestClient, csrf_of, make_record, publish_directly, sign_in

from hub.store.db import session_scope
from hub.timeutil import utcnow


def delivery_of(version: str, record_id: str = "rec-2026-001") -> int:
    from hub.store.models import DeliveryRow

    now = utcnow()
    with session_scope() as s:
        row = DeliveryRow(record_id=record_id, version=version, channel="web", target="web-portal",
                          idempotency_key=version[:60] + "webx", state="confirmed", attempts=1, redeliveries=0,
                          needs_attention=False, created_at=now, updated_at=now)
        s.add(row)
        s.flush()
        return int(row.id)


def test_api_status_applies_the_department_rule(as_role: Callable[[str], TestClient]) -> None:
    did = delivery_of(publish_directly(make_record()))
    mine = as_role("author").get("/api/status").json()
    assert [d["id"] for d in mine["deliveries"]] == [did]
    other = as_role("other-author").get("/api/status").json()
    assert other["deliveries"] == [] and other["summary"]["total"] == 0
    assert [d["id"] for d in as_role("office").get("/api/status").json()["deliveries"]] == [did]


def test_an_artifact_is_served_only_to_those_who_may_see_its_record(as_role: Callable[[str], TestClient]) -> None:
    from hub.renderers.service import render_version

    version = publish_directly(make_record())
    with session_scope() as s:
        [rendition] = render_version(s, version, ["sms"])
        name = rendition.main.path.name
    assert as_role("author").get(f"/console/artifacts/{name}").status_code == 200
    assert as_role("other-author").get(f"/console/artifacts/{name}").status_code == 404


def test_metrics_need_the_token_or_a_staff_login(client: TestClient, as_role: Callable[[str], TestClient],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer guess"}).status_code == 401
    monkeypatch.setenv("HUB_METRICS_TOKEN", "metrics-token-7")
    assert client.get("/metrics", headers={"Authorization": "Bearer metrics-token-7"}).status_code == 200
    assert "hub_published_records" in as_role("office").get("/metrics").text


def test_a_drafts_short_link_neither_redirects_nor_counts(client: TestClient, users: list[str]) -> None:
    from hub import workflow
    from hub.renderers.service import render_version
    from hub.store.models import ScanRow, ShortLinkRow

    with session_scope() as s:
        row = workflow.save_draft(s, make_record(id="draft-1"), actor="author", findings=[])
        render_version(s, row.version, ["qr"])
        code = s.query(ShortLinkRow).filter_by(version=row.version).first().code
    assert client.get(f"/s/{code}", follow_redirects=False).status_code == 404
    with session_scope() as s:
        assert s.query(ScanRow).count() == 0 and s.get(ShortLinkRow, code).scans == 0


def test_logout_revokes_the_old_cookie(app: Any, users: list[str]) -> None:
    with TestClient(app, base_url="http://127.0.0.1") as c:
        assert sign_in(c, "office").status_code == 303
        stolen = dict(c.cookies)
        assert c.get("/console", follow_redirects=False).status_code == 200
        c.post("/console/logout", data={"csrf_token": csrf_of(c, "/console")}, follow_redirects=False)
    with TestClient(app, base_url="http://127.0.0.1", cookies=stolen) as thief:
        r = thief.get("/console", follow_redirects=False)
        assert r.status_code == 303 and "/console/login" in r.headers["location"]


def test_changing_the_tv_pickup_token_ends_sessions_opened_with_the_old_one(
        app: Any, users: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUB_TV_PICKUP_TOKEN", "old-token-123")
    with TestClient(app, base_url="http://127.0.0.1") as c:
        assert c.get("/tv?token=old-token-123").status_code == 200
        assert c.get("/tv", follow_redirects=False).status_code == 200  # the session remembers the token
        monkeypatch.setenv("HUB_TV_PICKUP_TOKEN", "new-token-456")
        assert c.get("/tv", follow_redirects=False).status_code == 303  # to the log-in page


def test_rotating_x_forwarded_for_does_not_escape_the_throttle(client: TestClient, users: list[str]) -> None:
    token = csrf_of(client)
    for i in range(5):
        r = client.post("/console/login", data={"name": "office", "password": "wrong", "csrf_token": token},
                        headers={"X-Forwarded-For": f"10.9.8.{i}"}, follow_redirects=False)
        assert r.status_code == 401
    r = client.post("/console/login", data={"name": "office", "password": PASSWORD, "csrf_token": token},
                    headers={"X-Forwarded-For": "10.9.8.77"}, follow_redirects=False)
    assert r.status_code == 429


def test_the_throttle_is_shared_through_the_database(app: Any, users: list[str]) -> None:
    from hub.web.app import create_app

    with TestClient(app, base_url="http://127.0.0.1") as first:
        for _ in range(5):
            assert sign_in(first, "office", "wrong").status_code == 401
    with TestClient(create_app(warm_search=False), base_url="http://127.0.0.1") as second:  # another "process"
        assert sign_in(second, "office").status_code == 429


def test_forwarded_headers_count_only_from_configured_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    from starlette.requests import Request

    from hub.web.security import client_address

    def req(peer: str, xff: str) -> Request:
        return Request({"type": "http", "client": (peer, 5000), "headers": [(b"x-forwarded-for", xff.encode())]})

    assert client_address(req("127.0.0.1", "1.2.3.4")) == "127.0.0.1"  # nothing configured: the peer
    monkeypatch.setenv("HUB_TRUSTED_PROXIES", "10.0.0.0/8, 127.0.0.1")
    assert client_address(req("10.0.0.5", "6.6.6.6, 1.2.3.4, 10.0.0.9")) == "1.2.3.4"
    assert client_address(req("192.0.2.1", "1.2.3.4")) == "192.0.2.1"  # not a proxy: header ignored


def test_a_javascript_attachment_link_never_reaches_an_href_on_the_live_portal(client: TestClient,
                                                                             users: list[str]) -> None:
    publish_directly(make_record(attachments=[{"name": "坏链接", "url": "javascript:alert(1)"},
                                              {"name": "好链接", "url": "https://hanyin.gov.cn/a.pdf"}]))
    page = client.get("/records/rec-2026-001").text
    assert "javascript:" not in page and 'href="https://hanyin.gov.cn/a.pdf"' in page


def test_a_long_password_is_never_echoed_and_huge_ids_are_not_found(client: TestClient,
                                                                     as_role: Callable[[str], TestClient]) -> None:
    secret = "S3cret-" + "x" * 300
    r = client.post("/console/login", data={"name": "office", "password": secret,
                                            "csrf_token": csrf_of(client)})
    assert r.status_code == 422 and "xxxxxxxxxx" not in r.text and "输入有误" in r.text
    office = as_role("office")
    huge = 2 ** 70
    r = office.post(f"/console/deliveries/{huge}/retry", data={"csrf_token": csrf_of(office, "/console")},
                    follow_redirects=False)
    assert r.status_code in (404, 422)
    assert DEPT  # the fixture accounts belong to this department


def test_a_tv_download_through_the_web_makes_its_delivery_confirm_now(
        app: Any, users: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    import hashlib
    import json

    from hub.channels.tv import MANIFEST, package_dir
    from hub.queue import actors
    from hub.store.models import DeliveryRow

    hinted: list[tuple[str, int]] = []
    monkeypatch.setattr(actors, "hint", lambda name, did, delay: hinted.append((name, did)))
    monkeypatch.setenv("HUB_TV_PICKUP_TOKEN", "tv-token-1")
    folder = package_dir("rec-1-abc")
    folder.mkdir(parents=True)
    (folder / "pkg.zip").write_bytes(b"PK\x05\x06" + b"\x00" * 18)
    (folder / MANIFEST).write_text(json.dumps({"files": {"pkg.zip": hashlib.sha256(
        (folder / "pkg.zip").read_bytes()).hexdigest()}}), "utf-8")
    later = utcnow().replace(year=utcnow().year + 1)
    from hub.record import Record
    from hub.store import repo

    with session_scope() as s:  # /tv offers only live (published, not superseded) versions' packages
        published = repo.save_version(s, Record(id="rec-1", title="电视取片测试"), findings=[], warnings=[],
                                      actor="author")
        published.state = "published"
        version = published.version
    with session_scope() as s:
        row = DeliveryRow(record_id="rec-1", version=version, channel="tv", target="tv-ankang",
                          idempotency_key="t" * 64, state="submitted", attempts=1, redeliveries=0,
                          provider_ref="rec-1-abc", needs_attention=False, created_at=utcnow(), updated_at=utcnow(),
                          next_attempt_at=later)
        s.add(row)
        s.flush()
        did = int(row.id)
    with TestClient(app, base_url="http://127.0.0.1") as c:
        assert c.get(f"/tv/{did}/download?token=tv-token-1").status_code == 200
    assert hinted == [("confirm", did)]
    with session_scope() as s:
        due = s.get(DeliveryRow, did).next_attempt_at
        assert due is not None and due <= utcnow()


def test_an_upload_with_a_date_at_the_limit_is_a_4xx_in_chinese(as_role: Callable[[str], TestClient]) -> None:
    author = as_role("author")
    body = "+++\ntitle = \"关于测试的通知\"\npublished_at = 9999-12-31T23:59:59-01:00\n+++\n正文。\n"
    r = author.post("/console/records/upload", data={"csrf_token": csrf_of(author, "/console")},
                    files={"file": ("r.md", body.encode(), "text/markdown")}, follow_redirects=False)
    assert r.status_code == 400 and "超出允许范围" in r.text and "r.md:3" in r.text
