"""Which records are late, which are due soon, and which periodic records are missing.

A record's deadline: its catalog item's rule (``hub.office.deadlines``) counted
from its event day: the ``event_on`` the author gave (``Record.extra``), else its
成文日期, else the day it entered the hub. **Compliant = every required channel of
the item confirmed in the delivery ledger by that day.** A record leaves the
overdue list when the last required channel is confirmed (then it counts as
"late" in the compliance figures if that was after the deadline).

Periodic items (季度, 年度, …) expect one record per period from
``office.toml: expect_since``; a period without one is listed as missing.

Everything is computed from what is stored (versions, the ledger's confirmed
events): nothing to keep in sync, and the same answer on the console, in
``hub overdue`` and in ``hub inspect``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hub.catalog import Catalog, Item, get_catalog
from hub.office.calendar import WorkCalendar, get_calendar
from hub.office.deadlines import Kind, Rule, parse_deadline, periods
from hub.office.settings import OfficeSettings, get_office_settings
from hub.record import LEVEL_NAMES, Level
from hub.store.models import DeliveryEventRow, DeliveryRow, RecordRow, VersionRow
from hub.timeutil import to_local, utcnow

#: ``Record.extra`` key of the event day (事件日期) an author gives, YYYY-MM-DD.
EVENT_KEY = "event_on"

OVERDUE, DUE_SOON = "overdue", "due_soon"


def today_local() -> dt.date:
    """Today in the county (Asia/Shanghai)."""
    return to_local(utcnow()).date()


@dataclass(frozen=True, slots=True)
class Entry:
    """One line of the due-soon / overdue lists."""

    status: str  # overdue | due_soon
    kind: str  # record | expected (a periodic record nobody made)
    domain: str
    item: str
    due: dt.date
    rule: str
    workdays_late: int = 0
    record_id: str | None = None
    version: str | None = None
    title: str | None = None
    state: str | None = None
    department: str | None = None
    level: str | None = None
    region: str | None = None
    period: str | None = None
    missing_channels: tuple[str, ...] = ()
    note: str | None = None

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["due"] = self.due.isoformat()
        out["missing_channels"] = list(self.missing_channels)
        return out

    @property
    def where(self) -> str:
        """Department, township or village, as the lists group them."""
        if self.kind == "expected":
            return "周期性事项（全县）"
        if self.level == Level.VILLAGE and self.region:
            return f"{self.region}（村级）"
        if self.level == Level.TOWNSHIP and self.region:
            return f"{self.region}（乡级）"
        return self.department or "（未指定部门）"


@dataclass(frozen=True, slots=True)
class Outcome:
    """A record whose deadline came: published on time on every required channel, or late."""

    record_id: str
    department: str | None
    item: str
    due: dt.date
    completed: dt.date | None  # the day the last required channel was confirmed
    on_time: bool


@dataclass
class Desk:
    """The lists and figures of one evaluation (``evaluate``)."""

    today: dt.date
    entries: list[Entry] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)
    unknown_items: list[tuple[str, str]] = field(default_factory=list)  # (record_id, item)
    uncovered_years: list[int] = field(default_factory=list)

    @property
    def overdue(self) -> list[Entry]:
        return [e for e in self.entries if e.status == OVERDUE]

    @property
    def due_soon(self) -> list[Entry]:
        return [e for e in self.entries if e.status == DUE_SOON]

    def for_department(self, department: str | None) -> list[Entry]:
        return [e for e in self.entries if e.department == department]

    def grouped(self) -> dict[str, list[Entry]]:
        """Entries by department, township or village (``Entry.where``), most overdue groups first."""
        out: dict[str, list[Entry]] = defaultdict(list)
        for e in self.entries:
            out[e.where].append(e)
        return dict(sorted(out.items(), key=lambda kv: (-sum(e.status == OVERDUE for e in kv[1]), kv[0])))

    def to_json(self) -> dict[str, Any]:
        return {
            "today": self.today.isoformat(),
            "overdue": [e.to_json() for e in self.overdue],
            "due_soon": [e.to_json() for e in self.due_soon],
            "compliance": {"due": len(self.outcomes), "on_time": sum(o.on_time for o in self.outcomes),
                           "late": sum(not o.on_time for o in self.outcomes)},
            "unknown_items": [{"record_id": r, "item": i} for r, i in self.unknown_items],
            "uncovered_years": self.uncovered_years,
        }


def reference_day(row: VersionRow, record_extra: dict[str, str], written_on: dt.date | None) -> tuple[dt.date, str]:
    """The day a deadline counts from, and which one it is (事件日期, 成文日期 or 录入日期)."""
    raw = record_extra.get(EVENT_KEY, "").strip()
    if raw:
        try:
            return dt.date.fromisoformat(raw), "事件日期"
        except ValueError:
            pass
    if written_on is not None:
        return written_on, "成文日期"
    return to_local(row.created_at).date(), "录入日期"


def _dates(row: VersionRow) -> tuple[dict[str, str], dt.date | None]:
    """``extra`` and 成文日期 of a stored version, read from its canonical JSON without rebuilding the model.

    Why not ``Record.model_validate_json``: validating every current version was most of the cost of
    a dashboard (the content is the hub's own canonical JSON, validated when it was saved).
    """
    data = json.loads(row.content)
    extra = data.get("extra") or {}
    raw = data.get("written_on")
    try:
        written = dt.date.fromisoformat(raw) if isinstance(raw, str) and raw else None
    except ValueError:
        written = None
    return ({str(k): str(v) for k, v in extra.items()} if isinstance(extra, dict) else {}), written


def confirmed_days(session: Session, record_ids: list[str]) -> dict[str, dict[str, dt.date]]:
    """record id → channel → the local day its first delivery on that channel was confirmed."""
    out: dict[str, dict[str, dt.date]] = defaultdict(dict)
    if not record_ids:
        return out
    q = (
        select(DeliveryRow.record_id, DeliveryRow.channel, func.min(DeliveryEventRow.at))
        .join(DeliveryEventRow, DeliveryEventRow.delivery_id == DeliveryRow.id)
        .where(DeliveryEventRow.to_state == "confirmed", DeliveryRow.record_id.in_(record_ids))
        .group_by(DeliveryRow.record_id, DeliveryRow.channel)
    )
    for record_id, channel, at in session.execute(q):
        if at is not None:
            when = at if at.tzinfo is not None else at.replace(tzinfo=dt.UTC)
            out[str(record_id)][str(channel)] = to_local(when).date()
    return out


def _item(catalog: Catalog, domain: str | None, item: str) -> tuple[str, Item] | None:
    d = catalog.domain(domain) if domain else None
    if d is not None and d.item(item) is not None:
        found = d.item(item)
        assert found is not None
        return d.name, found
    hit = catalog.find_item(item)
    return None if hit is None else (hit[0].name, hit[1])


def _status(due: dt.date, today: dt.date, soon: dt.date) -> str | None:
    if due < today:
        return OVERDUE
    return DUE_SOON if due <= soon else None


def evaluate(
    session: Session,
    *,
    today: dt.date | None = None,
    catalog: Catalog | None = None,
    cal: WorkCalendar | None = None,
    settings: OfficeSettings | None = None,
) -> Desk:
    """Every open deadline of the county on ``today`` (local), and the outcomes of those that came."""
    today = today or today_local()
    catalog = catalog or get_catalog()
    cal = cal or get_calendar()
    settings = settings or get_office_settings()
    soon = cal.add_workdays(today, settings.due_soon_workdays)
    desk = Desk(today=today)
    rows = list(
        session.scalars(
            select(VersionRow)
            .join(RecordRow, RecordRow.current_version == VersionRow.version)
            .where(VersionRow.item.is_not(None), VersionRow.state != "withdrawn")
        )
    )
    confirmed = confirmed_days(session, [r.record_id for r in rows])
    seen: dict[str, list[dt.date]] = defaultdict(list)  # item → reference days of its records
    years: set[int] = set()
    for row in rows:
        hit = _item(catalog, row.domain, row.item or "")
        if hit is None:
            desk.unknown_items.append((row.record_id, row.item or ""))
            continue
        domain, item = hit
        extra, written_on = _dates(row)
        ref, ref_name = reference_day(row, extra, written_on)
        seen[item.name].append(ref)
        rule = parse_deadline(item.deadline)
        due = rule.due(ref, cal)
        years.update({ref.year, due.year})
        note = None
        if rule.kind is Kind.BEFORE and ref_name != "事件日期":
            note = "该事项须在事件前公开，请填写事件日期（如发放日、开始日）"
        got = confirmed.get(row.record_id, {})
        missing = tuple(c for c in item.channels if c not in got)
        if not missing:
            completed = max(got[c] for c in item.channels)
            if due < today or completed <= due:
                desk.outcomes.append(Outcome(row.record_id, row.department, item.name, due, completed,
                                             completed <= due))
            continue
        status = _status(due, today, soon)
        if status is None:
            continue
        desk.entries.append(Entry(
            status=status, kind="record", domain=domain, item=item.name, due=due, rule=_rule_words(rule, ref_name),
            workdays_late=cal.workdays_between(due, today), record_id=row.record_id, version=row.version,
            title=row.title, state=row.state, department=row.department, level=row.level, region=row.region,
            missing_channels=missing, note=note))
        if due < today:
            desk.outcomes.append(Outcome(row.record_id, row.department, item.name, due, None, False))
    if settings.expect_since is not None:
        _expected(desk, catalog, cal, settings.expect_since, today, soon, seen)
    desk.entries.sort(key=lambda e: (e.status != OVERDUE, e.kind != "record", e.due, e.item))
    desk.uncovered_years = cal.uncovered_years(*(dt.date(y, 1, 1) for y in years | {today.year}))
    return desk


def _rule_words(rule: Rule, ref_name: str) -> str:
    return f"{rule.text}（自{ref_name}计）"


def _expected(desk: Desk, catalog: Catalog, cal: WorkCalendar, since: dt.date, today: dt.date, soon: dt.date,
              seen: dict[str, list[dt.date]]) -> None:
    """A periodic item's period that ended without a record of it is missing (overdue once its due day passed).

    One line per item and status: a weekly item missing since January is one line naming its periods,
    not fifty (the outcomes still count each period).
    """
    for domain in catalog.domains:
        for item in domain.items:
            rule = parse_deadline(item.deadline)
            missing: dict[str, list[tuple[str, dt.date]]] = defaultdict(list)
            for p in periods(item.cycle_days, since, today):
                if any(p.start <= d <= p.end for d in seen.get(item.name, ())):
                    continue
                due = rule.due(p.end, cal) if rule.kind is Kind.AFTER else p.end
                status = _status(due, today, soon)
                if status is None:
                    continue
                missing[status].append((p.label, due))
                if due < today:
                    desk.outcomes.append(Outcome(f"({item.name} {p.label})", None, item.name, due, None, False))
            for status, found in missing.items():
                labels = [label for label, _ in found]
                shown = "、".join(labels[:3]) + (f" 等 {len(labels)} 期" if len(labels) > 3 else "")
                first_due = min(due for _, due in found)
                desk.entries.append(Entry(
                    status=status, kind="expected", domain=domain.name, item=item.name, due=first_due,
                    rule=f"{item.cycle}更新；{item.deadline}", workdays_late=cal.workdays_between(first_due, today),
                    period=shown, missing_channels=tuple(item.channels), level=item.levels[0].value,
                    note=f"{shown}没有“{item.name}”的公开记录"))


def level_label(level: str | None) -> str:
    try:
        return LEVEL_NAMES[Level(level)] if level else ""
    except ValueError:
        return level or ""


@dataclass(frozen=True, slots=True)
class RecordDeadline:
    """One record's deadline as its page shows it."""

    item: str
    rule: str
    due: dt.date
    required: tuple[str, ...]
    confirmed: dict[str, dt.date]
    status: str  # on_time | late | overdue | due_soon | open
    note: str | None = None


def due_of(row: VersionRow) -> dt.date | None:
    """The must-publish-by of ``row``'s record on the county calendar (None: no catalog item).

    The same rule as ``deadline_of`` without the ledger: what the assessment measures a
    first publication against (``hub.metrics.ontime``).
    """
    if not row.item:
        return None
    hit = _item(get_catalog(), row.domain, row.item)
    if hit is None:
        return None
    extra, written_on = _dates(row)
    ref, _ = reference_day(row, extra, written_on)
    return parse_deadline(hit[1].deadline).due(ref, get_calendar())


def deadline_of(session: Session, row: VersionRow, *, today: dt.date | None = None) -> RecordDeadline | None:
    """The must-publish-by of ``row``'s record and how its required channels stand (None: no catalog item)."""
    if not row.item:
        return None
    catalog, cal = get_catalog(), get_calendar()
    hit = _item(catalog, row.domain, row.item)
    if hit is None:
        return None
    item = hit[1]
    today = today or today_local()
    extra, written_on = _dates(row)
    ref, ref_name = reference_day(row, extra, written_on)
    rule = parse_deadline(item.deadline)
    due = rule.due(ref, cal)
    got = confirmed_days(session, [row.record_id]).get(row.record_id, {})
    if all(c in got for c in item.channels):
        status = "on_time" if max(got[c] for c in item.channels) <= due else "late"
    else:
        soon = cal.add_workdays(today, get_office_settings().due_soon_workdays)
        status = _status(due, today, soon) or "open"
    note = None
    if rule.kind is Kind.BEFORE and ref_name != "事件日期":
        note = "该事项须在事件前公开，请填写事件日期（如发放日、开始日）"
    return RecordDeadline(item.name, _rule_words(rule, ref_name), due, tuple(item.channels), dict(got), status, note)
