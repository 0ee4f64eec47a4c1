"""The Alembic migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

import warnings

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from hub.store.db import get_engine, make_engine, migrate
from hub.store.models import Base


def test_the_migrated_schema_equals_the_models(db_url: str) -> None:
    engine = get_engine(db_url)  # runs `alembic upgrade head`
    with engine.connect() as conn, warnings.catch_warnings():
        # indexes on expressions (the portal's listing order) cannot be compared: checked by name below
        warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression-based index")
        warnings.filterwarnings("ignore", "autogenerate skipping metadata-specified expression-based index")
        context = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": True})
        diffs = compare_metadata(context, Base.metadata)
        sql = ("select name from sqlite_master where type = 'index'" if conn.dialect.name == "sqlite"
               else "select indexname from pg_indexes")
        present = set(conn.execute(sa.text(sql)).scalars())
    assert diffs == [], "models and migrations differ; run scripts/regen-initial-migration.sh"
    expressions = {str(i.name) for table in Base.metadata.tables.values() for i in table.indexes
                   if any(not isinstance(e, sa.Column) for e in i.expressions)}
    assert expressions and expressions <= present


def test_the_migration_creates_every_table_of_the_models_and_records_its_revision(db_url: str) -> None:
    engine = get_engine(db_url)
    tables = set(sa.inspect(engine).get_table_names())
    assert set(Base.metadata.tables) <= tables
    with engine.connect() as conn:
        head = conn.execute(sa.text("select version_num from alembic_version")).scalar_one()
    assert head


def test_migrating_again_changes_nothing(db_url: str) -> None:
    engine = get_engine(db_url)
    with engine.connect() as conn:
        before = conn.execute(sa.text("select version_num from alembic_version")).scalars().all()
    fresh = make_engine(db_url)
    try:
        migrate(fresh)
        with fresh.connect() as conn:
            after = conn.execute(sa.text("select version_num from alembic_version")).scalars().all()
    finally:
        fresh.dispose()
    assert after == before and len(after) == 1
