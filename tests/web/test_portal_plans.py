"""The portal's listing queries read an index and stop after the page: no full scan, no sort of every row.

EXPLAIN on SQLite (``EXPLAIN QUERY PLAN``) and PostgreSQL (``EXPLAIN`` with sequential scans and sorts
priced out, so a plan that still has one has no index to use instead).
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Connection, func, select

from hub.store.db import get_engine
from hub.store.models import VersionRow
from hub.web import queries

LISTINGS = [{}, {"stage": "决策"}, {"domain": "财政预决算"}, {"level": "county"}]


def plan(conn: Connection, stmt: Any) -> str:
    compiled = stmt.compile(dialect=conn.dialect)
    if conn.dialect.name == "sqlite":
        params: Any = tuple(compiled.params[k] for k in compiled.positiontup or [])
        rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + str(compiled), params).all()
        return "\n".join(str(r[3]) for r in rows)
    conn.exec_driver_sql("SET enable_seqscan = off")
    conn.exec_driver_sql("SET enable_sort = off")
    return "\n".join(str(r[0]) for r in conn.exec_driver_sql("EXPLAIN " + str(compiled), compiled.params).all())


def no_full_read(text: str, dialect: str) -> None:
    if dialect == "sqlite":
        assert "TEMP B-TREE" not in text, text
        assert "SCAN record_versions" not in text, text
        assert "USING INDEX ix_versions_" in text or "USING COVERING INDEX ix_versions_" in text, text
    else:
        assert "Seq Scan on record_versions" not in text, text
        assert "Sort" not in text.replace("Sort Key", ""), text
        assert "ix_versions_" in text, text


@pytest.mark.parametrize("filters", LISTINGS, ids=["home", "stage", "domain", "level"])
def test_a_listing_page_reads_the_listing_index_without_sorting(db_url: str, filters: dict[str, str]) -> None:
    engine = get_engine(db_url)
    with engine.connect() as conn:
        text = plan(conn, queries.published_query(**filters).limit(20))
    no_full_read(text, engine.dialect.name)
    if engine.dialect.name == "sqlite":
        assert "ix_versions_listing" in text


@pytest.mark.parametrize("column", ["stage", "domain", "level", "region"])
def test_facet_counts_read_an_index_and_group_in_its_order(db_url: str, column: str) -> None:
    engine = get_engine(db_url)
    col = getattr(VersionRow, column)
    stmt = (select(col, func.count(func.distinct(VersionRow.record_id)))
            .where(VersionRow.state == queries.PUBLISHED, col.is_not(None)).group_by(col))
    with engine.connect() as conn:
        text = plan(conn, stmt)
    if engine.dialect.name == "sqlite":  # index only; the groups come in index order
        assert "COVERING INDEX ix_versions_count" in text and "TEMP B-TREE FOR GROUP BY" not in text, text
    else:
        assert "Seq Scan on record_versions" not in text and "ix_versions_" in text, text


@pytest.mark.parametrize("filters", LISTINGS, ids=["home", "stage", "domain", "level"])
def test_the_static_sites_count_of_newer_entries_reads_the_listing_index_from_its_newest_end(
        db_url: str, filters: dict[str, str]) -> None:
    """A web delivery counts the entries newer than the record's place: an index range, not every published row."""
    import datetime as dt

    at = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    engine = get_engine(db_url)
    with engine.connect() as conn:
        text = plan(conn, queries.count_newer_query((at, at, "0" * 64), exclude="r", **filters))
    if engine.dialect.name == "sqlite":
        assert "SCAN record_versions" not in text and "ix_versions_listing" in text and ">?" in text, text
    else:
        assert "Seq Scan on record_versions" not in text and "ix_versions_listing" in text, text


#: tables that grow with the county's history: a portal request never reads one of them whole
LARGE = ("record_versions", "short_links", "search_docs", "deliveries", "renditions", "workflow_events")


def test_every_query_of_the_portal_pages_reads_the_large_tables_through_an_index(
        client: Any, users: list[str]) -> None:
    """SQLite: every statement the home, browse, record, feed and search pages run, under EXPLAIN QUERY PLAN."""
    import sqlite3

    from sqlalchemy import event
    from web_helpers import make_record, publish_directly

    publish_directly(make_record())
    engine = get_engine()
    seen: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, params: Any, _context: Any, _many: bool) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append((statement, params))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        for path in ("/", "/browse?stage=结果", "/browse?domain=征地补偿", "/records/rec-2026-001", "/feed.xml",
                     "/search?q=补偿款"):
            assert client.get(path).status_code == 200, path
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    db = sqlite3.connect(str(engine.url.database))
    try:
        for statement, params in seen:
            steps = [str(r[3]) for r in db.execute("EXPLAIN QUERY PLAN " + statement, params).fetchall()]
            full = [s for s in steps if any(s.startswith(f"SCAN {t}") and "INDEX" not in s for t in LARGE)]
            assert not full, f"{statement}\n{steps}"
            for column in ("record_id", "interprets"):  # one record's rows: found by it, not among all published
                if f"record_versions.{column} = ?" in statement:
                    assert any(f"{column}=?" in s for s in steps if "record_versions" in s), f"{statement}\n{steps}"
            walks = [s for s in steps if s.startswith("SEARCH record_versions") and s.endswith("(state=?)")]
            if walks and "withdrawn" not in params:  # published rows by state alone: only a listing's page
                assert "ORDER BY coalesce(record_versions.published_at" in statement and "LIMIT" in statement, \
                    f"{statement}\n{steps}"
    finally:
        db.close()
    assert len(seen) > 10
