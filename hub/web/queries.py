"""Read-only queries the portal needs: what is published, browse facets, related records.

The portal shows, for each record, its newest *published* version: a record
whose current version is a new draft keeps its published page until the
correction is published too.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hub.record import Record
from hub.store.models import ShortLinkRow, VersionRow

PUBLISHED = "published"


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
    """Published records matching the filters, newest first."""
    order = func.coalesce(VersionRow.published_at, VersionRow.created_at)
    query = select(VersionRow).where(VersionRow.state == PUBLISHED)
    for column, value in ((VersionRow.stage, stage), (VersionRow.domain, domain), (VersionRow.item, item),
                          (VersionRow.level, level), (VersionRow.region, region),
                          (VersionRow.department, department)):
        if value:
            query = query.where(column == value)
    rows = list(session.scalars(query.order_by(order.desc(), VersionRow.created_at.desc())))
    return _newest_first(rows)[offset:offset + limit]


def published_version(session: Session, record_id: str) -> VersionRow | None:
    """The newest published version of a record, or None when nothing of it is public."""
    order = func.coalesce(VersionRow.published_at, VersionRow.created_at)
    query = (select(VersionRow).where(VersionRow.record_id == record_id, VersionRow.state == PUBLISHED)
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
    rows = _newest_first(list(session.scalars(
        select(VersionRow).where(VersionRow.state == PUBLISHED).order_by(VersionRow.created_at.desc()))))
    stages = Counter(r.stage for r in rows if r.stage)
    domains = Counter(r.domain for r in rows if r.domain)
    levels = Counter(r.level for r in rows if r.level)
    regions = Counter(r.region for r in rows if r.region)
    items: dict[str, Counter[str]] = {}
    for r in rows:
        if r.domain and r.item:
            items.setdefault(r.domain, Counter())[r.item] += 1
    return Facets(
        stages=list(stages.items()),
        domains=domains.most_common(),
        items={d: c.most_common() for d, c in items.items()},
        levels=list(levels.items()),
        regions=regions.most_common(),
        total=len(rows),
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
