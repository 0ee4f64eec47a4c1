"""Figures for the office's assessment: received, answered, on time, median reply time, published.

By department and by month (local, Asia/Shanghai, of arrival). "On time" = answered
on or before the due day (local date of the answer); the reply time is in hours
from arrival to answer.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.consult.publication import PUBLISHED
from hub.store.models import ConsultationRow
from hub.timeutil import to_local


def _figures(rows: list[ConsultationRow]) -> dict[str, Any]:
    answered = [r for r in rows if r.answered_at is not None]
    hours = [(r.answered_at - r.created_at).total_seconds() / 3600 for r in answered if r.answered_at]
    on_time = sum(1 for r in answered if r.answered_at and to_local(r.answered_at).date() <= r.due_on)
    return {"received": len(rows), "answered": len(answered), "on_time": on_time,
            "on_time_rate": round(on_time / len(answered), 4) if answered else None,
            "median_reply_hours": round(statistics.median(hours), 2) if hours else None,
            "published": sum(1 for r in rows if r.publication == PUBLISHED)}


def stats(session: Session) -> dict[str, Any]:
    """Totals, then per department and per month (``YYYY-MM``)."""
    rows = list(session.scalars(select(ConsultationRow).order_by(ConsultationRow.id)))
    by_dept: dict[str, list[ConsultationRow]] = defaultdict(list)
    by_month: dict[str, list[ConsultationRow]] = defaultdict(list)
    for r in rows:
        by_dept[r.department].append(r)
        by_month[to_local(r.created_at).strftime("%Y-%m")].append(r)
    return {"total": _figures(rows),
            "by_department": {k: _figures(v) for k, v in sorted(by_dept.items())},
            "by_month": {k: _figures(v) for k, v in sorted(by_month.items())}}
