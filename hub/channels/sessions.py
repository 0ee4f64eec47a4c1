"""How adapters open their short transactions: the injected factory, or the hub's ``session_scope``.

Adapters take ``session_factory`` (contracts.md). Callers pass either a
``sessionmaker`` or a ``session_scope``-like callable; both become one short
transaction that commits on success, so no adapter ever holds a transaction
across a network call (F14).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from sqlalchemy.orm import Session

SessionFactory = Callable[[], Any]


@contextmanager
def scope(factory: SessionFactory | None) -> Iterator[Session]:
    """One short transaction from ``factory`` (default: ``hub.store.db.session_scope``)."""
    if factory is None:
        from hub.store.db import session_scope

        with session_scope() as session:
            yield session
        return
    made = factory()
    if isinstance(made, Session):
        with made as session, session.begin():
            yield session
        return
    cm: AbstractContextManager[Session] = made
    with cm as session:
        yield session
