"""The periodic collection: one message per interval, whoever runs the maintenance pass, on both brokers."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import dramatiq
import pytest

from hub.metrics.collect import LAST_RUN_KEY
from hub.metrics.schedule import enqueue_if_due
from hub.queue import actors
from hub.queue.broker import make_broker
from hub.store.db import read_scope, session_scope
from hub.store.models import ChannelStateRow
from hub.timeutil import utcnow


@pytest.mark.parametrize("kind", ["embedded", "redis"])
def test_the_periodic_actor_runs_once_per_interval_on_the_embedded_broker_and_on_redis(
        kind: str, request: pytest.FixtureRequest) -> None:
    url = None if kind == "embedded" else request.getfixturevalue("redis_server").url
    broker = actors.bind(make_broker(url))
    actor: Any = actors.ACTORS["collect_metrics"]
    every = timedelta(minutes=60)
    now = utcnow()
    try:
        assert not enqueue_if_due(actor, sessions=session_scope, now=now, every=every)  # starts the clock only
        assert not enqueue_if_due(actor, sessions=session_scope, now=now + timedelta(minutes=30), every=every,
                                  reads=read_scope)  # not due: answered from a read-only connection
        assert enqueue_if_due(actor, sessions=session_scope, now=now + timedelta(minutes=61), every=every)
        # another process's maintenance pass a moment later finds the run already taken
        assert not enqueue_if_due(actor, sessions=session_scope, now=now + timedelta(minutes=62), every=every)
        worker = dramatiq.Worker(broker, worker_threads=1, worker_timeout=50)
        worker.start()
        try:
            broker.join("confirm", timeout=60_000)
            worker.join()
        finally:
            worker.stop()
        with session_scope() as s:
            row = s.get(ChannelStateRow, LAST_RUN_KEY)
            assert row is not None and "channels" in row.value
    finally:
        actors.bind(make_broker(None))
