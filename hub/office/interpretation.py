"""政策解读: the two-way link between a policy document and its 解读, and the 解读比例.

Inspectors check that every 解读 links to its policy original and the policy
page links back (the portal shows both halves: ``hub.web.queries.interpretations``),
and they count how many policy documents were interpreted (解读比例). A record
is a 解读 when it names the policy it interprets (``Record.interprets``) or its
title says 解读; a 解读 pointing at no published policy is refused at publication
(``require_link``), so the portal never shows a dangling half.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.errors import WorkflowError
from hub.office.calendar import WorkCalendar, get_calendar
from hub.office.settings import OfficeSettings, get_office_settings
from hub.store.models import RecordRow, VersionRow
from hub.timeutil import to_local

#: Titles that announce a 解读 ("《…》政策解读", "解读：…", "图解：…"), not a policy merely mentioning the word.
INTERPRETATION_TITLE = re.compile(r"解读$|^(政策)?解读|解读[:：《]|》的?(政策)?解读|^图解")


def is_interpretation(row: VersionRow) -> bool:
    """Does ``row`` present itself as a 解读 (by its link, its 公开目录 or its title)?"""
    return (bool(row.interprets) or INTERPRETATION_TITLE.search((row.title or "").strip()) is not None)


def _published_policy(session: Session, record_id: str) -> VersionRow | None:
    return session.scalars(select(VersionRow).join(RecordRow, RecordRow.current_version == VersionRow.version)
                           .where(VersionRow.record_id == record_id, VersionRow.state == "published")).first()


def require_link(session: Session, row: VersionRow) -> None:
    """Refuse to publish a 解读 that points at no published policy document (and a policy pointing at itself)."""
    if not is_interpretation(row):
        return
    if not row.interprets:
        raise WorkflowError(f"“{row.title}”是政策解读，但没有填写所解读的政策文件（解读对象），不能发布。")
    if row.interprets == row.record_id:
        raise WorkflowError("政策解读不能指向它自己。")
    if _published_policy(session, row.interprets) is None:
        raise WorkflowError(f"解读对象 {row.interprets} 不存在或尚未发布：请先发布政策原文，再发布解读。")


def is_policy(row: VersionRow, settings: OfficeSettings) -> bool:
    """A policy document for the ratio: a record of a policy item (``policy_item_words``) that is not a 解读."""
    if is_interpretation(row):
        return False
    return any(w in (row.item or "") for w in settings.policy_item_words)


@dataclass
class Ratio:
    """解读比例 of one department in one quarter."""

    department: str
    period: str
    policies: int = 0
    interpreted: int = 0
    missing: list[dict[str, str]] = field(default_factory=list)  # policies without a timely 解读

    @property
    def ratio(self) -> float:
        return 1.0 if not self.policies else self.interpreted / self.policies

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "ratio": round(self.ratio, 4)}


def _quarter(day: dt.date) -> str:
    return f"{day.year}年第{(day.month - 1) // 3 + 1}季度"


def ratios(session: Session, *, cal: WorkCalendar | None = None,
           settings: OfficeSettings | None = None) -> list[Ratio]:
    """解读比例 per department and quarter: policies with a published 解读 within N working days of publication."""
    cal = cal or get_calendar()
    settings = settings or get_office_settings()
    current = list(session.scalars(select(VersionRow).join(RecordRow, RecordRow.current_version == VersionRow.version)
                                   .where(VersionRow.state == "published")))
    first_explained: dict[str, dt.date] = {}
    for r in current:
        if r.interprets and r.published_at is not None:
            day = to_local(r.published_at).date()
            first_explained[r.interprets] = min(day, first_explained.get(r.interprets, day))
    out: dict[tuple[str, str], Ratio] = {}
    for r in current:
        if not is_policy(r, settings) or r.published_at is None:
            continue
        day = to_local(r.published_at).date()
        key = (r.department or "（未指定部门）", _quarter(day))
        ratio = out.setdefault(key, Ratio(*key))
        ratio.policies += 1
        explained = first_explained.get(r.record_id)
        if explained is not None and explained <= cal.add_workdays(day, settings.interpretation_workdays):
            ratio.interpreted += 1
        else:
            ratio.missing.append({"record_id": r.record_id, "version": r.version, "title": r.title})
    return sorted(out.values(), key=lambda x: (x.period, x.department))


def totals(rows: list[Ratio]) -> dict[str, Ratio]:
    """The ratio per department over every period listed."""
    out: dict[str, Ratio] = defaultdict(lambda: Ratio("", "全部"))
    for r in rows:
        t = out[r.department]
        t.department, t.policies, t.interpreted = r.department, t.policies + r.policies, t.interpreted + r.interpreted
        t.missing.extend(r.missing)
    return dict(out)
