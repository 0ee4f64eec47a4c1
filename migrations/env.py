"""Alembic environment: runs on the connection ``hub.store.db.migrate`` hands over, or on HUB_DATABASE_URL."""

from __future__ import annotations

from alembic import context
from alembic.operations import ops
from sqlalchemy import Column

from hub.settings import get_settings
from hub.store.db import make_engine
from hub.store.models import Base

target_metadata = Base.metadata


def _expression_indexes(context: object, revision: object, directives: list[ops.MigrationScript]) -> None:
    """Autogenerate skips indexes on expressions (SQLite cannot reflect them): add the new ones by hand.

    Only for ``scripts/regen-initial-migration.sh``, which compares against an empty database, so every
    expression index of the models is new (the portal's listing indexes, issue 19).
    """
    script = directives[0]
    if script.upgrade_ops is None:
        return
    for table in target_metadata.sorted_tables:
        for index in sorted(table.indexes, key=lambda i: str(i.name)):
            if any(not isinstance(e, Column) for e in index.expressions):
                script.upgrade_ops.ops.append(ops.CreateIndexOp.from_index(index))


def run() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(get_settings().database_url)
    with engine.begin() as conn:
        context.configure(connection=conn, target_metadata=target_metadata, render_as_batch=True,
                          process_revision_directives=_expression_indexes)
        with context.begin_transaction():
            context.run_migrations()


run()
