"""The engagement time series: one row per source × day × metric, upserted; a period's figure is a sum.

Two kinds of figures arrive:

* **cumulative** totals from a platform (WeChat reads so far, Weibo reposts so far, SMS
  delivered so far): the day's row becomes ``total − (sum of the source's earlier days)``,
  so re-collecting on the same day overwrites, and the series always sums to the total;
* **exact** day counts the hub counted itself (scans, portal page views): the row is the count.

A refused platform call writes nothing: the rows (and their ``updated_at``) stay as
they were, which is how the console shows "the last figures, of <date>".
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import Table, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from hub.store.models import EngagementRow, VersionRow
from hub.timeutil import SHANGHAI


def day_of(at: datetime) -> str:
    """The Beijing calendar day of ``at`` (the assessment's days are the county's)."""
    return at.astimezone(SHANGHAI).strftime("%Y-%m-%d")


@dataclass(frozen=True)
class Attribution:
    """Who a figure counts for: the record's version and its catalog facts."""

    record_id: str
    version: str
    channel: str
    item: str | None
    department: str | None
    level: str | None
    region: str | None

    def columns(self) -> dict[str, Any]:
        return {"record_id": self.record_id, "version": self.version, "channel": self.channel, "item": self.item,
                "department": self.department, "level": self.level, "region": self.region}


@dataclass(frozen=True)
class VersionFacts:
    """The catalog facts of a version a figure is attributed to (not its content: 10,000 of them are cheap)."""

    record_id: str
    version: str
    item: str | None
    department: str | None
    level: str | None
    region: str | None


def attributions(session: Session, versions: Iterable[str]) -> dict[str, VersionFacts]:
    """The facts of ``versions`` (one query per 500, without the versions' content)."""
    wanted = sorted(set(versions))
    out: dict[str, VersionFacts] = {}
    cols = (VersionRow.record_id, VersionRow.version, VersionRow.item, VersionRow.department, VersionRow.level,
            VersionRow.region)
    for i in range(0, len(wanted), 500):
        for row in session.execute(select(*cols).where(VersionRow.version.in_(wanted[i:i + 500]))):
            facts = VersionFacts(*row)
            out[facts.version] = facts
    return out


def attribute(row: VersionFacts, channel: str) -> Attribution:
    return Attribution(row.record_id, row.version, channel, row.item, row.department, row.level, row.region)


def _upsert(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """One prepared INSERT … ON CONFLICT DO UPDATE run as executemany (compiled once, not per row)."""
    if not rows:
        return
    table = cast(Table, EngagementRow.__table__)
    stmt: Any = (postgresql.insert(table) if session.get_bind().dialect.name == "postgresql"
                 else sqlite.insert(table))
    stmt = stmt.on_conflict_do_update(
        index_elements=["source", "day", "metric"],
        set_={"value": stmt.excluded.value, "updated_at": stmt.excluded.updated_at,
              "version": stmt.excluded.version})
    for i in range(0, len(rows), 5000):
        session.execute(stmt, list(rows[i:i + 5000]))


def put_cumulative(session: Session, figures: dict[str, tuple[Attribution, dict[str, int]]], *,
                   day: str, now: datetime) -> int:
    """Store cumulative totals ``{source: (attribution, {metric: total})}`` as the increase of ``day``.

    Returns the rows written. A total below what is already stored (a platform that
    recounted) makes the day's increase negative, so the series still sums to the total.
    """
    if not figures:
        return 0
    sources = list(figures)
    before: dict[tuple[str, str], int] = defaultdict(int)
    for i in range(0, len(sources), 500):
        q = (select(EngagementRow.source, EngagementRow.metric, func.sum(EngagementRow.value))
             .where(EngagementRow.source.in_(sources[i:i + 500]), EngagementRow.day < day)
             .group_by(EngagementRow.source, EngagementRow.metric))
        for source, metric, total in session.execute(q):
            before[(source, metric)] = int(total or 0)
    rows = [{"source": source, "day": day, "metric": metric, "value": int(total) - before[(source, metric)],
             "updated_at": now, **attr.columns()}
            for source, (attr, totals) in figures.items() for metric, total in totals.items()]
    _upsert(session, rows)
    return len(rows)


def put_exact(session: Session, counts: dict[tuple[str, str, str], tuple[Attribution, int]], *,
              now: datetime) -> int:
    """Store day counts ``{(source, day, metric): (attribution, count)}`` as they are."""
    rows = [{"source": source, "day": day, "metric": metric, "value": int(n), "updated_at": now, **attr.columns()}
            for (source, day, metric), (attr, n) in counts.items()]
    _upsert(session, rows)
    return len(rows)


@dataclass(frozen=True)
class Point:
    day: str
    channel: str
    metric: str
    value: int


def series(session: Session, record_id: str, *, since: date | None = None) -> list[Point]:
    """A record's figures per day, channel and metric (all its versions and sources summed)."""
    q = (select(EngagementRow.day, EngagementRow.channel, EngagementRow.metric, func.sum(EngagementRow.value))
         .where(EngagementRow.record_id == record_id)
         .group_by(EngagementRow.day, EngagementRow.channel, EngagementRow.metric)
         .order_by(EngagementRow.day))
    if since is not None:
        q = q.where(EngagementRow.day >= since.isoformat())
    return [Point(d, c, m, int(v or 0)) for d, c, m, v in session.execute(q)]


def totals(session: Session, record_id: str) -> dict[str, dict[str, int]]:
    """channel → metric → total of a record."""
    out: dict[str, dict[str, int]] = defaultdict(dict)
    for p in series(session, record_id):
        out[p.channel][p.metric] = out[p.channel].get(p.metric, 0) + p.value
    return dict(out)


def as_of(session: Session, record_id: str) -> dict[str, datetime]:
    """channel → when its figures of this record were last written (the "截至" date the console shows)."""
    q = (select(EngagementRow.channel, func.max(EngagementRow.updated_at))
         .where(EngagementRow.record_id == record_id).group_by(EngagementRow.channel))
    out: dict[str, datetime] = {}
    for channel, at in session.execute(q):
        if at is not None:  # max() keeps the column's type: an aware UTC datetime
            out[str(channel)] = at
    return out


__all__ = ["Attribution", "Point", "VersionFacts", "as_of", "attribute", "attributions", "day_of", "put_cumulative", "put_exact",
           "series", "totals"]
