"""``/metrics`` through prometheus_client: a collector that reads the ledger at scrape time.

Why a custom collector and not Gauges set by the engine: the figures live in the
database (deliveries by channel and state, stuck deliveries, flags, published
records, short-link scans), written by whichever process delivered; reading them
at scrape time makes them true whichever web process answers, with nothing to
keep in sync. prometheus_client does the exposition (names, ``# HELP``/``# TYPE``,
escaping of label values), which hand-formatted text did not.
"""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from hub.store.db import session_scope
from hub.store.models import ShortLinkRow, VersionRow

#: the exposition content type prometheus_client renders (text format 0.0.4)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class LedgerCollector(Collector):
    """The engine's ledger gauges plus the portal's: published records and short-link scans per channel."""

    def collect(self) -> Iterable[Metric]:
        from hub.queue.status import ledger_families

        with session_scope() as s:
            yield from ledger_families(s)
            published = s.scalar(select(func.count(func.distinct(VersionRow.record_id)))
                                 .where(VersionRow.state == "published")) or 0
            scans = GaugeMetricFamily("hub_short_link_scans", "Short-link scans/opens by channel code.",
                                      labels=["channel"])
            for channel, n in s.execute(select(ShortLinkRow.channel, func.coalesce(func.sum(ShortLinkRow.scans), 0))
                                        .group_by(ShortLinkRow.channel)):
                scans.add_metric([str(channel)], n)
        yield GaugeMetricFamily("hub_published_records", "Records with a published version.", value=published)
        yield scans


def make_registry() -> CollectorRegistry:
    """The app's own registry (not the process-global one: tests build many apps in one process)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(LedgerCollector())
    return registry


def exposition(registry: CollectorRegistry) -> bytes:
    """The registry's metrics in Prometheus text format (collected now)."""
    return generate_latest(registry)
