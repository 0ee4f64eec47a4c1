"""Published records per facet value, kept current by the workflow (the portal's and the static site's counts).

Why a table: the home page, the browse page and every web delivery showed counts per stage, domain,
level, region and item, each a ``GROUP BY`` over every published version: work that grew with the
number of records on every request and every delivery (issue 19). The publish and withdraw
transitions (``hub.workflow.transition``) adjust ``portal_counts`` in their own transaction instead,
so the counts commit with the change they count and a reader fetches a few dozen rows.

What is counted is what the ``GROUP BY`` counted: distinct records with a published version of that
value (a corrected record whose two published versions share a domain counts once). ``recount``
rebuilds the table from the versions (rows published around the workflow: a bulk import, a bench).
"""

from __future__ import annotations

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from hub.store.models import PortalCountRow, VersionRow

#: the facet of the total (value ``""``)
ALL = "all"
#: a counter every publication and withdrawal adds one to (value ``""``): what the portal's page caches key on
GENERATION = "generation"
#: facets counted by one column of the version
COLUMNS = ("stage", "domain", "level", "region")
#: domain and item together (value ``<domain>\t<item>``): the browse page's items under each domain
ITEM = "item"
PUBLISHED = "published"


def _values(row: VersionRow) -> list[tuple[str, str]]:
    out = [(ALL, "")]
    out += [(facet, str(getattr(row, facet))) for facet in COLUMNS if getattr(row, facet)]
    if row.domain and row.item:
        out.append((ITEM, f"{row.domain}\t{row.item}"))
    return out


def _shared(s: Session, row: VersionRow, facet: str) -> bool:
    """Another published version of ``row``'s record has ``row``'s value of ``facet`` (it is counted already)."""
    query = select(VersionRow.version).where(VersionRow.record_id == row.record_id, VersionRow.state == PUBLISHED,
                                             VersionRow.version != row.version)
    if facet == ITEM:
        query = query.where(VersionRow.domain == row.domain, VersionRow.item == row.item)
    elif facet != ALL:
        query = query.where(getattr(VersionRow, facet) == getattr(row, facet))
    return s.scalar(query.limit(1)) is not None


def _add(s: Session, facet: str, value: str, delta: int) -> None:
    """``n += delta`` for (facet, value), inserting the row the first time (one statement, no read)."""
    if s.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        stmt = pg_insert(PortalCountRow).values(facet=facet, value=value, n=delta)
        s.execute(stmt.on_conflict_do_update(index_elements=["facet", "value"],
                                             set_={"n": PortalCountRow.n + delta}))
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        lite = sqlite_insert(PortalCountRow).values(facet=facet, value=value, n=delta)
        s.execute(lite.on_conflict_do_update(index_elements=["facet", "value"],
                                             set_={"n": PortalCountRow.n + delta}))


def published(s: Session, row: VersionRow) -> None:
    """``row`` was just published (in ``s``'s transaction): count its record under each of its values."""
    _add(s, GENERATION, "", 1)
    for facet, value in _values(row):
        if not _shared(s, row, facet):
            _add(s, facet, value, 1)


def withdrawn(s: Session, row: VersionRow) -> None:
    """``row`` (published until now) was just withdrawn: its record leaves each value no other version keeps."""
    _add(s, GENERATION, "", 1)
    for facet, value in _values(row):
        if not _shared(s, row, facet):
            _add(s, facet, value, -1)


def read(s: Session) -> dict[str, dict[str, int]]:
    """facet → value → published records (values with none left are omitted)."""
    out: dict[str, dict[str, int]] = {facet: {} for facet in (ALL, *COLUMNS, ITEM)}
    for facet, value, n in s.execute(select(PortalCountRow.facet, PortalCountRow.value, PortalCountRow.n)
                                     .where(PortalCountRow.n > 0)):
        out.setdefault(facet, {})[value] = int(n)
    return out


def generation(s: Session) -> int:
    """How many publications and withdrawals the workflow has counted (one primary-key read)."""
    return int(s.scalar(select(PortalCountRow.n).where(PortalCountRow.facet == GENERATION,
                                                       PortalCountRow.value == "")) or 0)


def recount(s: Session) -> None:
    """Rebuild the counts from the versions (``GROUP BY``; once, after rows were published around the workflow)."""
    was = generation(s)
    s.execute(delete(PortalCountRow))
    s.add(PortalCountRow(facet=GENERATION, value="", n=was + 1))
    distinct = func.count(func.distinct(VersionRow.record_id))
    where = VersionRow.state == PUBLISHED
    rows: list[tuple[str, str, int]] = [(ALL, "", int(s.scalar(select(distinct).where(where)) or 0))]
    for facet in COLUMNS:
        col = getattr(VersionRow, facet)
        rows += [(facet, str(v), int(n)) for v, n in s.execute(select(col, distinct).where(where, col.is_not(None))
                                                                  .group_by(col))]
    rows += [(ITEM, f"{d}\t{i}", int(n)) for d, i, n in s.execute(
        select(VersionRow.domain, VersionRow.item, distinct)
        .where(where, VersionRow.domain.is_not(None), VersionRow.item.is_not(None))
        .group_by(VersionRow.domain, VersionRow.item))]
    s.add_all(PortalCountRow(facet=f, value=v, n=n) for f, v, n in rows if n)
    s.flush()
