"""The periodic collection: the maintenance pass enqueues ``collect_metrics`` when it is due.

Every process runs the maintenance loop (``hub.queue.runtime``): embedded workers and each
``hub worker`` on Redis/RabbitMQ. ``enqueue_if_due`` makes the schedule shared across them:
the next run time lives in ``channel_state`` (``metrics-next-run``) and is advanced with one
conditional UPDATE, so only the process that wins the update sends the message, whatever
the broker. The actor (``hub.queue.actors.collect_metrics``, queue ``confirm``: a read like
a status poll) runs ``hub.metrics.collect.collect``. The interval is
``[collect] interval_minutes`` of ``config/assessment.toml``.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update

from hub.store.models import ChannelStateRow

log = logging.getLogger("hub.metrics")

NEXT_RUN_KEY = "metrics-next-run"


def interval() -> timedelta:
    from hub.metrics.assessment import load_config

    return timedelta(minutes=float(load_config().collect_interval_minutes))


def enqueue_if_due(send: Any, *, sessions: Any, now: datetime, every: timedelta | None = None,
                   reads: Any = None) -> bool:
    """Send one ``collect_metrics`` message when the shared next-run time has passed; True if sent.

    ``reads`` (a read-only connection factory, ``Deps.reads``) lets the common case — not due —
    cost no write transaction (on SQLite every ``session_scope`` takes the write lock).
    """
    if reads is not None:
        with reads() as c:
            due = c.execute(select(ChannelStateRow.expires_at).where(ChannelStateRow.key == NEXT_RUN_KEY)).first()
        if due is not None and due[0] is not None and due[0] > now:
            return False
    every = every or interval()
    with sessions() as s:
        row = s.get(ChannelStateRow, NEXT_RUN_KEY)
        if row is None:
            # the first pass of a new installation only starts the clock: a worker that starts
            # does not begin with a burst of platform calls (and tests' short-lived workers make none)
            s.add(ChannelStateRow(key=NEXT_RUN_KEY, value={"every_s": every.total_seconds()},
                                  expires_at=now + every, updated_at=now))
            won = False
        else:
            res = s.execute(update(ChannelStateRow)
                            .where(ChannelStateRow.key == NEXT_RUN_KEY,
                                   or_(ChannelStateRow.expires_at.is_(None), ChannelStateRow.expires_at <= now))
                            .values(expires_at=now + every, updated_at=now)
                            .returning(ChannelStateRow.key))
            won = res.first() is not None
    if won:
        try:
            send.send()
        except Exception as exc:  # the broker is down: the next pass after the interval tries again
            log.warning("could not enqueue collect_metrics: %s", type(exc).__name__)
            return False
    return won


__all__ = ["NEXT_RUN_KEY", "enqueue_if_due", "interval"]
