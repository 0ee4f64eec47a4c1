"""Was a record published on time against its catalog item's 公开时限? The one seam the assessment asks.

``on_time(row)`` is the only function the assessment calls for punctuality. It answers
from the catalog's ``deadline`` text with a small parser: "…之日起20个工作日内",
"…后15个工作日内", "…30日内" count from the record's ``written_on`` (the day the
information was formed; else its signature date) to its first publication, working
days being Monday to Friday. It answers ``None`` when it cannot tell (no catalog item,
a deadline without a count of days such as "收费前公示", or no start date), and the
assessment then leaves the record out of the on-time rate rather than guessing.

The county office's own deadline calendar (holidays, 调休 working weekends) is being
built in ``hub.office`` on another branch; when it is merged, point ``on_time`` at it
here and nothing else changes.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

from hub.store.models import VersionRow
from hub.timeutil import SHANGHAI

_LIMIT = re.compile(r"(?:之日起|后|起)\s*(\d+)\s*个?\s*(工作日|日|天)\s*内")
_MONTHS = re.compile(r"(?:后|起)\s*(\d+)\s*个月内")


def limit_days(deadline: str) -> tuple[int, bool] | None:
    """(days, working days?) of a 公开时限 text, or None when it names no count after an event."""
    m = _LIMIT.search(deadline)
    if m:
        return int(m.group(1)), m.group(2) == "工作日"
    m = _MONTHS.search(deadline)
    if m:
        return int(m.group(1)) * 30, False
    return None


def due_date(start: date, days: int, working: bool) -> date:
    """The last day allowed: ``days`` calendar days after ``start``, or ``days`` weekdays."""
    if not working:
        return start + timedelta(days=days)
    day, left = start, days
    while left > 0:
        day += timedelta(days=1)
        if day.weekday() < 5:
            left -= 1
    return day


def start_date(row: VersionRow) -> date | None:
    """The day the information was formed: the record's ``written_on``, else its signature date."""
    from hub.store.repo import record_of

    record = record_of(row)
    if record.written_on is not None:
        return record.written_on
    signature = getattr(record, "signature", None)
    return getattr(signature, "date", None)


def on_time(row: VersionRow, *, first_published: date | None = None) -> bool | None:
    """True / False when the record's first publication met its item's deadline; None when unknown."""
    from hub.catalog import get_catalog

    if not row.item:
        return None
    found = get_catalog().find_item(row.item)
    if found is None:
        return None
    rule = limit_days(found[1].deadline)
    start = start_date(row)
    published = first_published or (row.published_at.astimezone(SHANGHAI).date() if row.published_at else None)
    if rule is None or start is None or published is None:
        return None
    return published <= due_date(start, *rule)


__all__ = ["due_date", "limit_days", "on_time", "start_date"]
