"""Two-way 解读 links enforced at publication, the 解读比例, and the inspection self-check."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from officekit import DEPT, record, save
from typer.testing import CliRunner

from hub import workflow
from hub.errors import WorkflowError
from hub.office.inspection import inspect
from hub.office.interpretation import ratios
from hub.office.settings import OfficeSettings
from hub.office.stale import watch
from hub.store.db import session_scope
from hub.store.models import FindingRow, UserRow, VersionRow
from hub.timeutil import SHANGHAI, utcnow


def _office(s: object) -> None:
    s.add(UserRow(name="office", password_hash="-", role="office", department=DEPT, created_at=utcnow()))  # type: ignore[attr-defined]


def _published_on(s: object, version: str, day: dt.date) -> None:
    row = s.get(VersionRow, version)  # type: ignore[attr-defined]
    row.state, row.published_at = "published", dt.datetime.combine(day, dt.time(9), tzinfo=SHANGHAI)


def test_a_jiedu_pointing_at_no_published_policy_cannot_be_published(db_url: str) -> None:
    with session_scope(db_url) as s:
        _office(s)
        orphan = save(s, record("jd-1", title="《扶贫政策调整通知》政策解读", item=None, domain=None), state="approved")
        dangling = save(s, record("jd-2", title="图解：扶贫政策", interprets="policy-1", item=None, domain=None),
                        state="approved")
        policy = save(s, record("policy-1"), state="approved")
    with session_scope(db_url) as s, pytest.raises(WorkflowError, match="没有填写所解读的政策文件"):
        workflow.publish(s, orphan, "office")
    with session_scope(db_url) as s, pytest.raises(WorkflowError, match="policy-1 不存在或尚未发布"):
        workflow.publish(s, dangling, "office")
    with session_scope(db_url) as s:
        workflow.publish(s, policy, "office")
        workflow.publish(s, dangling, "office")  # now the policy is there
        assert s.get(VersionRow, dangling).state == "published"  # type: ignore[union-attr]
    with session_scope(db_url) as s:  # a title that merely mentions the word is no 解读
        v = save(s, record("p-2", title="关于做好政策解读工作的通知"), state="approved")
        workflow.publish(s, v, "office")


def test_the_jiedu_ratio_counts_policies_interpreted_within_the_working_days(db_url: str) -> None:
    with session_scope(db_url) as s:
        p1 = save(s, record("policy-1"))
        p2 = save(s, record("policy-2", title="关于调整低保政策的通知", domain="社会救助", item="最低生活保障政策"))
        jd = save(s, record("jd-1", title="政策解读：扶贫政策调整", interprets="policy-1", item=None, domain=None))
        late = save(s, record("jd-2", title="政策解读：低保政策", interprets="policy-2", item=None, domain=None))
        _published_on(s, p1, dt.date(2026, 9, 29))
        _published_on(s, jd, dt.date(2026, 10, 9))  # 3rd working day after (National Day off)
        _published_on(s, p2, dt.date(2026, 8, 3))
        _published_on(s, late, dt.date(2026, 8, 20))
    with session_scope(db_url) as s:
        got = {r.period: r for r in ratios(s, settings=OfficeSettings(interpretation_workdays=3))}
    assert (got["2026年第3季度"].policies, got["2026年第3季度"].interpreted) == (2, 1)
    assert [m["record_id"] for m in got["2026年第3季度"].missing] == ["policy-2"]


def test_the_self_check_lists_single_veto_items_first_with_the_records_behind_them(db_url: str) -> None:
    with session_scope(db_url) as s:
        late = save(s, record("late-1", written_on=dt.date(2026, 9, 1)))
        _published_on(s, late, dt.date(2026, 9, 2))
        pii = save(s, record("pii-1", title="低保对象名单公示", item=None, domain=None))
        _published_on(s, pii, dt.date(2026, 11, 30))
        s.add(FindingRow(version=pii, kind="id_number", line=1, column=1, excerpt="6109**********2515",
                         suggestion=None, blocking=True, waived_by="reviewer", waived_at=utcnow(),
                         waiver_reason="名单须公示"))
        save(s, record("orphan-1", department=None, item=None, domain=None))
    now = dt.datetime(2026, 12, 3, 2, tzinfo=dt.UTC)
    with session_scope(db_url) as s:
        report = inspect(s, today=dt.date(2026, 12, 3), watches=watch(s, now=now, targets={}))
    checks = {c.key: c for c in report.checks}
    assert report.vetoed
    first_other = next(i for i, c in enumerate(report.checks) if not c.veto)
    assert all(c.veto for c in report.checks[:first_other])
    assert checks["overdue_mandatory"].status == "fail"
    assert "late-1" in [i["record_id"] for i in checks["overdue_mandatory"].items]
    assert [i["record_id"] for i in checks["personal_data"].items] == ["pii-1"]
    assert checks["site_stale"].status == "pass"  # published three days ago
    assert checks["column_stale"].status == "fail"  # most domains never had a record
    assert [i["record_id"] for i in checks["no_department"].items] == ["orphan-1"]
    assert checks["consultation"].status == "n/a"


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_hub_inspect_prints_json_and_exits_1_on_a_veto(db_url: str) -> None:
    from hub.cli import _register, app

    _register()
    out = CliRunner().invoke(app, ["inspect", "--json"])
    assert out.exit_code == 1, out.output  # an empty county: the portal never updated
    data = json.loads(out.stdout)
    assert data["vetoed"] and data["single_veto"][0]["key"] == "site_stale"
