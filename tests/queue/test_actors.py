"""The actor layer over the embedded broker: duplicates are no-ops, retries carry the ledger's delay,
messages carry ids only, and a restarted embedded worker picks up every due row."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import dramatiq
import pytest
from engine_fakes import Engine

from hub.errors import RateLimited
from hub.queue import actors
from hub.queue.broker import EmbeddedBroker, make_broker
from hub.queue.runtime import start_embedded_worker
from hub.queue.states import State


class Capture(dramatiq.Middleware):
    def __init__(self) -> None:
        self.messages: list[tuple[Any, int | None]] = []

    def before_enqueue(self, broker: Any, message: Any, delay: int | None) -> None:
        self.messages.append((message, delay))


@pytest.fixture
def embedded(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[EmbeddedBroker, Capture]]:
    broker = make_broker(None)
    capture = Capture()
    broker.add_middleware(capture)
    actors.bind(broker)
    monkeypatch.setattr(actors, "deps_factory", lambda: engine.deps())
    yield broker, capture  # type: ignore[misc]
    actors.bind(make_broker(None))


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_duplicate_messages_send_once(engine: Engine, embedded: tuple[EmbeddedBroker, Capture]) -> None:
    broker, _ = embedded
    d = engine.add()
    for _ in range(6):
        actors.deliver.send(d)
    worker = dramatiq.Worker(broker, worker_threads=4, worker_timeout=50)
    worker.start()
    try:
        broker.join("deliveries", timeout=10_000)
    finally:
        worker.stop()
    assert engine.channels["fake"].platform.sends == 1
    assert engine.row(d).state == State.CONFIRMED


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_rate_limited_becomes_a_dramatiq_retry_after_the_platforms_delay(
        engine: Engine, embedded: tuple[EmbeddedBroker, Capture]) -> None:
    engine.channels["fake"].script = [RateLimited("429", retry_after=7)]
    d = engine.add()
    with pytest.raises(dramatiq.Retry) as info:
        actors.deliver.fn(d)
    assert info.value.delay == 7000
    assert engine.row(d).state == State.RETRY_WAIT


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_actor_messages_carry_only_delivery_ids(engine: Engine, embedded: tuple[EmbeddedBroker, Capture]) -> None:
    _, capture = embedded
    d = engine.add()
    actors.hint("deliver", d, None)
    actors.hint("confirm", d, 5)
    for message, _delay in capture.messages:
        assert message.args == (d,) and message.kwargs == {}
    assert [delay for _, delay in capture.messages] == [None, 5000]


def test_every_actor_sets_its_limits_explicitly() -> None:
    for name, actor in actors.ACTORS.items():
        for option in ("max_retries", "min_backoff", "max_backoff", "time_limit", "max_age"):
            assert option in actor.options, f"{name} lacks {option}"


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_a_restarted_embedded_worker_picks_up_every_due_row(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    # rows left by a hub process that died after committing them and before any hint went out
    ids = [engine.add(version=c * 64) for c in "abcdef"]
    monkeypatch.setattr(actors, "deps_factory", lambda: engine.deps())
    handle = start_embedded_worker(threads=2, deps=engine.deps())
    try:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and any(engine.row(i).state != State.CONFIRMED for i in ids):
            time.sleep(0.1)
    finally:
        handle.stop()
        actors.bind(make_broker(None))
    assert [engine.row(i).state for i in ids] == [State.CONFIRMED] * 6
    assert engine.channels["fake"].platform.sends == 6
