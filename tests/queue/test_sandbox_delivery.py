"""The engine through the real adapters and the sandbox: every channel confirmed, and the fault knobs.

No fake channel here: each send is real HTTP (or SMTP) to the sandbox on 127.0.0.1. The
engine's steps are driven by ``drain`` with a controlled clock so retry-after waits take no
wall time. For each fault: at most one publication per (channel, target, recipient), and
every delivery ends final, or unknown / held with a reason; nothing is left queued or sending.
"""

from __future__ import annotations

from typing import Any

import pytest
from sandbox_world import CHANNELS, Clock, approved_sample, assert_truthful, drain, posts, publish_undriven

from hub.queue.states import State

pytestmark = pytest.mark.slow


@pytest.fixture
def version(world: None, sandbox: Any) -> str:
    return approved_sample(kinds=())  # each test renders only what its channels need, on first delivery


def test_the_sample_reaches_confirmed_on_every_channel_with_one_post_each(version: str, sandbox: Any) -> None:
    ids = publish_undriven(version, CHANNELS)
    rows = drain(ids, clock=Clock())
    assert {r.channel: r.state for r in rows.values()} == {c: State.CONFIRMED for c in CHANNELS}
    counts = posts(sandbox)
    assert counts and max(counts.values()) == 1
    assert {c for c, _, _ in counts} == {"wechat", "weibo", "sms", "newspaper"}
    assert sum(1 for c, _, _ in counts if c == "sms") == 5  # the five demo subscribers, once each
    assert publish_undriven(version, CHANNELS) == ids  # publishing the same version again creates nothing


@pytest.mark.parametrize("channel", ["wechat", "weibo", "sms"])
def test_5xx_before_processing_is_retried_until_it_lands_once(version: str, sandbox: Any, channel: str) -> None:
    sandbox.set_faults(channel, error_5xx_rate=1.0)
    ids = publish_undriven(version, (channel,))
    rows = drain(ids, clock=Clock(), between=lambda step: step == 2 and sandbox.clear_faults())
    assert [r.state for r in rows.values()] == [State.CONFIRMED]
    assert list(rows.values())[0].attempts >= 2
    assert max(posts(sandbox).values()) == 1


def test_5xx_forever_fails_after_the_attempt_limit_with_the_reason(version: str, sandbox: Any) -> None:
    sandbox.set_faults("weibo", error_5xx_rate=1.0)
    ids = publish_undriven(version, ("weibo",))
    rows = drain(ids, clock=Clock())
    row = list(rows.values())[0]
    assert row.state == State.FAILED and "gave up after" in (row.last_error_msg or "")
    assert posts(sandbox) == {}


@pytest.mark.parametrize("channel", ["weibo", "sms"])
def test_429_with_retry_after_waits_then_lands_once(version: str, sandbox: Any, channel: str) -> None:
    sandbox.set_faults(channel, error_5xx_rate=1.0, error_status=429, retry_after=7)
    ids = publish_undriven(version, (channel,))
    clock = Clock()
    start = clock.now
    rows = drain(ids, clock=clock, between=lambda step: step == 0 and sandbox.clear_faults())
    row = list(rows.values())[0]
    assert row.state == State.CONFIRMED and row.attempts == 2
    assert (clock.now - start).total_seconds() >= 7
    assert max(posts(sandbox).values()) == 1


@pytest.mark.parametrize("channel", ["wechat", "weibo"])
def test_an_expired_token_is_refreshed_once_and_the_post_lands_once(version: str, sandbox: Any, channel: str) -> None:
    sandbox.set_faults(channel, token_expired=1)
    ids = publish_undriven(version, (channel,))
    rows = drain(ids, clock=Clock())
    row = list(rows.values())[0]
    assert_truthful(rows)
    assert max(posts(sandbox).values(), default=0) <= 1
    if channel == "wechat":  # WeChat refreshes its token and resends once (F9)
        assert row.state == State.CONFIRMED


def test_a_token_that_stays_expired_holds_the_account_for_a_person(version: str, sandbox: Any) -> None:
    sandbox.set_faults("wechat", token_expired=1000)
    ids = publish_undriven(version, ("wechat",))
    rows = drain(ids, clock=Clock())
    row = list(rows.values())[0]
    assert row.needs_attention and row.state == State.RETRY_WAIT
    assert "re-authorisation" in (row.last_error_msg or "")
    assert posts(sandbox) == {}


@pytest.mark.parametrize("channel", ["wechat", "weibo", "sms", "newspaper", "web"])
def test_accept_then_drop_never_publishes_twice(version: str, sandbox: Any, channel: str) -> None:
    sandbox.set_faults(channel, drop_rate=1.0)
    ids = publish_undriven(version, (channel,))
    rows = drain(ids, clock=Clock(), between=lambda step: sandbox.clear_faults())
    assert_truthful(rows)
    row = list(rows.values())[0]
    assert max(posts(sandbox).values(), default=0) <= 1
    if channel == "newspaper":  # no lookup possible: a person checks with the desk
        assert row.state == State.UNKNOWN and row.needs_attention
    elif channel == "web":
        assert row.state == State.CONFIRMED
    else:
        assert row.state in (State.CONFIRMED, State.UNKNOWN)


@pytest.mark.parametrize("channel", ["weibo", "sms"])
def test_accept_then_late_answer_is_reconciled_without_a_second_post(version: str, sandbox: Any, channel: str) -> None:
    sandbox.set_faults(channel, late_rate=1.0, late_seconds=2.5)
    ids = publish_undriven(version, (channel,))
    rows = drain(ids, clock=Clock(), between=lambda step: sandbox.clear_faults())
    assert_truthful(rows)
    assert max(posts(sandbox).values(), default=0) <= 1
