"""The engine's queues by kind of work, and which worker group consumes which.

Why queues by kind: a video package takes minutes of ffmpeg (and TTS) while a WeChat or
SMS send takes milliseconds. On one queue with a high prefetch, one worker would hold
dozens of render messages it cannot start for minutes, while other workers sit idle and
the quick sends queue behind the renders. So:

* ``deliveries`` — sends (and reconciliations) of every channel whose rendition is quick;
  prefetch ``FAST_PREFETCH`` (performance.md §C: Dramatiq's Redis consumer sleeps whenever
  its prefetch is full, so a small prefetch caps a worker's throughput);
* ``confirm`` — status polls and the periodic metrics collection; same prefetch;
* ``video`` — deliveries whose rendition kind is slow to render (``SLOW_KINDS``: the TV
  package and the village screens' video); prefetch 1, so a worker takes the next render
  only when the current one is done, and the others' renders stay on the broker for any
  idle video worker (``hub worker --queues video`` on a machine of its own).

A withdrawal renders nothing, so a withdrawal of a TV delivery goes on ``deliveries``:
a take-down must not wait behind renders.

Dramatiq sets one prefetch per ``Worker`` (``Worker.queue_prefetch``, or the
``dramatiq_queue_prefetch`` variable its CLI reads) and wants one ``Worker`` per process,
so queues of different prefetch run as different worker groups (``worker_groups``):
``hub worker`` starts one Dramatiq CLI per group. The embedded broker ignores prefetch
(its consumer hands over whatever is queued), so the in-process worker of ``hub serve`` /
``hub demo`` consumes every queue with no flag.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass

from hub.errors import ConfigError, InputError

DELIVERIES = "deliveries"
CONFIRM = "confirm"
VIDEO = "video"
#: every queue the engine uses, in the order ``hub worker`` lists them
QUEUES = (DELIVERIES, CONFIRM, VIDEO)

#: prefetch per consumer of the quick queues (performance.md: 32–256)
FAST_PREFETCH = 64
#: prefetch per queue: the slow renders are taken one at a time
PREFETCH = {DELIVERIES: FAST_PREFETCH, CONFIRM: FAST_PREFETCH, VIDEO: 1}

#: rendition kinds whose render takes minutes: their deliveries go on the ``video`` queue
SLOW_KINDS = frozenset({"video"})

#: the actor that sends a delivery, per queue (the same function on two queues: ``hub.queue.actors``)
DELIVER_ACTOR = {DELIVERIES: "deliver", VIDEO: "deliver_video"}


def deliver_queue(channel: str, purpose: str | None = None) -> str:
    """The queue of a delivery's send: ``video`` when its channel's rendition is slow to render.

    A channel the registry does not know (a test's fake channel) is quick; a withdrawal
    renders nothing and is quick whatever its channel.
    """
    if purpose == "withdraw":
        return DELIVERIES
    from hub.channels.registry import rendition_kind

    try:
        kind = rendition_kind(channel)
    except (ConfigError, KeyError):
        return DELIVERIES
    return VIDEO if kind in SLOW_KINDS else DELIVERIES


def deliver_actor(channel: str, purpose: str | None = None) -> str:
    """The actor name that sends this delivery (``deliver`` or ``deliver_video``)."""
    return DELIVER_ACTOR[deliver_queue(channel, purpose)]


def parse_queues(text: str | None) -> tuple[str, ...]:
    """``"video"`` / ``"deliveries,confirm"`` → the queue names (None or empty → every queue).

    Unknown names are refused with the known ones listed (a typo would otherwise start a
    worker that consumes nothing and says nothing).
    """
    if text is None or not text.strip():
        return QUEUES
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = sorted(set(names) - set(QUEUES))
    if unknown:
        raise InputError(f"--queues: unknown queue(s) {', '.join(unknown)}; known: {', '.join(QUEUES)}")
    return tuple(q for q in QUEUES if q in names)


@dataclass(frozen=True, slots=True)
class QueueGroup:
    """Queues one Dramatiq worker process consumes together: they share its prefetch and threads."""

    queues: tuple[str, ...]
    prefetch: int
    threads: int

    @property
    def name(self) -> str:
        return "+".join(self.queues)


def worker_groups(queues: Iterable[str], *, threads: int) -> list[QueueGroup]:
    """The worker groups for ``queues``: the quick queues together, the video queue on its own.

    The quick group's prefetch is ``dramatiq_queue_prefetch`` when the operator set it,
    else ``FAST_PREFETCH``; the video group always takes one message at a time with one
    thread (more threads would sit idle behind a prefetch of 1: a machine renders more
    videos at once with more processes, ``hub worker --queues video --processes N``).
    """
    wanted = [q for q in QUEUES if q in set(queues)]
    fast = [q for q in wanted if PREFETCH[q] > 1]
    groups: list[QueueGroup] = []
    if fast:
        prefetch = int(os.environ.get("dramatiq_queue_prefetch") or FAST_PREFETCH)
        groups.append(QueueGroup(tuple(fast), prefetch, threads))
    if VIDEO in wanted:
        groups.append(QueueGroup((VIDEO,), PREFETCH[VIDEO], 1))
    return groups
