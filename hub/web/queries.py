"""Read-only queries the portal needs: what is published, browse facets, related records.

The portal shows, for each record, its newest *published* version: a record
whose current version is a new draft keeps its published page until the
correction is published too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, and_, exists, func, select, tuple_
from sqlalchemy.orm import Session, defer

from hub.channels.web import WebChannel
from hub.record import Record, Stage
from hub.store.models import DeliveryRow, ShortLinkRow, VersionRow
from hub.timeutil import utcnow

PUBLISHED = "published"
T = TypeVar("T")


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


def listing_order() -> tuple[Any, ...]:
    """The portal's order of published versions: newest publication first (one definition for every listing)."""
    order = func.coalesce(VersionRow.published_at, VersionRow.created_at)
    # every key descending, as in the ix_versions_listing* indexes read backwards: no sort of the rows
    return order.desc(), VersionRow.created_at.desc(), VersionRow.version.desc()


ListingKey = tuple[datetime, datetime, str]


def listing_key(row: VersionRow) -> ListingKey:
    """Where ``row`` sorts in ``listing_order`` (the same three keys, as values)."""
    return (row.published_at or row.created_at, row.created_at, row.version)


def count_newer(session: Session, key: ListingKey, *, exclude: str, stage: str | None = None,
                domain: str | None = None, level: str | None = None) -> int:
    """How many records (other than ``exclude``) a listing shows at or before ``key`` (``count_newer_query``)."""
    return int(session.scalar(count_newer_query(key, exclude=exclude, stage=stage, domain=domain, level=level)) or 0)


def count_newer_query(key: ListingKey, *, exclude: str, stage: str | None = None, domain: str | None = None,
                      level: str | None = None) -> Select[Any]:
    """The count of records (other than ``exclude``) a listing shows at or before ``key`` in its order.

    Read through the listing's index from its newest end down to ``key``: the cost grows with the answer,
    not with the listing (the static site's page update after a publication, correction or withdrawal).
    """
    order = func.coalesce(VersionRow.published_at, VersionRow.created_at)
    query = _filtered(select(func.count(func.distinct(VersionRow.record_id)))
                      .where(VersionRow.state == PUBLISHED, _not_scheduled(), VersionRow.record_id != exclude,
                             order >= key[0],  # the index range (SQLite does not range-scan the row value)
                             tuple_(order, VersionRow.created_at, VersionRow.version) >= tuple_(*key)),
                      {"stage": stage, "domain": domain, "level": level})
    return query  # type: ignore[no-any-return]


def _filtered(query: Any, filters: dict[str, str | None]) -> Any:
    for name, value in filters.items():
        if value:
            query = query.where(getattr(VersionRow, name) == value)
    return query


def scheduled_versions(session: Session) -> list[str]:
    """Versions whose portal page waits for its 定时 time (a queued web delivery scheduled later): few."""
    return list(session.scalars(select(DeliveryRow.version).where(
        DeliveryRow.state == "queued", DeliveryRow.channel == WebChannel.name, DeliveryRow.scheduled_at > utcnow())))


def count_published(session: Session, *, stage: str | None = None, domain: str | None = None,
                    level: str | None = None) -> int:
    """How many records ``published`` lists with these filters (distinct records, counted by the database)."""
    query = _filtered(select(func.count(func.distinct(VersionRow.record_id))).where(VersionRow.state == PUBLISHED),
                      {"stage": stage, "domain": domain, "level": level})
    # the few versions waiting for their 定时 time, instead of a lookup per published row (index only)
    waiting = scheduled_versions(session)
    if waiting:
        query = query.where(VersionRow.version.not_in(waiting))
    return int(session.scalar(query) or 0)


def published_query(*, stage: str | None = None, domain: str | None = None, item: str | None = None,
                    level: str | None = None, region: str | None = None,
                    department: str | None = None) -> Select[Any]:
    """The statement behind ``published``: published, not 定时-waiting versions in the portal's order.

    With no filter, or one of stage, domain or level, the database reads it through an ``ix_versions_listing*``
    index and stops after the page (tests/web/test_portal_plans.py checks the plan on SQLite and PostgreSQL).
    """
    # listings never need the canonical JSON nor the JSON columns: left in the database (each row decoded costs)
    query = _filtered(select(VersionRow).options(defer(VersionRow.content), defer(VersionRow.source),
                                                 defer(VersionRow.warnings))
                      .where(VersionRow.state == PUBLISHED, _not_scheduled()),
                      {"stage": stage, "domain": domain, "item": item, "level": level, "region": region,
                       "department": department})
    return query.order_by(*listing_order())  # type: ignore[no-any-return]


def published(session: Session, *, stage: str | None = None, domain: str | None = None, item: str | None = None,
              level: str | None = None, region: str | None = None, department: str | None = None,
              limit: int = 20, offset: int = 0) -> list[VersionRow]:
    """Published records matching the filters, newest first (one row per record).

    Reads in windows rather than the whole table: a record rarely has more than one
    published version, so the first window almost always suffices.
    """
    query = published_query(stage=stage, domain=domain, item=item, level=level, region=region,
                            department=department)
    want = offset + limit
    window = 2 * want + 2  # twice the page: a record rarely has two published versions (a correction)
    while True:
        rows = list(session.scalars(query.limit(window)))
        unique = _newest_first(rows)
        if len(unique) >= want or len(rows) < window:
            return unique[offset:want]
        window *= 4


#: The portal's cached page data: (what, key, workflow generation, versions waiting for 定时) → value.
_CACHE: dict[tuple[Any, ...], Any] = {}
_CACHE_SIZE = 256


def cached(session: Session, what: str, key: tuple[Any, ...], build: Callable[[], T]) -> T:
    """``build()``, reused while nothing the portal lists changed (issue 19: home ≥ 200 req/s).

    What a listing shows changes only when the workflow publishes or withdraws (``counts.generation``,
    bumped in the same transaction, so every process sees it) or when a 定时 version's time comes
    (the set of ``scheduled_versions`` changes). Checking both is two index reads, against the six
    listing queries and the counts of the home page. Rows are returned detached, as after any session.
    """
    from hub.web import counts

    bind = session.get_bind()
    full = (what, key, str(bind.engine.url), counts.generation(session), tuple(scheduled_versions(session)))
    try:
        return _CACHE[full]  # type: ignore[no-any-return]
    except KeyError:
        pass
    value = build()
    if len(_CACHE) >= _CACHE_SIZE:
        _CACHE.pop(next(iter(_CACHE)))
    _CACHE[full] = value
    return value


def published_version(session: Session, record_id: str) -> VersionRow | None:
    """The newest published version of a record, or None when nothing of it is public.

    The record's few published versions are read through (state, record_id) and ordered here: with the
    ORDER BY in SQL, SQLite walked the listing index from the newest version of every record instead.
    """
    rows = session.scalars(select(VersionRow).where(VersionRow.record_id == record_id, VersionRow.state == PUBLISHED,
                                                    _not_scheduled()))
    return max(rows, key=listing_key, default=None)


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
    """Counts of published records per facet, read from ``portal_counts`` (kept by the workflow, ``hub.web.counts``).

    A few dozen rows instead of a ``GROUP BY`` over every published version per page view (issue 19).
    """
    from hub.web import counts as kept

    got = kept.read(session)
    items: dict[str, list[tuple[str, int]]] = {}
    for key, n in sorted(got[kept.ITEM].items()):
        domain, _, item = key.partition("\t")
        items.setdefault(domain, []).append((item, n))

    def most_first(facet: str) -> list[tuple[str, int]]:
        return sorted(got[facet].items(), key=lambda kv: (-kv[1], kv[0]))

    order = {s.value: i for i, s in enumerate(Stage)}
    return Facets(
        stages=sorted(most_first("stage"), key=lambda kv: order.get(kv[0], 99)),
        domains=most_first("domain"),
        items=items,
        levels=most_first("level"),
        regions=most_first("region"),
        total=got[kept.ALL].get("", 0),
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
