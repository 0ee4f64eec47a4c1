"""Alembic environment: runs on the connection ``hub.store.db.migrate`` hands over, or on HUB_DATABASE_URL."""

from __future__ import annotations

from alembic import context

from hub.settings import get_settings
from hub.store.db import make_engine
from hub.store.models import Base

target_metadata = Base.metadata


def run() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(get_settings().database_url)
    with engine.begin() as conn:
        context.configure(connection=conn, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()


run()
