"""Read-only queries the portal needs: what is published, browse facets, related records.

The portal shows, for each record, its newest *published* version: a record
whose current version is a new draft keeps its published page until the
correction is published too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, func, select
from sqlalchemy.orm import Session, defer

from hub.channels.web import WebChannel
from hub.record import Record, Stage
from hub.store.models import DeliveryRow, ShortLinkRow, VersionRow
from hub.timeutil import utcnow

PUBLISHED = "published"


def _not_scheduled() -> ColumnElement[bool]:
    """A version whose portal page is 定时 (a web delivery waiting for its time) is not public yet."""
    return ~exists().where(and_(DeliveryRow.version == VersionRow.version, DeliveryRow.channel == WebChannel.name,
                                DeliveryRow.state == "queued", DeliveryRow.scheduled_at > utcnow()))


def _newest_first(rows: list[VersionRow]) -> list[VersionRow]:
    """One row per record (its newest published version), newest publication first."""
    seen: set[str] = set()
    out: list[VersionRow] = []
    for row in rows:
        if row.record_id not in seen:
            seen.add(row.record_id)
            out.append(row)
    return out


def published(session: Session, *, stage: str | None = None, domain: str | None = None, item: str | None = None,
              level: str | None = None, region: str | None = None, department: str | None = None,
              limit: int = 20, offset: int = 0) -> list[VersionRow]:
    """Published records matching the filters, newest first (one row per record).

    Reads in windows rather than the whole table: a record rarely has more than one
    published version, so the first window almost always suffices.
    """
    order = func.coalesce(VersionRow.published_at, VersionRow.created_at)
    # listings never need the canonical JSON: leave the largest column in the database
    query = (select(VersionRow).options(defer(VersionRow.content))
             .where(VersionRow.state == PUBLISHED, _not_scheduled()))
    for column, value in ((VersionRow.stage, stage), (VersionRow.domain, domain), (VersionRow.item, item),
                          (VersionRow.level, level), (VersionRow.region, region),
                          (VersionRow.department, department)):
        if value:
            query = query.where(column == value)
    query = query.order_by(order.desc(), VersionRow.created_at.desc(), VersionRow.version)
    want = offset + limit
    window = max(2 * want, 50)
    while True:
        rows = list(session.scalars(query.limit(window)))
        unique = _newest_first(rows)
        if len(unique) >= want or len(rows) < window:
            return unique[offset:want]
        window *= 4


def published_version(session: Session, record_id: str) -> VersionRow | None:
    """The newest published version of a record, or None when nothing of it is public."""
    order = func.coalesce(VersionRow.published_at, VersionRow.created_at)
    query = (select(VersionRow).where(VersionRow.record_id == record_id, VersionRow.state == PUBLISHED,
                                      _not_scheduled())
             .order_by(order.desc(), VersionRow.created_at.desc()).limit(1))
    return session.scalars(query).first()


@dataclass(frozen=True, slots=True)
class Facets:
    """Counts of published records per stage, domain (with items), level and region."""

    stages: list[tuple[str, int]]
    domains: list[tuple[str, int]]
    items: dict[str, list[tuple[str, int]]]
    levels: list[tuple[str, int]]
    regions: list[tuple[str, int]]
    total: int


def facets(session: Session) -> Facets:
    """Counts of published records per facet, computed in the database (GROUP BY, distinct records)."""
    base = select(func.count(func.distinct(VersionRow.record_id))).where(VersionRow.state == PUBLISHED)

    def counts(column: Any) -> list[tuple[str, int]]:
        q = (select(column, func.count(func.distinct(VersionRow.record_id)))
             .where(VersionRow.state == PUBLISHED, column.is_not(None)).group_by(column)
             .order_by(func.count(func.distinct(VersionRow.record_id)).desc(), column))
        return [(str(k), int(n)) for k, n in session.execute(q)]

    items: dict[str, list[tuple[str, int]]] = {}
    q = (select(VersionRow.domain, VersionRow.item, func.count(func.distinct(VersionRow.record_id)))
         .where(VersionRow.state == PUBLISHED, VersionRow.domain.is_not(None), VersionRow.item.is_not(None))
         .group_by(VersionRow.domain, VersionRow.item).order_by(VersionRow.domain, VersionRow.item))
    for domain, item, n in session.execute(q):
        items.setdefault(str(domain), []).append((str(item), int(n)))
    order = {s.value: i for i, s in enumerate(Stage)}
    return Facets(
        stages=sorted(counts(VersionRow.stage), key=lambda kv: order.get(kv[0], 99)),
        domains=counts(VersionRow.domain),
        items=items,
        levels=counts(VersionRow.level),
        regions=counts(VersionRow.region),
        total=int(session.scalar(base) or 0),
    )


def interpretations(session: Session, record_id: str) -> list[VersionRow]:
    """Published 解读 records that point at ``record_id`` (the other half of the two-way link)."""
    rows = list(session.scalars(select(VersionRow).where(VersionRow.interprets == record_id,
                                                         VersionRow.state == PUBLISHED)
                                .order_by(VersionRow.created_at.desc())))
    return _newest_first(rows)


def short_link(session: Session, version: str, channel: str) -> ShortLinkRow | None:
    return session.scalars(select(ShortLinkRow).where(ShortLinkRow.version == version,
                                                      ShortLinkRow.channel == channel)).first()


def related_title(session: Session, record_id: str) -> str | None:
    row = published_version(session, record_id)
    return None if row is None else row.title


def body_is_empty(record: Record) -> bool:
    return not record.body
