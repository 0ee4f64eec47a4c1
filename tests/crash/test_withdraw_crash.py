"""A worker killed in the middle of a withdrawal (撤回), with a real broker and ``hub worker`` subprocesses.

After the crash a fresh worker finishes the withdrawal: every step confirmed, each WeChat
article and Weibo post deleted exactly once, and the withdrawal notice sent exactly once to
each number that got the record (the lease sweeper's ``unknown`` is reconciled by running
the idempotent step again, never by a blind second notice).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from crashkit import CHANNELS, WorkerProcess, run_until_settled

from hub.queue.publish import publish_and_enqueue
from hub.queue.states import State

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.mark.parametrize("point", ["before_send", "after_send"])
def test_a_worker_killed_mid_withdrawal_still_deletes_each_post_once(crash_world: dict[str, Any],
                                                                      point: str) -> None:
    from hub.app import lifecycle

    sandbox = crash_world["sandbox"]
    ids = publish_and_enqueue(crash_world["version"], actor="office", channels=CHANNELS)
    rows = run_until_settled(crash_world, ids)
    assert {r.state for r in rows.values()} == {State.CONFIRMED}

    done = lifecycle.withdraw(crash_world["version"], actor="office", reason="数据有误")
    crashed = WorkerProcess(crash_world["log"], {"HUB_FAULT": f"{point}:kill"})
    assert crashed.wait_exit(60) != 0
    rows = run_until_settled(crash_world, done.ids)
    assert {r.channel: r.state for r in rows.values()} == {c: State.CONFIRMED for c in CHANNELS}, \
        {r.channel: (r.state, r.last_error_msg) for r in rows.values()}
    deleted = Counter(m["channel"] for m in sandbox.messages() if m["kind"] == "delete")
    assert deleted == Counter({"wechat": 1, "weibo": 1})
    per_number = Counter(str(m["content"]["phone"]) for m in sandbox.messages("sms", "sms")
                         if "已撤回" in str(m["content"]["text"]))
    assert len(per_number) == 5 and set(per_number.values()) == {1}
