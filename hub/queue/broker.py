"""Which Dramatiq broker carries the hints: embedded (default), Redis or RabbitMQ from ``HUB_BROKER_URL``.

Embedded: an in-process ``EmbeddedBroker`` (Dramatiq's in-memory broker, run by a
``Worker`` in the ``hub`` process). It keeps nothing on disk on purpose: the
ledger is the queue of record, so a crash loses only hints, and the next start's
``requeue_due`` re-hints every due row. Why not ``dramatiq-sqlite``: see
``docs/decisions/2026-11-25-embedded-broker.md`` (no redelivery, crashing requeue,
throughput collapse).

Redis: Dramatiq's consumer sleeps 5–10 ms whenever its prefetch is full, which
caps a 2-thread worker near 500 messages/s with the default prefetch (threads × 2);
``QUEUE_PREFETCH`` raises it for the quick queues (performance.md §C); the video queue
takes one message at a time (``hub.queue.queues``).
"""

from __future__ import annotations

import os
from typing import Any

import dramatiq
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import Middleware

from hub.errors import ConfigError
from hub.queue.hooks import crash_point
from hub.queue.queues import FAST_PREFETCH as QUEUE_PREFETCH
from hub.queue.queues import QUEUES

__all__ = ["QUEUES", "QUEUE_PREFETCH", "EmbeddedBroker", "FaultPoints", "describe", "make_broker"]


class EmbeddedBroker(StubBroker):
    """The in-process broker of the embedded mode: in-memory hints over the ledger.

    Failures are logged and left to the ledger (``fail_fast`` off), unlike the test
    broker it derives from.
    """

    def __init__(self, middleware: list[Middleware] | None = None) -> None:
        super().__init__(middleware, fail_fast_default=False)


class FaultPoints(Middleware):
    """Calls the ``before_ack`` crash point after an actor finished, before the broker acks."""

    def after_process_message(self, broker: Any, message: Any, *, result: Any = None,
                              exception: BaseException | None = None) -> None:
        crash_point("before_ack")


def make_broker(url: str | None, *, prometheus: bool = False) -> dramatiq.Broker:
    """A broker for ``url`` (None → embedded), with the engine's middleware added."""
    broker: dramatiq.Broker
    if not url:
        broker = EmbeddedBroker()
    elif url.startswith(("redis://", "rediss://", "unix://")):
        from dramatiq.brokers.redis import RedisBroker

        heartbeat = int(os.environ.get("HUB_REDIS_HEARTBEAT_TIMEOUT_MS", "60000"))
        chance = int(os.environ.get("HUB_REDIS_MAINTENANCE_CHANCE", "1000"))
        broker = RedisBroker(url=url, heartbeat_timeout=heartbeat, maintenance_chance=chance)  # type: ignore[no-untyped-call]
    elif url.startswith(("amqp://", "amqps://")):
        try:
            from dramatiq.brokers.rabbitmq import RabbitmqBroker
        except ImportError as exc:  # pika is a dependency (dramatiq[rabbitmq]); this guards a trimmed install
            raise ConfigError("HUB_BROKER_URL is amqp:// but the 'pika' package is not installed "
                              "(pip install 'dramatiq[rabbitmq]')") from exc
        broker = RabbitmqBroker(url=url)
    else:
        raise ConfigError("HUB_BROKER_URL: expected redis://, rediss://, unix:// or amqp:// (or unset for embedded)")
    broker.add_middleware(FaultPoints())
    if prometheus:
        from dramatiq.middleware.prometheus import Prometheus

        broker.add_middleware(Prometheus())
    return broker


def describe(url: str | None) -> str:
    """The broker in words without credentials (for status output and logs)."""
    if not url:
        return "embedded (in-process, ledger-backed)"
    scheme, _, rest = url.partition("://")
    host = rest.rsplit("@", 1)[-1]
    return f"{scheme}://{host}"
