"""Was a record published on time against its catalog item's 公开时限? The one seam the assessment asks.

``on_time(row)`` is the only function the assessment calls for punctuality. The deadline is
the office's (``hub.office.overdue.due_of``): the item's 公开时限 parsed into a rule, counted
from the event day the author gave, else the 成文日期, on the county's working-day calendar
(national holidays, 调休 working weekends, local days). The first publication is compared
with it. ``None`` when it cannot tell (no catalog item, or no publication), and the
assessment then leaves the record out of the on-time rate rather than guessing. Coverage
(every required channel confirmed) is measured separately by the assessment.
"""

from __future__ import annotations

from datetime import date

from hub.store.models import VersionRow
from hub.timeutil import SHANGHAI


def on_time(row: VersionRow, *, first_published: date | None = None) -> bool | None:
    """True / False when the record's first publication met its item's deadline; None when unknown."""
    from hub.office.overdue import due_of

    due = due_of(row)
    published = first_published or (row.published_at.astimezone(SHANGHAI).date() if row.published_at else None)
    if due is None or published is None:
        return None
    return published <= due


__all__ = ["on_time"]
