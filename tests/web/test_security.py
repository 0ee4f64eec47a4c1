"""Security of the web app: roles at every console route, CSRF on every form, log-in throttling,
escaping of editor text everywhere, security headers and cookies."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from web_helpers import PASSWORD, TestClient, all_routes, csrf_of, make_record, publish_directly, sign_in

import hub.web.console  # noqa: F401,E402  (fills ROUTE_ACTIONS)
import hub.web.desk  # noqa: F401,E402  (the office's desk routes)
import hub.web.manage  # noqa: F401,E402  (management pages)
from hub import auth
from hub.web.pages import ROUTE_ACTIONS

ROUTES = sorted(set(ROUTE_ACTIONS))
SCRIPT_TITLE = '<script>alert("x")</script>公示 {{ 7*7 }}'


def concrete(path: str, version: str = "0" * 64) -> str:
    return (path.replace("{ref}", version).replace("{finding_id}", "1").replace("{delivery_id}", "1").replace("{urge_id}", "1")
            .replace("{name}", "0" * 64 + ".png"))


def call(client: TestClient, method: str, path: str, token: str | None) -> Any:
    if method == "GET":
        return client.get(path, follow_redirects=False)
    data = {"csrf_token": token} if token else {}
    return client.post(path, data=data, follow_redirects=False)


def test_the_route_table_covers_every_console_route(app: Any) -> None:
    declared = {(m, p) for m, p, _ in ROUTES}
    served = {(m, p) for m, p in all_routes(app) if p.startswith("/console")}
    public = {("GET", "/console/login"), ("POST", "/console/login"), ("POST", "/console/logout")}
    assert served - public == declared


@pytest.mark.parametrize(("method", "path", "action"), ROUTES, ids=[f"{m} {p}" for m, p, _ in ROUTES])
def test_console_routes_send_anonymous_users_to_the_login_page(client: TestClient, method: str, path: str,
                                                               action: str) -> None:
    token = csrf_of(client)
    r = call(client, method, concrete(path), token)
    assert r.status_code == 303
    assert r.headers["location"].startswith("/console/login?next=")


def test_console_routes_refuse_every_role_the_matrix_denies(as_role: Callable[[str], TestClient], users: list[str]
                                                            ) -> None:
    from hub.store.db import session_scope
    from hub.store.models import UserRow

    version = publish_directly(make_record())
    checked = 0
    with session_scope() as s:
        rows = {u.name: u for u in s.query(UserRow)}
    for name in ("author", "reviewer", "office", "admin", "station"):
        client = as_role(name)
        token = csrf_of(client, "/console/login")
        for method, path, action in ROUTES:
            if auth.can(rows[name], action) and path.endswith("/previews/video"):
                continue  # allowed: it starts a minutes-long video render
            r = call(client, method, concrete(path, version), token)
            if auth.can(rows[name], action):
                assert r.status_code != 403, (name, method, path, r.text[:200])
            else:
                assert r.status_code == 403, (name, method, path, r.status_code)
                checked += 1
    assert checked > 40


def test_an_author_of_another_department_cannot_open_the_record(as_role: Callable[[str], TestClient]) -> None:
    version = publish_directly(make_record())
    assert as_role("other-author").get(f"/console/v/{version}").status_code == 403
    assert as_role("author").get(f"/console/v/{version}").status_code == 200


def post_routes(app: Any) -> list[str]:
    return sorted({p for m, p in all_routes(app) if m == "POST" and not p.startswith("/callbacks")})


def test_every_form_post_without_the_csrf_token_is_refused(app: Any, as_role: Callable[[str], TestClient]) -> None:
    version = publish_directly(make_record())
    paths = post_routes(app)
    assert len(paths) >= 15
    for name in ("office", "reviewer", "author", "admin"):
        client = as_role(name)
        for path in paths:
            target = concrete(path, version)
            assert client.post(target, data={}, follow_redirects=False).status_code == 403, (name, path)
            bad = client.post(target, data={"csrf_token": "forged"}, follow_redirects=False)
            assert bad.status_code == 403, (name, path)


def test_a_forged_cross_site_login_is_refused(client: TestClient, users: list[str]) -> None:
    r = client.post("/console/login", data={"name": "office", "password": PASSWORD}, follow_redirects=False)
    assert r.status_code == 403
    assert client.get("/console", follow_redirects=False).status_code == 303  # still signed out


def test_login_is_throttled_after_five_failures(client: TestClient, users: list[str]) -> None:
    for _ in range(5):
        assert sign_in(client, "office", "wrong-password").status_code == 401
    r = sign_in(client, "office", PASSWORD)  # even the right password waits out the window
    assert r.status_code == 429
    assert int(r.headers["retry-after"]) > 0
    assert "分钟后再试" in r.text


def test_failed_and_successful_log_ins_are_audited(client: TestClient, users: list[str]) -> None:
    from hub.store.db import session_scope
    from hub.store.repo import audit_rows

    sign_in(client, "author", "nope-nope")
    assert sign_in(client, "author").status_code == 303
    with session_scope() as s:
        actions = [a.action for a in audit_rows(s, subject="author")]
    assert "login.failed" in actions and "login" in actions


def test_the_session_cookie_is_httponly_samesite_lax_and_signed(client: TestClient, users: list[str]) -> None:
    r = sign_in(client, "author")
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "samesite=lax" in cookie.lower()
    client.cookies.set("hub_session", "eyJ1IjoiYWRtaW4ifQ.forged.sig")
    assert client.get("/console/users", follow_redirects=False).status_code == 303


def test_every_page_carries_a_content_security_policy(client: TestClient, users: list[str]) -> None:
    publish_directly(make_record())
    for path in ("/", "/browse?stage=结果", "/records/rec-2026-001", "/search?q=征地", "/console/login",
                 "/nope"):
        r = client.get(path)
        csp = r.headers["content-security-policy"]
        assert "default-src 'self'" in csp and "script-src 'self'" in csp and "frame-ancestors 'self'" in csp
        assert "'unsafe-inline'" not in csp.split("style-src")[0]
        assert r.headers["x-content-type-options"] == "nosniff"


def _no_markup(html: str) -> None:
    assert '<script>alert("x")' not in html
    assert "&lt;script&gt;alert(" in html
    assert "{{ 7*7 }}" in html and ">49<" not in html


def test_script_in_a_title_is_shown_as_text_on_the_portal(client: TestClient, users: list[str]) -> None:
    publish_directly(make_record(title=SCRIPT_TITLE, body="<img src=x onerror=alert(1)> 征地补偿 款项"))
    for path in ("/", "/browse?stage=结果", "/records/rec-2026-001", "/search?q=征地补偿"):
        html = client.get(path).text
        _no_markup(html)
        assert "<img src=x" not in html
    feed = client.get("/feed.xml").text
    assert '<script>alert("x")' not in feed and "&lt;script&gt;" in feed


def test_script_in_a_title_is_shown_as_text_in_the_console_and_previews(
        as_role: Callable[[str], TestClient], users: list[str]) -> None:
    from hub import workflow
    from hub.store.db import session_scope

    record = make_record(title=SCRIPT_TITLE)
    with session_scope() as s:
        version = workflow.save_draft(s, record, actor="author").version
    client = as_role("author")
    for path in ("/console", f"/console/v/{version}", f"/console/v/{version}/edit",
                 f"/console/v/{version}/previews"):
        r = client.get(path)
        assert r.status_code == 200, path
        _no_markup(r.text)
    previews = client.get(f"/console/v/{version}/previews").text
    # stored HTML renditions are framed with sandbox and served under a sandboxing CSP
    frames = re.findall(r'<iframe[^>]*src="(/console/artifacts/[^"]+)"', previews)
    assert frames
    assert all("sandbox" in tag for tag in re.findall(r"<iframe[^>]*>", previews))
    for src in frames:
        art = client.get(src)
        assert "sandbox" in art.headers["content-security-policy"]
        assert "<script" not in art.text.lower()


def test_artifact_names_cannot_walk_out_of_the_store(as_role: Callable[[str], TestClient]) -> None:
    client = as_role("author")
    for name in ("..%2F..%2Fhub.db", "web-secret", "0" * 64 + ".png"):
        assert client.get(f"/console/artifacts/{name}").status_code == 404


def test_the_tv_page_needs_the_station_or_the_pickup_token(client: TestClient, users: list[str],
                                                           monkeypatch: pytest.MonkeyPatch,
                                                           as_role: Callable[[str], TestClient]) -> None:
    monkeypatch.setenv("HUB_TV_PICKUP_TOKEN", "tv-secret-token-123")
    assert client.get("/tv", follow_redirects=False).status_code == 303
    assert client.get("/tv?token=wrong", follow_redirects=False).status_code == 303
    assert client.get("/tv", headers={"Authorization": "Bearer tv-secret-token-123"}).status_code == 200
    assert as_role("station").get("/tv").status_code == 200
    assert as_role("office").get("/tv").status_code == 403


def test_the_sms_callback_exists_only_at_its_secret_path(client: TestClient, monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    assert client.post("/callbacks/sms/anything", json=[]).status_code == 404
    monkeypatch.setenv("HUB_SMS_CALLBACK_SECRET", "s3cret-path")
    assert client.post("/callbacks/sms/wrong", json=[]).status_code == 404


def test_the_wechat_callback_refuses_a_bad_signature(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    from wechatpy.utils import check_signature  # noqa: F401 - the verifier the endpoint uses

    monkeypatch.setenv("HUB_WECHAT_CALLBACK_TOKEN", "cb-token")
    r = client.get("/callbacks/wechat/wechat-county?signature=bad&timestamp=1&nonce=2&echostr=hello")
    assert r.status_code == 403
    import hashlib

    sig = hashlib.sha1("".join(sorted(["cb-token", "1", "2"])).encode()).hexdigest()
    ok = client.get(f"/callbacks/wechat/wechat-county?signature={sig}&timestamp=1&nonce=2&echostr=hello")
    assert ok.status_code == 200 and ok.text == "hello"


def test_a_signed_publishjobfinish_event_asks_the_engine_to_confirm_that_delivery(
        client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    import hashlib

    from hub.queue import actors
    from hub.store.db import session_scope
    from hub.store.models import DeliveryRow
    from hub.store.repo import audit_rows
    from hub.timeutil import utcnow

    monkeypatch.setenv("HUB_WECHAT_CALLBACK_TOKEN", "cb-token")
    hinted: list[tuple[str, int]] = []
    monkeypatch.setattr(actors, "hint", lambda name, did, delay: hinted.append((name, did)))
    now = utcnow()
    with session_scope() as s:
        row = DeliveryRow(record_id="r1", version="0" * 64, channel="wechat", target="wechat-county",
                          idempotency_key="k" * 64, state="submitted", attempts=1, redeliveries=0,
                          provider_ref="2247483999", needs_attention=False, created_at=now, updated_at=now)
        s.add(row)
        s.flush()
        delivery_id = row.id
    import time

    ts = str(int(time.time()))
    sig = hashlib.sha1("".join(sorted(["cb-token", ts, "9"])).encode()).hexdigest()
    xml = ("<xml><ToUserName>gh_1</ToUserName><FromUserName>o1</FromUserName><CreateTime>1</CreateTime>"
           "<MsgType>event</MsgType><Event>PUBLISHJOBFINISH</Event><PublishEventInfo>"
           "<publish_id>2247483999</publish_id><publish_status>0</publish_status></PublishEventInfo></xml>")
    bad = client.post(f"/callbacks/wechat/wechat-county?signature=bad&timestamp={ts}&nonce=9", content=xml)
    assert bad.status_code == 403 and hinted == []
    r = client.post(f"/callbacks/wechat/wechat-county?signature={sig}&timestamp={ts}&nonce=9", content=xml)
    assert r.status_code == 200 and r.text == "success"
    assert hinted == [("confirm", delivery_id)]
    with session_scope() as s:
        rows = audit_rows(s, action="callback.publishjobfinish")
        assert rows[-1].detail["deliveries"] == [delivery_id]
        from hub.store.models import ChannelStateRow

        kept = s.get(ChannelStateRow, "wechat-publish:2247483999")
        assert kept is not None and kept.value["publish_status"] == 0  # kept for the record; only a hint
        assert s.get(DeliveryRow, delivery_id).state == "submitted"  # freepublish/get decides, not the event
