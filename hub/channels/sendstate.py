"""What an adapter remembers between ``send`` and ``lookup``: small JSON notes in ``channel_state``.

Why: platforms without an idempotency slot (WeChat freepublish, Weibo share)
can only be reconciled after an ambiguous send if the hub wrote down, before
and after the call, what it was about to publish and what the platform
answered. Each note is one short transaction (F14), never held across a
network call.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from hub.store.models import ChannelStateRow
from hub.timeutil import utcnow

#: ``session_factory`` of an adapter: a context manager giving one short transaction (commit on success)
SessionFactory = Callable[[], AbstractContextManager[Session]]


def default_sessions() -> SessionFactory:
    from hub.store.db import session_scope

    return session_scope


def read_note(sessions: SessionFactory, key: str) -> dict[str, Any] | None:
    """The note under ``key`` if present and not expired."""
    with sessions() as session:
        row = session.get(ChannelStateRow, key)
        if row is None or (row.expires_at is not None and row.expires_at <= utcnow()):
            return None
        return dict(row.value or {})


def write_note(sessions: SessionFactory, key: str, value: dict[str, Any], *,
               expires_at: datetime | None = None, merge: bool = True) -> None:
    """Create or update the note under ``key`` (merging into the existing value by default)."""
    now = utcnow()
    with sessions() as session:
        row = session.get(ChannelStateRow, key)
        if row is None:
            session.add(ChannelStateRow(key=key, value=dict(value), expires_at=expires_at, updated_at=now))
        else:
            row.value = {**(row.value or {}), **value} if merge else dict(value)
            row.expires_at, row.updated_at = expires_at, now
