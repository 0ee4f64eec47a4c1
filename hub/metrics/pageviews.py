"""Portal page views, counted server-side: no cookie, known bots left out, one count per visitor per day.

The visitor is ``sha256(salt | address | User-Agent | day)``: the address is never
stored, and the day in the hash means the same visitor cannot be followed from one
day to the next. The salt is a random value kept in ``channel_state`` (made on first
use), so the hash cannot be reversed by trying every IPv4 address without the database.
Bots are recognised by their User-Agent (``BOT_MARKERS``); an empty User-Agent is a bot.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime
from typing import cast

from sqlalchemy import Table, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from hub.metrics.store import day_of
from hub.store.models import ChannelStateRow, PageViewRow

SALT_KEY = "metrics-pageview-salt"
#: User-Agent fragments of crawlers, link previewers, monitors and HTTP libraries (case-insensitive)
BOT_MARKERS = re.compile(
    r"bot|crawl|spider|slurp|baiduspider|bingpreview|yandex|sogou|360spider|bytespider|petalbot|"
    r"facebookexternalhit|headless|phantomjs|python-requests|python-httpx|curl/|wget/|go-http-client|"
    r"java/|okhttp|libwww|httpclient|uptime|monitor|pingdom|scrapy", re.IGNORECASE)


def is_bot(user_agent: str | None) -> bool:
    return not user_agent or bool(BOT_MARKERS.search(user_agent))


def _salt(session: Session, now: datetime) -> str:
    row = session.get(ChannelStateRow, SALT_KEY)
    if row is None:
        row = ChannelStateRow(key=SALT_KEY, value={"salt": secrets.token_hex(16)}, expires_at=None, updated_at=now)
        session.add(row)
        session.flush()
    return str(row.value["salt"])


def visitor(salt: str, address: str, user_agent: str, day: str) -> str:
    return hashlib.sha256(f"{salt}|{address}|{user_agent}|{day}".encode()).hexdigest()


def count_view(session: Session, *, record_id: str, version: str, address: str | None, user_agent: str | None,
               now: datetime) -> bool:
    """Count one view of a published version; False for a bot or a visitor already counted today."""
    if is_bot(user_agent) or not address:
        return False
    day = day_of(now)
    who = visitor(_salt(session, now), address, str(user_agent), day)
    values = {"version": version, "record_id": record_id, "day": day, "visitor": who}
    table = cast(Table, PageViewRow.__table__)
    stmt = postgresql.insert(table) if session.get_bind().dialect.name == "postgresql" else sqlite.insert(table)
    # RETURNING, not rowcount: the hub's PostgreSQL driver setup reports -1 for this statement
    res = session.execute(stmt.values(values).on_conflict_do_nothing(index_elements=["version", "day", "visitor"])
                          .returning(table.c.id))
    return res.first() is not None


def views(session: Session, version: str) -> int:
    """How many visitor-days a version has (for tests and the console)."""
    return int(session.scalar(select(func.count()).select_from(PageViewRow).where(PageViewRow.version == version))
               or 0)


__all__ = ["BOT_MARKERS", "count_view", "is_bot", "views", "visitor"]
