"""Abuse and safety of the public form: rate limits in the database, honeypot, duplicates, CSRF, length caps."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from consultkit import ask, first_item_topic

from hub.consult.settings import get_consult_settings


def test_an_address_is_refused_after_its_limit_and_the_refusal_is_a_429(citizen: Any) -> None:
    limit = get_consult_settings().limits.per_address
    for i in range(limit):
        assert ask(citizen, title=f"第{i}个问题", question=f"第{i}个问题的内容是什么呢").status_code == 200
    r = ask(citizen, title="又一个问题", question="又一个问题的内容是什么")
    assert r.status_code == 429 and "提交过于频繁" in r.text


def test_a_reply_number_is_refused_after_its_limit_from_any_address(app: Any) -> None:
    from fastapi.testclient import TestClient

    limit = get_consult_settings().limits.per_contact
    for i in range(limit + 1):
        # a new client each time stands for another address: the contact limit holds across them
        with TestClient(app, base_url="http://127.0.0.1", client=(f"10.0.0.{i + 1}", 5000)) as c:
            r = ask(c, title=f"问题{i}", question=f"问题{i}的内容是什么呢", mobile="13800138000")
            assert r.status_code == (200 if i < limit else 429), (i, r.status_code)


def test_the_limit_is_kept_in_the_database_so_a_second_process_sees_the_hits(phone_key: None) -> None:
    from hub.consult import limits

    # two "processes" share nothing but the database: the counter lives there
    assert all(limits.allow("k", 2, timedelta(minutes=5)) for _ in range(2))
    assert not limits.allow("k", 2, timedelta(minutes=5))
    assert limits.allow("other", 2, timedelta(minutes=5))


def test_a_filled_honeypot_is_refused_and_nothing_is_stored(citizen: Any) -> None:
    r = ask(citizen, website="http://spam.example")
    assert r.status_code == 400
    from hub.store.db import session_scope
    from hub.store.models import ConsultationRow

    with session_scope() as s:
        assert s.query(ConsultationRow).count() == 0


def test_the_same_question_twice_is_a_duplicate_tied_to_the_question_field(citizen: Any) -> None:
    assert ask(citizen).status_code == 200
    r = ask(citizen)
    assert r.status_code == 400 and "请勿重复提交" in r.text and 'aria-describedby="h-question e-question"' in r.text


def test_a_post_without_the_csrf_token_is_refused(citizen: Any) -> None:
    citizen.get("/consult")
    r = citizen.post("/consult", data={"topic": first_item_topic(), "title": "标题", "question": "内容内容内容"})
    assert r.status_code == 403


def test_errors_name_each_field_and_keep_what_was_typed(citizen: Any) -> None:
    r = ask(citizen, topic="i:不存在/事项", title="", question="x" * 5000, mobile="12345")
    assert r.status_code == 400
    for field in ("topic", "title", "question", "mobile"):
        assert f'id="e-{field}"' in r.text, field
    assert 'role="alert"' in r.text and "12345" in r.text


def test_two_citizens_asking_the_same_common_question_are_both_taken(app: Any) -> None:
    from fastapi.testclient import TestClient

    for host in ("10.1.0.1", "10.1.0.2"):
        with TestClient(app, base_url="http://127.0.0.1", client=(host, 5000)) as c:
            assert ask(c).status_code == 200, host


def test_pages_with_a_token_or_a_private_code_are_never_cached(citizen: Any) -> None:
    from consultkit import code_of

    assert citizen.get("/consult").headers["cache-control"] == "no-store"
    done = ask(citizen)
    assert done.headers["cache-control"] == "no-store"
    private = citizen.get(f"/consult/{code_of(done.text)}")
    assert private.headers["cache-control"] == "no-store" and private.headers["x-robots-tag"] == "noindex"
    assert citizen.get("/consult/aaaaaaaaaaaaaaaa").status_code == 404
