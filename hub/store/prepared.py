"""Core statements compiled once per dialect and run on the driver's cursor: the ledger's hot path.

Why: every delivery makes two conditional updates and two event inserts. Through
SQLAlchemy's execution machinery each cost about 0.2 ms of CPU beyond the database's own
work (execution context, events, cache lookups, result set-up), which was most of the
ledger's cost per delivery, and the ledger's cost is what bench/delivery.py holds against
a bare actor. Here SQLAlchemy still writes the SQL and converts the values (its compiler
and the columns' own bind processors, e.g. ``UtcDateTime``), once per statement and
dialect; only the execution skips the machinery. The statement runs inside the caller's
transaction, on the same connection, so commit and rollback are unchanged.

Only for statements without results (UPDATE, INSERT): the row count is what callers need.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.dml import UpdateBase


@dataclass(frozen=True, slots=True)
class _Compiled:
    sql: str
    #: parameter names in placeholder order (positional paramstyles, e.g. SQLite's ``?``), else None
    order: tuple[str, ...] | None
    processors: Mapping[str, Callable[[Any], Any]]


class Prepared:
    """One DML statement with named bind parameters, compiled lazily for each dialect it meets."""

    def __init__(self, statement: UpdateBase, keys: tuple[str, ...] | None = None) -> None:
        self.statement = statement
        #: the columns an INSERT sets (its VALUES clause); None for a statement that names its own binds
        self.keys = keys
        self._by_dialect: dict[str, _Compiled] = {}

    def _compiled(self, dialect: Dialect) -> _Compiled:
        found = self._by_dialect.get(dialect.name)
        if found is None:
            kw: dict[str, Any] = {"column_keys": list(self.keys)} if self.keys is not None else {}
            c = self.statement.compile(dialect=dialect, **kw)
            order = tuple(c.positiontup) if c.positional and c.positiontup is not None else None
            procs = {k: p for k, p in c._bind_processors.items() if callable(p)}  # (tuples are for multi-value binds)
            found = self._by_dialect[dialect.name] = _Compiled(c.string, order, procs)
        return found

    def execute(self, conn: Connection, params: Mapping[str, Any]) -> int:
        """Run with ``params`` (every bind by name) in ``conn``'s transaction; returns the row count."""
        c = self._compiled(conn.dialect)
        procs = c.processors
        values = {k: (procs[k](v) if k in procs else v) for k, v in params.items()}
        args: Any = tuple(values[k] for k in c.order) if c.order is not None else values
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute(c.sql, args)
            return int(cursor.rowcount)
        except conn.dialect.loaded_dbapi.Error as exc:
            # the driver's own error, wrapped as SQLAlchemy would (``database is locked`` must
            # stay a ``sqlalchemy.exc.OperationalError`` for the callers' retry logic)
            raise DBAPIError.instance(c.sql, args, exc, conn.dialect.loaded_dbapi.Error) from exc
        finally:
            cursor.close()
