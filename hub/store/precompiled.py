"""A hot-path statement compiled once per dialect and run with ``Connection.exec_driver_sql``.

Why: the delivery engine writes the ledger twice per delivery (a fenced UPDATE and an
event INSERT each time). Through ``Connection.execute`` every one of those statements
walks SQLAlchemy's cache key, builds an execution context and converts its parameters;
that cost the engine about 35 µs of CPU per ledger move and put it below half a bare
Dramatiq actor's throughput (bench/delivery.py, bench/ledger_writes.py; numbers in
docs/decisions/2026-12-03-precompiled-ledger-writes.md). Here the statement is compiled
once and the values are converted by the same bind processors SQLAlchemy would use, so the
SQL and the stored values are identical to the Core path; only the per-call bookkeeping
goes. Every piece is public API: ``ClauseElement.compile``, ``SQLCompiler.positiontup`` and
``binds``, ``TypeEngine.dialect_impl`` / ``bind_processor`` and ``exec_driver_sql`` (which
keeps SQLAlchemy's events and error wrapping). It replaces the old ``prepared.py``, which
reached SQLAlchemy's private ``_bind_processors`` and the driver's cursor.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, CursorResult, Select
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ClauseElement


class Precompiled:
    """One statement compiled for one dialect, with the converters of its bound values."""

    __slots__ = ("columns", "defaults", "order", "procs", "sql")

    def __init__(self, statement: ClauseElement, dialect: Dialect, keys: tuple[str, ...] | None = None) -> None:
        # keys: the columns an INSERT without .values() binds (an INSERT compiles for the keys given)
        compiled = statement.compile(dialect=dialect, column_keys=list(keys) if keys is not None else None)
        if not isinstance(compiled, SQLCompiler):  # DDL compiles differently; only DML and queries come here
            raise TypeError(f"not a SQL statement: {statement!r}")
        self.sql: str = compiled.string
        #: bind names in the driver's order for a positional paramstyle (SQLite's qmark); None for a
        #: named one (psycopg's pyformat), whose values go as a dict
        self.order: tuple[str, ...] | None = tuple(compiled.positiontup) if compiled.positiontup else None
        self.procs: dict[str, Callable[[Any], Any]] = {}
        #: the values the statement carries itself (a LIKE pattern written into the query)
        present = set(compiled.bind_names.values())  # the names in the SQL (``binds`` also lists aliases)
        self.defaults: dict[str, Any] = {name: bind.effective_value for name, bind in compiled.binds.items()
                                         if not bind.required and name in present}
        for name, bind in compiled.binds.items():
            # the dialect's own implementation of the type (PostgreSQL's JSON, SQLite's DATETIME)
            proc = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if proc is not None:
                self.procs[name] = proc
        #: a query's result columns: (name, converter or None), in order
        self.columns: tuple[tuple[str, Callable[[Any], Any] | None], ...] = ()
        if isinstance(statement, Select):
            self.columns = tuple((str(c.key), c.type.dialect_impl(dialect).result_processor(dialect, None))
                                 for c in statement.selected_columns)

    def args(self, params: Mapping[str, Any]) -> tuple[Any, ...] | dict[str, Any]:
        """The driver's parameters for ``params`` (bind name → Python value)."""
        procs = self.procs
        if self.defaults:
            params = {**self.defaults, **params}
        if self.order is not None:
            return tuple(procs[k](params[k]) if k in procs else params[k] for k in self.order)
        return {k: procs[k](v) if k in procs else v for k, v in params.items()}

    def run(self, conn: Connection, params: Mapping[str, Any]) -> CursorResult[Any]:
        return conn.exec_driver_sql(self.sql, self.args(params))

    def first(self, conn: Connection, params: Mapping[str, Any]) -> dict[str, Any] | None:
        """A query's first row as column name → Python value (converted as ``Connection.execute`` would)."""
        row = self.run(conn, params).first()
        if row is None:
            return None
        return {name: proc(value) if proc is not None and value is not None else value
                for (name, proc), value in zip(self.columns, row, strict=True)}


@lru_cache(maxsize=256)
def precompiled(statement: ClauseElement, dialect: Dialect, keys: tuple[str, ...] | None = None) -> Precompiled:
    """The ``Precompiled`` of ``statement`` for ``dialect`` (built once: statements are module constants)."""
    return Precompiled(statement, dialect, keys)
