"""Worker crashes and broker loss with a real Redis and ``hub worker`` in a subprocess (plan E).

For each fault: the sandbox shows at most one publication per (channel, target, recipient),
every delivery ends final or unknown-with-a-reason, and nothing stays queued or sending.
Each test runs twice: on SQLite (one machine) and on a PostgreSQL database of its own
(the distributed mode: Redis + PostgreSQL), through the ``ledger`` fixture.
"""

from __future__ import annotations

from typing import Any

import pytest
from crashkit import CHANNELS, WorkerProcess, check, run_until_settled

from hub.queue.publish import publish_and_enqueue
from hub.queue.states import State

pytestmark = [pytest.mark.integration, pytest.mark.slow]

# after_commit and before_ack leave the same state behind (recorded, not acked); before_ack is the later one
@pytest.mark.parametrize("point", ["before_send", "after_send", "before_ack"])
def test_a_worker_killed_at_each_crash_point_publishes_each_post_once(crash_world: dict[str, Any], point: str) -> None:
    ids = publish_and_enqueue(crash_world["version"], actor="office", channels=CHANNELS)
    crashed = WorkerProcess(crash_world["log"], {"HUB_FAULT": f"{point}:kill"})
    assert crashed.wait_exit(60) != 0  # Dramatiq's parent stops when its worker process is killed
    rows = run_until_settled(crash_world, ids)
    check(crash_world, rows)
    by_channel = {r.channel: r for r in rows.values()}
    for channel in ("web", "wechat", "weibo", "sms"):  # these can look up: never left in doubt
        assert by_channel[channel].state == State.CONFIRMED, (channel, by_channel[channel].last_error_msg)
    news = by_channel["newspaper"]
    assert news.state == State.CONFIRMED or (news.state == State.UNKNOWN and news.needs_attention)


def test_redis_lost_without_saving_while_deliveries_are_queued(crash_world: dict[str, Any],
                                                                redis_server: Any) -> None:
    ids = publish_and_enqueue(crash_world["version"], actor="office", channels=CHANNELS)
    redis = redis_server  # the same server crash_world publishes through
    redis.shutdown_nosave()  # the hints are gone; the ledger still has every row
    redis.start()  # same port, empty
    rows = run_until_settled(crash_world, ids)
    check(crash_world, rows)
    assert all(r.state == State.CONFIRMED for r in rows.values())


def test_duplicate_messages_in_redis_publish_once(crash_world: dict[str, Any]) -> None:
    from hub.queue import actors

    ids = publish_and_enqueue(crash_world["version"], actor="office", channels=CHANNELS)
    for _ in range(4):
        for i in ids:
            actors.hint("deliver", i, None)
    rows = run_until_settled(crash_world, ids)
    check(crash_world, rows)
    assert all(r.state == State.CONFIRMED for r in rows.values())
