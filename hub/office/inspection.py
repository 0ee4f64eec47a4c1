"""迎检自查: the county scored against the national indicators the hub can measure, before an inspector does.

国办秘函〔2019〕19号 fails a site or account outright on any single-veto
indicator (单项否决) and only then scores the rest. The report follows that
order: single-veto items first (stale portal, columns and new-media accounts;
overdue mandatory items; personal data published; unanswered consultations
where that part exists), then the deduction items (解读比例, link findings on
published pages, deadlines met on time, records no one can act on, items not in
the catalog). Every item carries the records behind it, so the office can act
on each one.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.checks.findings import PERSONAL_DATA
from hub.office.interpretation import ratios, totals
from hub.office.overdue import Desk, evaluate
from hub.office.stale import Watch, watch
from hub.store.models import FindingRow, RecordRow, VersionRow

PASS, FAIL, WARN, NA = "pass", "fail", "warn", "n/a"
STATUS_NAMES = {PASS: "达标", FAIL: "不达标", WARN: "需关注", NA: "不适用"}


@dataclass
class Check:
    """One indicator: its verdict, a sentence, and the records (or places) behind it."""

    key: str
    name: str
    veto: bool
    status: str
    summary: str
    items: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Report:
    today: dt.date
    checks: list[Check]

    @property
    def vetoed(self) -> bool:
        """Would the county fail outright (any single-veto indicator not met)?"""
        return any(c.veto and c.status == FAIL for c in self.checks)

    def to_json(self) -> dict[str, Any]:
        return {"today": self.today.isoformat(), "vetoed": self.vetoed,
                "single_veto": [c.to_json() for c in self.checks if c.veto],
                "other": [c.to_json() for c in self.checks if not c.veto]}


def _stale(watches: list[Watch], kinds: tuple[str, ...], key: str, name: str) -> Check:
    bad = [w for w in watches if w.kind in kinds and w.stale]
    items = [{"name": w.name, "channel": w.channel, "idle_days": w.idle_days, "window_days": w.window_days,
              "last": w.to_json()["last"]} for w in bad]
    summary = "均在时限内有更新。" if not bad else f"{len(bad)} 处超过时限未更新：" + "、".join(w.name for w in bad)
    return Check(key, name, True, FAIL if bad else PASS, summary, items)


def _published_findings(session: Session, kinds: frozenset[str] | set[str]) -> list[dict[str, Any]]:
    q = (select(VersionRow.record_id, VersionRow.version, VersionRow.title, VersionRow.department, FindingRow.kind,
                FindingRow.excerpt, FindingRow.waived_by)
         .join(FindingRow, FindingRow.version == VersionRow.version)
         .join(RecordRow, RecordRow.current_version == VersionRow.version)
         .where(VersionRow.state == "published", FindingRow.kind.in_(sorted(kinds)))
         .order_by(VersionRow.record_id))
    return [{"record_id": r, "version": v, "title": t, "department": d, "kind": k, "excerpt": e, "waived_by": w}
            for r, v, t, d, k, e, w in session.execute(q)]


def inspect(session: Session, *, today: dt.date | None = None, desk: Desk | None = None,
            watches: list[Watch] | None = None) -> Report:
    """Score the county now; the same answer on the console page and in ``hub inspect``."""
    desk = desk or evaluate(session, today=today)
    watches = watches if watches is not None else watch(session)
    checks: list[Check] = [
        _stale(watches, ("portal",), "site_stale", "网站不更新"),
        _stale(watches, ("column",), "column_stale", "栏目不更新"),
        _stale(watches, ("account",), "new_media_stale", "政务新媒体不更新（两周）"),
    ]
    late = desk.overdue
    checks.append(Check(
        "overdue_mandatory", "法定公开事项逾期未公开", True, FAIL if late else PASS,
        "没有逾期未公开的法定事项。" if not late else f"{len(late)} 项超过公开时限仍未在全部规定渠道公开。",
        [e.to_json() for e in late]))
    pii = _published_findings(session, PERSONAL_DATA)
    checks.append(Check(
        "personal_data", "公开了未脱敏的个人信息", True, FAIL if pii else PASS,
        "已发布的信息中没有检出身份证号、手机号或银行卡号。" if not pii else
        f"{len({p['record_id'] for p in pii})} 条已发布信息含有经豁免发布的个人信息，请核实是否已脱敏。", pii))
    checks.append(Check("consultation", "互动回应差（咨询长期未回复）", True, NA,
                        "本平台尚无咨询留言栏目，此项由政府网站互动平台自查。"))
    # --- the rest (扣分项) ---
    rows = ratios(session)
    per_dept = totals(rows)
    low = [r for r in per_dept.values() if r.policies and r.ratio < 1]
    checks.append(Check(
        "interpretation_ratio", "政策解读比例", False, WARN if low else PASS,
        "没有需要解读的政策文件。" if not per_dept else "；".join(
            f"{d}：{r.interpreted}/{r.policies}" for d, r in sorted(per_dept.items())),
        [{**r.to_json()} for r in rows]))
    links = _published_findings(session, {"link_malformed", "link_unknown_host", "link_dead"})
    checks.append(Check("links", "链接可用性", False, WARN if links else PASS,
                        "已发布信息中没有失效或可疑链接。" if not links else f"{len(links)} 处链接有问题。", links))
    due = len(desk.outcomes)
    on_time = sum(o.on_time for o in desk.outcomes)
    checks.append(Check(
        "on_time", "按时限公开", False, PASS if due == on_time else WARN,
        f"已到期 {due} 项，按时在全部规定渠道公开 {on_time} 项。",
        [asdict(o) | {"due": o.due.isoformat(), "completed": o.completed.isoformat() if o.completed else None}
         for o in desk.outcomes if not o.on_time]))
    orphans = [{"record_id": r, "version": v, "title": t, "state": st} for r, v, t, st in session.execute(
        select(VersionRow.record_id, VersionRow.version, VersionRow.title, VersionRow.state)
        .join(RecordRow, RecordRow.current_version == VersionRow.version)
        .where(VersionRow.department.is_(None), VersionRow.state.in_(["draft", "in_review", "approved", "rejected"])))]
    checks.append(Check("no_department", "无责任部门的记录（无人可办理）", False, WARN if orphans else PASS,
                        "所有待办记录都有责任部门。" if not orphans else
                        f"{len(orphans)} 条记录没有责任部门，只有政务公开办能办理，请指定部门。", orphans))
    unknown = [{"record_id": r, "item": i} for r, i in desk.unknown_items]
    checks.append(Check("unknown_items", "目录外事项", False, WARN if unknown else PASS,
                        "所有记录的事项都在公开目录中。" if not unknown else f"{len(unknown)} 条记录的事项不在目录中。",
                        unknown))
    return Report(desk.today, checks)
