"""The Dramatiq actors: thin wrappers that carry only a delivery id and call the plain functions.

Why thin: everything that matters (claim, send, record, retry policy) lives in
``deliver_one`` / ``reconcile_one`` / ``confirm_one`` and the ledger, testable with no
broker. Messages carry an integer and nothing else (never phone numbers, text or
tokens: F16, F17). Each actor sets ``max_retries``, backoff, ``time_limit``, ``max_age``
and ``throws`` explicitly: Dramatiq's defaults (20 retries over a week, 10 min) are
wrong for publishing.

The broker is chosen at import from ``HUB_BROKER_URL`` (``bind`` switches it, for tests
and benchmarks that run several brokers in one process).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import Any

import dramatiq

from hub.errors import DuplicateRejected, NotFound, Permanent, Retryable
from hub.queue import queues
from hub.queue.broker import make_broker
from hub.queue.confirm import confirm_one
from hub.queue.context import Deps
from hub.queue.deliver import Outcome, deliver_one
from hub.queue.policy import backoff, engine_settings
from hub.queue.reconcile import reconcile_one
from hub.queue.states import CLAIMABLE, State
from hub.settings import get_settings

log = logging.getLogger("hub.queue.actors")

_broker = make_broker(get_settings().broker_url, prometheus=os.environ.get("HUB_WORKER_PROMETHEUS") == "1")
dramatiq.set_broker(_broker)

MINUTE = 60_000
DAY = 86_400_000

#: builds the engine's world for each message; tests of the actor layer swap it (fake clock/channel)
deps_factory: Callable[[], Deps] = Deps


def _retry_ms(delay_s: float | None) -> int:
    return max(0, int((delay_s or 0) * 1000))


def follow(out: Outcome) -> None:
    """Hint the next step an outcome asks for (a retry is a Dramatiq ``Retry`` with the ledger's delay)."""
    if out.then == "deliver" and out.state in CLAIMABLE:
        raise dramatiq.Retry(delay=_retry_ms(out.delay))
    if out.then:
        hint(out.then, out.delivery_id, out.delay)


def _deliver(delivery_id: int) -> None:
    """Deliver one row (claim → send → record); a busy database or a Retryable becomes a delayed retry."""
    try:
        out = deliver_one(int(delivery_id), deps=deps_factory())
    except Retryable as exc:
        raise dramatiq.Retry(delay=_retry_ms(backoff(1, engine_settings()))) from exc
    follow(out)


@dramatiq.actor(queue_name=queues.DELIVERIES, max_retries=12, min_backoff=1_000, max_backoff=10 * MINUTE,
                time_limit=10 * MINUTE, max_age=7 * DAY, throws=(Permanent, DuplicateRejected, NotFound),
                on_retry_exhausted="give_up")
def deliver(delivery_id: int) -> None:
    """Deliver one row of a quick channel (``hub.queue.queues``); Dramatiq's retries stay on this queue."""
    _deliver(delivery_id)


@dramatiq.actor(actor_name=queues.DELIVER_ACTOR[queues.VIDEO], queue_name=queues.VIDEO, max_retries=12,
                min_backoff=1_000, max_backoff=10 * MINUTE, time_limit=30 * MINUTE, max_age=7 * DAY,
                throws=(Permanent, DuplicateRejected, NotFound), on_retry_exhausted="give_up")
def deliver_video(delivery_id: int) -> None:
    """Deliver one row whose video is rendered first (minutes: a longer time limit, its own queue)."""
    _deliver(delivery_id)


@dramatiq.actor(queue_name=queues.DELIVERIES, max_retries=12, min_backoff=1_000, max_backoff=10 * MINUTE,
                time_limit=2 * MINUTE, max_age=7 * DAY, throws=(NotFound,))
def reconcile(delivery_id: int) -> None:
    """Resolve an ``unknown`` row by lookup (or hold it for a person); never a blind resend."""
    out = reconcile_one(int(delivery_id), deps=deps_factory())
    if out.then == "deliver":
        hint("deliver", out.delivery_id, None)
    elif out.then:
        hint(out.then, out.delivery_id, out.delay)


@dramatiq.actor(queue_name=queues.CONFIRM, max_retries=12, min_backoff=5_000, max_backoff=10 * MINUTE,
                time_limit=2 * MINUTE, max_age=7 * DAY, throws=(NotFound,))
def confirm(delivery_id: int) -> None:
    """Poll a ``submitted`` row's status; schedules its own next poll while pending."""
    out = confirm_one(int(delivery_id), deps=deps_factory())
    if out.then:
        hint(out.then, out.delivery_id, out.delay)


@dramatiq.actor(queue_name=queues.DELIVERIES, max_retries=3, min_backoff=1_000, max_backoff=MINUTE,
                time_limit=MINUTE, max_age=7 * DAY)
def give_up(message: dict[str, Any], retry_info: dict[str, Any]) -> None:
    """Dramatiq exhausted its retries for a message: the row fails with the reason (F10)."""
    from hub.queue import ledger
    from hub.store.db import session_scope
    from hub.store.models import DeliveryRow
    from hub.timeutil import utcnow

    args = message.get("args") or []
    if not args:
        return
    delivery_id = int(args[0])
    with session_scope() as s:
        row = s.get(DeliveryRow, delivery_id)
        if row is None or row.state not in (State.QUEUED, State.RETRY_WAIT):
            return
        ledger.move(s, delivery_id, row.state, State.FAILED, actor=ledger.worker_name(), now=utcnow(),
                    error_class="RetriesExhausted",
                    message=f"gave up after {retry_info.get('retries')} broker retries "
                            f"(the database or the adapter kept failing)",
                    values={"next_attempt_at": None})


@dramatiq.actor(queue_name=queues.CONFIRM, max_retries=0, min_backoff=MINUTE, max_backoff=10 * MINUTE,
                time_limit=30 * MINUTE, max_age=DAY)
def collect_metrics() -> None:
    """One engagement-metrics pass (hub.metrics.collect); the maintenance pass schedules it."""
    from hub.metrics.collect import collect

    collect()


ACTORS: dict[str, dramatiq.Actor[Any, Any]] = {"deliver": deliver, "deliver_video": deliver_video,
                                                "reconcile": reconcile, "confirm": confirm,
                                                "give_up": give_up, "collect_metrics": collect_metrics}


def _route(delivery_id: int) -> str:
    """The send actor of a row by its channel and purpose (``deliver`` when the row cannot be read)."""
    from sqlalchemy import select

    from hub.store.db import read_scope
    from hub.store.models import DeliveryRow

    try:
        with read_scope() as conn:
            row = conn.execute(select(DeliveryRow.channel, DeliveryRow.purpose)
                               .where(DeliveryRow.id == int(delivery_id))).first()
    except Exception:  # noqa: BLE001 - a hint is best effort: the deliver actor reads the row itself
        log.warning("could not read delivery %s to pick its queue; hinting the deliveries queue", delivery_id)
        return "deliver"
    return queues.deliver_actor(row.channel, row.purpose) if row is not None else "deliver"


def hint(actor_name: str, delivery_id: int, delay_s: float | None) -> None:
    """Send a hint message; a broker that is down is logged and left to ``requeue_due``.

    ``"deliver"`` is routed to the queue of the row's kind of work by one read of the row
    (``hub.queue.queues``); callers that know the channel name the actor themselves
    (``deliver_actor(channel, purpose)``: publish, the sweeper).
    """
    if actor_name == "deliver":
        actor_name = _route(delivery_id)
    delay = _retry_ms(delay_s) if delay_s else None
    try:
        ACTORS[actor_name].send_with_options(args=(int(delivery_id),), delay=delay)
    except Exception as exc:  # the broker is down: the ledger still has the row
        log.warning("could not enqueue %s(%s): %s; requeue_due will pick it up", actor_name, delivery_id,
                    type(exc).__name__)


def bind(broker: dramatiq.Broker) -> dramatiq.Broker:
    """Move every actor to ``broker`` (tests and benchmarks switch brokers within one process)."""
    global _broker
    _broker = broker
    dramatiq.set_broker(broker)
    for actor in ACTORS.values():
        actor.broker = broker
        broker.declare_actor(actor)
    return broker


def rebind_from_settings(**kwargs: Any) -> dramatiq.Broker:
    """A new broker from the current settings, with every actor on it."""
    return bind(make_broker(get_settings().broker_url, **kwargs))


if os.environ.get("HUB_WORKER_MAINTENANCE") == "1":  # `hub worker`: each process runs the sweeper too
    from hub.logs import configure_worker

    configure_worker()  # Dramatiq's CLI set up this process's logging; give it the hub's filter and format
    from hub.queue.runtime import Maintenance

    _broker.add_middleware(Maintenance())
