"""The ledger equals the platform: Weibo reconcile and SMS reports through the engine and the sandbox (issue 18).

A post applied before the connection dropped must be found however many posts
followed it, a repeat refusal must never start a resend loop, and a lookup that
cannot tell must keep the row ``unknown`` (then hand it to a person), never resend.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from sandbox_world import FAST, Clock, approved_sample, drain, fast_config, posts, publish_undriven

from hub.queue.states import State

SHARE = "/2/statuses/share.json"


@pytest.fixture
def version(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sandbox: Any) -> Iterator[str]:
    fast_config(tmp_path, monkeypatch)
    yield approved_sample(kinds=())


def publish(version: str) -> list[int]:
    return publish_undriven(version, ["weibo"])


def burst(sandbox: Any, secrets: dict[str, str], n: int) -> None:
    """Other posts on the same account after ours (a busy afternoon)."""
    headers = {"Authorization": f"OAuth2 {secrets['HUB_WEIBO_COUNTY_TOKEN']}"}
    link = sandbox.messages("weibo", "status")[0]["content"]["text"].split()[-1]
    for i in range(n):
        r = httpx.post(f"{sandbox.url}{SHARE}", data={"status": f"其他公告第{i}条 {link}", "rip": "127.0.0.1"},
                       headers=headers, timeout=5)
        assert r.status_code == 200


def test_a_post_applied_before_the_drop_is_found_behind_a_burst_and_never_resent(
        version: str, sandbox: Any, sandbox_secrets: dict[str, str]) -> None:
    sandbox.set_faults("weibo", drop_rate=1.0, only_on="share.json")
    [delivery] = publish(version)
    seen: list[int] = []

    def after_first_step(step: int) -> None:
        if step == 0:
            sandbox.clear_faults()
            burst(sandbox, sandbox_secrets, 120)
        seen.append(step)

    rows = drain([delivery], clock=Clock(), between=after_first_step)
    row = rows[delivery]
    assert row.state == State.CONFIRMED
    ours = sandbox.messages("weibo", "status")[0]["content"]["idstr"]
    assert row.provider_ref == ours
    assert sandbox.hit_count(SHARE) == 121  # ours once, and the burst
    assert max(posts(sandbox).values()) == 121  # the account's posts; ours is not among them twice
    assert sum(1 for m in sandbox.messages("weibo", "status") if m["content"]["idstr"] == ours) == 1


def test_a_repeat_refusal_the_lookup_cannot_find_waits_for_a_person_instead_of_looping(
        version: str, sandbox: Any) -> None:
    sandbox.set_faults("weibo", error_code=20019, error_count=1, only_on="share.json")
    [delivery] = publish(version)
    rows = drain([delivery], clock=Clock())
    row = rows[delivery]
    assert row.state == State.UNKNOWN and row.needs_attention
    assert "repeat" in (row.last_error_msg or "")
    assert sandbox.hit_count(SHARE) == 1  # refused once, never sent again on a guess


def test_a_lookup_that_cannot_tell_keeps_the_row_unknown_then_hands_it_to_a_person(
        version: str, sandbox: Any, sandbox_secrets: dict[str, str]) -> None:
    sandbox.options["weibo_timeline_limit"] = 5  # the restricted timeline of some apps
    sandbox.set_faults("weibo", drop_rate=1.0, only_on="share.json")
    [delivery] = publish(version)

    def after_first_step(step: int) -> None:
        if step == 0:
            sandbox.clear_faults()
            burst(sandbox, sandbox_secrets, 8)

    rows = drain([delivery], clock=Clock(), settings=replace(FAST, unknown_hold=30), between=after_first_step)
    row = rows[delivery]
    assert row.state == State.UNKNOWN and row.needs_attention
    assert "a person must check" in (row.last_error_msg or "")
    assert sandbox.hit_count(SHARE) == 9  # ours once, and the burst: no resend while the lookup could not tell
    assert sandbox.hit_count("/2/statuses/user_timeline.json", "GET") >= 2



def test_sms_numbers_without_any_report_are_flagged_by_the_watchdog_not_left_looking_fine(
        version: str, sandbox: Any) -> None:
    import re

    from hub.queue.sweeper import watchdog
    from hub.settings import get_settings
    from hub.store.db import session_scope
    from hub.testing.caches import clear_caches
    from hub.timeutil import utcnow

    toml = get_settings().config_dir / "channels.toml"
    toml.write_text(re.sub(r'(?m)^(\[accounts\.tencent\])$', r'\1\nreport_lookup_minutes = 0',
                           toml.read_text("utf-8")), "utf-8")
    clear_caches()
    sandbox.vendor("tencent")["report_delay"] = 100000  # the carrier never reports
    [delivery] = publish_undriven(version, ["sms"])
    rows = drain([delivery], clock=Clock(), max_steps=8)
    assert rows[delivery].state == State.SUBMITTED
    with session_scope() as s:
        flagged = {w.id: w.reason for w in watchdog(s, now=utcnow())}
    assert "no delivery report" in flagged.get(delivery, "")


def test_publish_wait_that_times_out_exits_non_zero_and_names_what_is_still_on_its_way(
        version: str, sandbox: Any) -> None:
    from typer.testing import CliRunner

    from hub.cli import _register, app

    _register()
    sandbox.set_faults("weibo", error_5xx_rate=1.0)  # every attempt is refused: the row keeps retrying
    result = CliRunner().invoke(app, ["publish", version, "--channels", "weibo", "--wait", "--timeout", "2"])
    assert result.exit_code == 3, result.output
    assert "timed out" in result.output and "weibo (retry_wait)" in result.output
