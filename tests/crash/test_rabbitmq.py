"""The distributed mode on RabbitMQ: ``hub worker`` on ``amqp://`` with a PostgreSQL ledger.

The same world as the Redis crash tests (sandbox, real adapters, ``hub worker`` in a
subprocess), with the broker and ledger fixtures overridden: a private rabbitmq-server
(one per session, queues emptied per test) and a PostgreSQL database of the test's
own. RabbitMQ redelivers a dead consumer's unacked messages as soon as its
connection drops (Redis waits for the heartbeat), so the crash case also checks that
an immediate redelivery of a message whose post already landed sends nothing again.
"""

from __future__ import annotations

from typing import Any

import pytest
from crashkit import CHANNELS, WorkerProcess, check, run_until_settled
from sandbox_world import rows_of

from hub.queue.broker import QUEUES
from hub.queue.publish import publish_and_enqueue
from hub.queue.states import State

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.postgres]


@pytest.fixture
def broker_url(rabbitmq_server: Any) -> str:
    """The session's rabbitmq-server, with Dramatiq's queues (and their delay and dead-letter queues) empty."""
    rabbitmq_server.delete_queues([name + suffix for name in QUEUES for suffix in ("", ".DQ", ".XQ")])
    return str(rabbitmq_server.url)


@pytest.fixture
def ledger(pg_database: str) -> str:
    """PostgreSQL only: RabbitMQ is a distributed-mode broker, and workers on several machines share no SQLite file."""
    return pg_database


def test_hub_worker_on_rabbitmq_publishes_every_channel_to_confirmed(crash_world: dict[str, Any]) -> None:
    """A record published through amqp:// reaches every channel once and every delivery ends confirmed."""
    from dramatiq.brokers.rabbitmq import RabbitmqBroker

    assert isinstance(crash_world["broker"], RabbitmqBroker)  # not silently the Redis of the other tests
    ids = publish_and_enqueue(crash_world["version"], actor="office", channels=CHANNELS)
    rows = run_until_settled(crash_world, ids)
    check(crash_world, rows)
    assert {r.channel: r.state for r in rows.values()} == {c: State.CONFIRMED for c in CHANNELS}


def test_a_worker_on_rabbitmq_killed_after_send_before_commit_does_not_post_again(
        crash_world: dict[str, Any]) -> None:
    """SIGKILL between the platform's acceptance and the ledger's commit: redelivered at once, never re-sent."""
    ids = publish_and_enqueue(crash_world["version"], actor="office", channels=CHANNELS)
    crashed = WorkerProcess(crash_world["log"], {"HUB_FAULT": "after_send:kill"})
    assert crashed.wait_exit(60) != 0  # Dramatiq's parent stops when its worker process is killed
    # the signature of this crash: the claim committed, the platform answered, the result never recorded
    assert State.SENDING in {r.state for r in rows_of(ids).values()}
    rows = run_until_settled(crash_world, ids)
    check(crash_world, rows)  # at most one publication per (channel, target, recipient)
    by_channel = {r.channel: r for r in rows.values()}
    for channel in ("web", "wechat", "weibo", "sms"):  # these can look up: never left in doubt
        assert by_channel[channel].state == State.CONFIRMED, (channel, by_channel[channel].last_error_msg)
    news = by_channel["newspaper"]
    assert news.state == State.CONFIRMED or (news.state == State.UNKNOWN and news.needs_attention)
