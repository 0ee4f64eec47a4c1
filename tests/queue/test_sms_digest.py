"""汇总短信 (issue 18, point 5) through the real SMS adapter, the sandbox's Tencent API and the engine's steps.

Records published to the same subscribers within the digest window reach each number as ONE
SMS with the approved digest template and a working link to the list of exactly those
records; every covered delivery's ledger says it went out in that digest.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sandbox_world import (
    FINAL,
    Clock,
    approved_copies,
    approved_sample,
    drain,
    fast_config,
    no_worker,
    posts,
    publish_undriven,
    rows_of,
)
from sqlalchemy import select

from hub.queue.states import State
from hub.store.db import session_scope
from hub.store.models import DeliveryEventRow, DeliveryRow, VersionRow
from hub.testing.caches import clear_caches

pytestmark = pytest.mark.slow

DIGEST_TEXT = re.compile(r"【汉阴县人民政府】(\d+)条政务公开信息已发布，详见hanyin\.gov\.cn/d/([0-9A-Za-z]{6}) 拒收请回复R")


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sandbox: Any) -> Iterator[Any]:
    fast_config(tmp_path, monkeypatch)
    monkeypatch.setenv("HUB_SMS_DIGEST_WINDOW", "2m")
    clear_caches()
    yield sandbox


def publish_sms(version: str) -> int:
    """Publish to the SMS targets only; no broker: the test drives the engine's steps itself."""
    ids = publish_undriven(version, ["sms"])
    assert len(ids) == 1
    return ids[0]


def all_ids() -> list[int]:
    with session_scope() as s:
        return list(s.scalars(select(DeliveryRow.id)))


def settle(clock: Clock, between: Any = None, rounds: int = 400) -> dict[int, DeliveryRow]:
    """Run the engine's steps on every row (the digest row appears on the way) until all are final."""
    with no_worker():
        for step in range(rounds):
            rows = drain(all_ids(), clock=clock, max_steps=1)
            if between is not None:
                between(step)
            if rows and all(r.state in FINAL or r.needs_attention for r in rows.values()):
                return rows
    return rows_of(all_ids())


def sms_texts(sandbox: Any) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for m in sandbox.messages("sms"):
        if m["kind"] == "sms":
            out.setdefault(m["content"]["phone"], []).append(m["content"]["text"])
    return out


def digest_rows(rows: dict[int, DeliveryRow]) -> list[DeliveryRow]:
    return [r for r in rows.values() if r.purpose == "digest"]


def test_three_records_within_the_window_reach_each_subscriber_as_one_digest_sms_with_a_working_link(
        world: Any) -> None:
    import warnings

    from hub.web.app import create_app

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient
    sandbox = world
    versions = [approved_sample(kinds=())]
    versions += approved_copies(versions[0], 2)
    ids = [publish_sms(v) for v in versions]
    held = rows_of(ids)
    clock = Clock()
    assert all(r.next_attempt_at is not None and r.next_attempt_at > clock() for r in held.values())

    rows = settle(clock)
    texts = sms_texts(sandbox)
    assert len(texts) == 5 and all(len(t) == 1 for t in texts.values()), texts  # 5 subscribers, one SMS each
    m = DIGEST_TEXT.fullmatch(next(iter(texts.values()))[0])
    assert m is not None and m.group(1) == "3"
    code = m.group(2)
    [digest] = digest_rows(rows)
    assert digest.state == State.CONFIRMED and digest.record_id == f"digest:{code}"
    for i in ids:  # every covered delivery says, truthfully, it went out in the digest and was confirmed with it
        assert rows[i].state == State.CONFIRMED, (rows[i].state, rows[i].last_error_msg)
        assert rows[i].provider_ref == digest.idempotency_key
        assert (rows[i].receipt or {})["raw"]["code"] == code
    with session_scope() as s:
        notes = [e.message or "" for e in s.query(DeliveryEventRow).filter(DeliveryEventRow.delivery_id.in_(ids))]
    assert sum(f"并入汇总短信 {code}" in n for n in notes) >= 2  # the members the digest took over

    with TestClient(create_app(warm_search=False), base_url="http://127.0.0.1") as client:
        page = client.get(f"/d/{code}")
        assert page.status_code == 200
        assert page.text.count('href="/records/') == 3
        for v in versions:
            with session_scope() as s:
                row = s.get(VersionRow, v)
                assert row is not None
                title, record_id = row.title, row.record_id
            assert f'href="/records/{record_id}"' in page.text and title in page.text
            assert client.get(f"/records/{record_id}").status_code == 200  # the link works
        assert client.get("/d/zzzzzz").status_code == 404
        # the office's board says it in words, with the list link
        sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "web"))
        from sandbox_world import DEMO_PASSWORD
        from web_helpers import sign_in
        assert sign_in(client, "office", DEMO_PASSWORD).status_code == 303
        board_page = client.get(f"/console/v/{versions[2]}/deliveries").text
        assert f"已并入汇总短信 {code}（共 3 条记录合并为一条短信，订阅者只收到一条）" in board_page
        assert f'href="/d/{code}"' in board_page

    from hub.web import board

    with session_scope() as s:
        lines = board.lines(s, version=versions[1])
    assert lines[0].digest_words is not None and f"已并入汇总短信 {code}" in lines[0].digest_words
    assert lines[0].digest_link == f"/d/{code}"

    # a record published after the digest went out is outside its window: its own SMS, its own template
    [late] = approved_copies(versions[0], 1, start=9)
    late_id = publish_sms(late)
    rows = settle(clock)
    assert rows[late_id].state == State.CONFIRMED and rows[late_id].provider_ref != digest.idempotency_key
    texts = sms_texts(sandbox)
    assert all(len(t) == 2 for t in texts.values())
    assert all("发布新公开信息，详见hanyin.gov.cn/s/" in t[1] for t in texts.values())


def test_a_record_withdrawn_while_it_waits_for_the_window_is_left_out_of_the_digest(world: Any) -> None:
    from hub.app.lifecycle import withdraw

    sandbox = world
    versions = [approved_sample(kinds=())]
    versions += approved_copies(versions[0], 2)
    ids = [publish_sms(v) for v in versions]
    with session_scope() as s:
        record_id = s.get(DeliveryRow, ids[1]).record_id  # type: ignore[union-attr]
    withdraw(record_id, actor="office", reason="测试撤回", via="cli")
    rows = settle(Clock())
    assert rows[ids[1]].state == State.CANCELLED
    texts = sms_texts(sandbox)
    assert len(texts) == 5 and all(len(t) == 1 for t in texts.values())
    m = DIGEST_TEXT.fullmatch(next(iter(texts.values()))[0])
    assert m is not None and m.group(1) == "2"
    [digest] = digest_rows(rows)
    assert digest.state == State.CONFIRMED
    assert {rows[ids[0]].state, rows[ids[2]].state} == {State.CONFIRMED}


def test_a_digest_send_whose_answer_is_lost_after_the_platform_applied_it_goes_out_once(world: Any) -> None:
    sandbox = world
    versions = [approved_sample(kinds=())]
    versions += approved_copies(versions[0], 2)
    ids = [publish_sms(v) for v in versions]
    sandbox.set_faults("sms", drop_rate=1.0, only_on="/")

    def heal(step: int) -> None:
        with session_scope() as s:
            attempted = s.query(DeliveryRow).filter(DeliveryRow.purpose == "digest", DeliveryRow.attempts > 0).count()
        if attempted:
            sandbox.clear_faults()

    rows = settle(Clock(), between=heal)
    assert max(posts(sandbox).values()) == 1
    texts = sms_texts(sandbox)
    assert len(texts) == 5 and all(len(t) == 1 for t in texts.values())
    [digest] = digest_rows(rows)
    with session_scope() as s:
        went = [e.to_state for e in s.query(DeliveryEventRow).filter(DeliveryEventRow.delivery_id == digest.id)]
    assert State.UNKNOWN in went  # the answer was lost: reconciled by asking the platform, not by resending
    assert digest.state == State.CONFIRMED
    assert all(rows[i].state == State.CONFIRMED for i in ids)


def test_the_digest_window_is_read_from_the_account_and_zero_turns_it_off() -> None:
    from hub.audience.digest import parse_window
    from hub.errors import ConfigError

    assert parse_window("30m") == 1800 and parse_window("1h") == 3600 and parse_window("90s") == 90
    assert parse_window("45") == 45 and parse_window("0") == 0 and parse_window("off") == 0
    with pytest.raises(ConfigError, match="digest_window"):
        parse_window("half an hour")


def test_the_office_sees_before_publishing_that_sms_wait_for_the_digest_window(world: Any) -> None:
    import warnings

    from hub.web.app import create_app

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "web"))
    from sandbox_world import DEMO_PASSWORD
    from web_helpers import sign_in

    version = approved_sample(kinds=())
    with TestClient(create_app(warm_search=False), base_url="http://127.0.0.1") as client:
        assert sign_in(client, "office", DEMO_PASSWORD).status_code == 303
        page = client.get(f"/console/v/{version}").text
    assert "短信（紧急信息除外）发布后等待 2 分钟" in page and "汇总短信" in page


def test_a_record_withdrawn_after_it_went_out_in_a_digest_sends_the_notice_to_the_digest_s_numbers(
        world: Any) -> None:
    from hub.app.lifecycle import withdraw

    sandbox = world
    versions = [approved_sample(kinds=())]
    versions += approved_copies(versions[0], 1)
    ids = [publish_sms(v) for v in versions]
    clock = Clock()
    rows = settle(clock)
    assert all(rows[i].state == State.CONFIRMED for i in ids)
    with session_scope() as s:
        record_id = s.get(DeliveryRow, ids[1]).record_id  # type: ignore[union-attr]
    done = withdraw(record_id, actor="office", reason="测试撤回", via="cli")
    rows = settle(clock)
    [step] = done.ids
    assert rows[step].state == State.CONFIRMED, rows[step].last_error_msg
    texts = sms_texts(sandbox)
    assert len(texts) == 5 and all(len(t) == 2 for t in texts.values()), texts
    assert all("2条政务公开信息已发布" in t[0] and "已撤回" in t[1] for t in texts.values())
