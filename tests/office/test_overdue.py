"""Deadlines from the catalog's 公开时限, and the overdue list that drives the work."""

from __future__ import annotations

import datetime as dt

import pytest
from officekit import DEPT, OTHER, confirm, record, save
from typer.testing import CliRunner

from hub.catalog import get_catalog
from hub.office.calendar import WorkCalendar
from hub.office.deadlines import Kind, Unit, parse_deadline, periods
from hub.office.overdue import evaluate
from hub.office.settings import OfficeSettings
from hub.store.db import session_scope
from hub.timeutil import SHANGHAI

CAL = WorkCalendar()
NO_PERIODS = OfficeSettings(expect_since=None)


def _at(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(10), tzinfo=SHANGHAI)


def test_every_catalog_deadline_parses_into_a_rule() -> None:
    texts = {i.deadline for d in get_catalog().domains for i in d.items}
    rules = {t: parse_deadline(t) for t in texts}
    assert rules["政策制定或变更之日起20个工作日内"].kind is Kind.AFTER
    assert (rules["政策制定或变更之日起20个工作日内"].n, rules["政策制定或变更之日起20个工作日内"].unit) == (
        20, Unit.WORKDAYS)
    assert rules["实时"].kind is Kind.IMMEDIATE
    assert rules["发放前公示，公示期不少于7日"].kind is Kind.BEFORE
    assert rules["发放前公示，公示期不少于7日"].posting_days == 7
    assert rules["年度结束后3个月内"].unit is Unit.MONTHS
    assert rules["审核后公示不少于7日"].fallback  # no deadline in the text: the 条例's 20 working days


def test_the_deadline_counts_working_days_across_national_day() -> None:
    rule = parse_deadline("信息形成或者变更之日起20个工作日内")
    # 2026-09-21 + 20 working days: Sept 25 (中秋) and Oct 1–7 off, Sept 20 / Oct 10 worked
    assert rule.due(dt.date(2026, 9, 21), CAL) == dt.date(2026, 10, 26)
    assert parse_deadline("年度结束后3个月内").due(dt.date(2025, 12, 31), CAL) == dt.date(2026, 3, 31)


def test_quarters_are_calendar_aligned_and_only_whole_ended_ones_count() -> None:
    got = periods(92, dt.date(2026, 2, 1), dt.date(2026, 10, 15))
    assert [(p.start, p.end, p.label) for p in got] == [
        (dt.date(2026, 4, 1), dt.date(2026, 6, 30), "2026年第2季度"),
        (dt.date(2026, 7, 1), dt.date(2026, 9, 30), "2026年第3季度"),
    ]


def test_a_record_past_its_deadline_is_overdue_until_every_required_channel_is_confirmed(db_url: str) -> None:
    item = get_catalog().find_item("扶贫政策")
    assert item is not None
    required = item[1].channels
    assert len(required) > 1
    today = dt.date(2026, 10, 20)
    with session_scope(db_url) as s:
        version = save(s, record(written_on=dt.date(2026, 9, 1)), state="published")
        fresh = save(s, record("rec-2", written_on=dt.date(2026, 10, 16), department=OTHER), state="draft")
    with session_scope(db_url) as s:
        desk = evaluate(s, today=today, settings=NO_PERIODS)
    late = {e.record_id: e for e in desk.overdue}
    assert set(late) == {"rec-1"}
    assert late["rec-1"].due == dt.date(2026, 9, 29)  # 20 working days from 成文日期 2026-09-01 (中秋 off)
    assert late["rec-1"].missing_channels == required
    assert late["rec-1"].department == DEPT and late["rec-1"].version == version
    soon = {e.record_id for e in desk.due_soon}
    assert "rec-2" not in soon  # due 2026-11-13, beyond the five-working-day window
    with session_scope(db_url) as s:
        assert [e.record_id for e in evaluate(s, today=dt.date(2026, 11, 10), settings=NO_PERIODS).due_soon] == [
            "rec-2"]
        assert fresh
    with session_scope(db_url) as s:
        for channel in required[:-1]:
            confirm(s, "rec-1", version, channel, _at(dt.date(2026, 10, 19)))
    with session_scope(db_url) as s:
        still = [e for e in evaluate(s, today=today, settings=NO_PERIODS).overdue if e.record_id == "rec-1"]
    assert [e.missing_channels for e in still] == [(required[-1],)]
    with session_scope(db_url) as s:
        confirm(s, "rec-1", version, required[-1], _at(dt.date(2026, 10, 20)))
    with session_scope(db_url) as s:
        desk = evaluate(s, today=today, settings=NO_PERIODS)
    assert not [e for e in desk.entries if e.record_id == "rec-1"]
    outcome = next(o for o in desk.outcomes if o.record_id == "rec-1")
    assert not outcome.on_time and outcome.completed == dt.date(2026, 10, 20)


def test_a_record_confirmed_on_every_channel_in_time_is_compliant(db_url: str) -> None:
    with session_scope(db_url) as s:
        version = save(s, record(written_on=dt.date(2026, 9, 1)), state="published")
        item = get_catalog().find_item("扶贫政策")
        assert item is not None
        for channel in item[1].channels:
            confirm(s, "rec-1", version, channel, _at(dt.date(2026, 9, 10)))
    with session_scope(db_url) as s:
        desk = evaluate(s, today=dt.date(2026, 10, 20), settings=NO_PERIODS)
    assert not desk.entries
    assert [(o.record_id, o.on_time) for o in desk.outcomes] == [("rec-1", True)]


def test_a_missing_quarterly_record_is_overdue_and_a_record_of_that_quarter_satisfies_it(db_url: str) -> None:
    settings = OfficeSettings(expect_since=dt.date(2026, 7, 1))
    with session_scope(db_url) as s:
        desk = evaluate(s, today=dt.date(2026, 11, 20), settings=settings)
    missing = [e for e in desk.overdue if e.kind == "expected" and e.item == "特困人员救助供养"]
    assert [e.period for e in missing] == ["2026年第3季度"]
    assert missing[0].due == CAL.add_workdays(dt.date(2026, 9, 30), 20)
    with session_scope(db_url) as s:
        save(s, record("rec-q3", domain="社会救助", item="特困人员救助供养", written_on=dt.date(2026, 8, 5)))
    with session_scope(db_url) as s:
        desk = evaluate(s, today=dt.date(2026, 11, 20), settings=settings)
    assert not [e for e in desk.entries if e.kind == "expected" and e.item == "特困人员救助供养"]
    assert [e.record_id for e in desk.overdue if e.item == "特困人员救助供养"] == ["rec-q3"]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_hub_overdue_prints_json_and_exits_1_when_something_is_late(db_url: str) -> None:
    import json

    from hub.cli import _register, app

    with session_scope(db_url) as s:
        save(s, record(written_on=dt.date(2026, 9, 1)), state="published")
    _register()
    out = CliRunner().invoke(app, ["overdue", "--json", "--today", "2026-10-20"])
    assert out.exit_code == 1, out.output
    data = json.loads(out.stdout)
    assert [e["record_id"] for e in data["overdue"] if e["kind"] == "record"] == ["rec-1"]
    text = CliRunner().invoke(app, ["overdue", "--today", "2026-10-20", "--department", DEPT])
    assert "rec-1" in text.stdout and "逾期" in text.stdout
