"""Rate limits kept in the database, so every web process (and the SMS reply poller) shares them.

A hit is inserted and committed first, then the window is counted: two processes
racing both see both hits, so the limit can be too strict by one in a race but
never too loose. Keys are HMACs of what is limited (never an address or a number
in clear); old hits are pruned as new ones come.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, func, select

from hub.store.db import session_scope
from hub.store.models import RateEventRow
from hub.timeutil import utcnow


def allow(key: str, limit: int, window: timedelta, *, now: datetime | None = None) -> bool:
    """Count one event of ``key``; False (and the event not counted) when the window already holds ``limit``."""
    now = now or utcnow()
    with session_scope() as s:
        hit = RateEventRow(key=key, at=now)
        s.add(hit)
        s.flush()
        hit_id = hit.id
    with session_scope() as s:
        n = s.scalar(select(func.count()).select_from(RateEventRow)
                     .where(RateEventRow.key == key, RateEventRow.at > now - window, RateEventRow.id <= hit_id)) or 0
        if n > limit:
            s.execute(delete(RateEventRow).where(RateEventRow.id == hit_id))
            return False
        s.execute(delete(RateEventRow).where(RateEventRow.key == key, RateEventRow.at <= now - window))
    return True
