"""Running the engine: the embedded worker inside a ``hub`` process, and the maintenance loop.

``start_embedded_worker()`` is what ``hub demo``, ``hub publish --wait`` and ``hub serve``
call when ``HUB_BROKER_URL`` is unset: a Dramatiq ``Worker`` over the in-process broker
plus a maintenance thread (journal replay, lease sweep, expiry, ``requeue_due``). Its
first pass hints every due row at once, which is how a restarted hub picks up
everything the crashed one left (the ledger is the queue of record).

``Maintenance`` is the same loop as Dramatiq middleware, for ``hub worker`` processes.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Any

import dramatiq
from dramatiq.middleware import Middleware
from sqlalchemy.exc import OperationalError

from hub.queue.context import Deps

log = logging.getLogger("hub.queue.runtime")

#: maintenance loops running in this process (``kick`` wakes them)
_running: list[MaintenanceLoop] = []


def kick() -> None:
    """Run a maintenance pass now in this process (after a retry, a TV collection, a publish)."""
    for loop in list(_running):
        loop.wake()


class MaintenanceLoop:
    """A daemon thread running ``sweeper.tick`` every ``settings.tick`` seconds until stopped."""

    def __init__(self, deps: Deps | None = None) -> None:
        self.deps = deps or Deps(actor="sweeper")
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self.passes = 0

    def run_once(self, *, grace: float | None = None) -> dict[str, Any]:
        from hub.queue import actors, sweeper

        counts = sweeper.tick(actors.hint, deps=self.deps, grace=grace)
        from hub.metrics.schedule import enqueue_if_due  # issue 15: the periodic metrics collection

        counts["metrics"] = enqueue_if_due(actors.ACTORS["collect_metrics"], sessions=self.deps.sessions,
                                           now=self.deps.clock(), reads=self.deps.reads)
        from hub.web.search import index_pending  # issue 19: a search write refused after a publish

        counts["search"] = index_pending()
        self.passes += 1
        return counts

    def _loop(self) -> None:
        first = True
        while not self._stop.is_set():
            try:
                self.run_once(grace=0 if first else None)
                first = False
            except OperationalError as exc:  # locked / unreachable database: the next pass retries
                log.warning("maintenance pass skipped: %s", str(exc.orig)[:200])
            except Exception:  # a bug must not kill the loop either; it is logged in full
                log.warning("maintenance pass failed", exc_info=True)
            self._wake.wait(self.deps.settings.tick)
            self._wake.clear()

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> MaintenanceLoop:
        self._thread = threading.Thread(target=self._loop, name="hub-maintenance", daemon=True)
        self._thread.start()
        _running.append(self)
        return self

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self in _running:
            _running.remove(self)
        if self._thread is not None:
            self._thread.join(timeout=30)


class Maintenance(Middleware):
    """Runs the maintenance loop inside each ``hub worker`` process."""

    def __init__(self) -> None:
        self.loop: MaintenanceLoop | None = None

    def after_worker_boot(self, broker: Any, worker: Any) -> None:
        self.loop = MaintenanceLoop().start()

    def before_worker_shutdown(self, broker: Any, worker: Any) -> None:
        if self.loop is not None:
            self.loop.stop()


@dataclass
class EmbeddedWorker:
    """Handle of a running embedded worker; ``stop()`` ends it (idempotent)."""

    worker: dramatiq.Worker
    maintenance: MaintenanceLoop
    broker: dramatiq.Broker
    _stopped: bool = field(default=False)

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        self.maintenance.stop()
        self.worker.stop(timeout=10_000)

    def __enter__(self) -> EmbeddedWorker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_embedded_worker(*, threads: int = 8, deps: Deps | None = None,
                          queues: tuple[str, ...] | None = None) -> EmbeddedWorker:
    """Start a worker in this process on the configured broker (in-process when ``HUB_BROKER_URL`` is unset).

    Embedded: one ``Worker`` over every queue (``queues`` None), the video renders included;
    the in-memory broker has no prefetch to tune. With a Redis/RabbitMQ URL it consumes
    ``queues`` (default: the quick ones, ``hub.queue.queues``) with their group's prefetch,
    like one ``hub worker`` group: Dramatiq wants one Worker per process, and one Worker
    has one prefetch, so the video queue is a ``hub worker --queues video`` of its own.
    """
    from hub.queue import actors
    from hub.queue import queues as kinds
    from hub.settings import get_settings

    broker = actors.rebind_from_settings()
    embedded = get_settings().broker_url is None
    if embedded:
        selected = set(queues) if queues else None
        prefetch = kinds.FAST_PREFETCH
    else:
        wanted = queues or tuple(q for q in kinds.QUEUES if kinds.PREFETCH[q] > 1)
        groups = kinds.worker_groups(wanted, threads=threads)
        if len(groups) != 1:
            from hub.errors import ConfigError

            raise ConfigError(f"one in-process worker consumes one queue group; got {[g.name for g in groups]}")
        selected, prefetch, threads = set(groups[0].queues), groups[0].prefetch, groups[0].threads
    worker = dramatiq.Worker(broker, queues=selected, worker_threads=threads, worker_timeout=100)
    worker.queue_prefetch = prefetch if not embedded else max(worker.queue_prefetch, prefetch)
    worker.start()
    loop = MaintenanceLoop(deps).start()
    return EmbeddedWorker(worker=worker, maintenance=loop, broker=broker)
