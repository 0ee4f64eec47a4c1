"""The office's desk in the console: 督办 reaches the urged author; deadlines on the record and dashboards."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

from web_helpers import DEPT, TestClient, csrf_of, make_record

from hub.store import repo
from hub.store.db import session_scope


def _draft(**fields: object) -> str:
    from hub import workflow

    with session_scope() as s:
        return workflow.save_draft(s, make_record(**fields), actor="author").version


def _urge(office: TestClient, version: str, **form: str) -> str:
    token = csrf_of(office, f"/console/v/{version}")
    r = office.post(f"/console/v/{version}/urge", data={"csrf_token": token, **form}, follow_redirects=False)
    assert r.status_code == 303, r.text
    return str(r.headers["location"])


def test_an_urge_shows_on_the_authors_dashboard_and_record_page_until_the_author_closes_it(
        as_role: Callable[[str], TestClient]) -> None:
    version = _draft()
    due = (dt.date.today() + dt.timedelta(days=7)).isoformat()
    where = _urge(as_role("office"), version, comment="请本周内提交审核并公开", due_on=due)
    assert "msg=" in where
    author = as_role("author")
    page = author.get("/console").text
    assert "督办事项（1）" in page and "请本周内提交审核并公开" in page and due in page
    assert "请本周内提交审核并公开" not in as_role("reviewer").get("/console").text  # not theirs
    record_page = author.get(f"/console/v/{version}").text
    assert "确认收到" in record_page and "办结" in record_page
    urge_id = int(re.search(r"/console/urges/(\d+)/ack", record_page).group(1))  # type: ignore[union-attr]
    token = csrf_of(author, f"/console/v/{version}")
    assert author.post(f"/console/urges/{urge_id}/ack", data={"csrf_token": token},
                       follow_redirects=False).status_code == 303
    # the office cannot answer for the author
    office = as_role("office")
    denied = office.post(f"/console/urges/{urge_id}/close", data={"csrf_token": csrf_of(office), "reply": "x"})
    assert denied.status_code == 409 and "不是该督办的办理人" in denied.text
    r = author.post(f"/console/urges/{urge_id}/close", data={"csrf_token": token, "reply": "已提交审核"},
                    follow_redirects=False)
    assert r.status_code == 303
    assert "督办事项" not in author.get("/console").text
    assert "办理情况：已提交审核" in author.get(f"/console/v/{version}").text
    with session_scope() as s:
        actions = [a.action for a in repo.audit_rows(s, subject="rec-2026-001")]
    assert {"record.urge", "urge.acknowledge", "urge.close"} <= set(actions)


def test_an_urge_with_a_past_due_day_is_refused_in_words_outside_the_success_box(
        as_role: Callable[[str], TestClient]) -> None:
    version = _draft()
    where = _urge(as_role("office"), version, comment="x", due_on="2020-01-01")
    assert "err=" in where and "msg=" not in where
    page = as_role("office").get(where).text
    assert 'class="flash flash-error"' in page and "已过" in page


def test_an_urge_ignored_past_its_due_day_is_escalated_to_the_departments_reviewers(
        as_role: Callable[[str], TestClient]) -> None:
    from hub.office import urges

    version = _draft()
    _urge(as_role("office"), version, comment="请尽快办理")
    with session_scope() as s:
        (u,) = urges.open_all(s)
        done = urges.escalate_due(s, today=u.due_on + dt.timedelta(days=1))
        assert [x.id for x in done] == [u.id] and set(u.escalated_to) == {"reviewer", "reviewer2"}
        assert urges.escalate_due(s, today=u.due_on + dt.timedelta(days=2)) == []  # once
    assert "请尽快办理" in as_role("reviewer").get("/console").text
    with session_scope() as s:
        assert [a.action for a in repo.audit_rows(s, action="urge.escalate")] == ["urge.escalate"]


def test_the_record_page_shows_its_must_publish_by_day_and_the_office_page_lists_the_overdue(
        as_role: Callable[[str], TestClient]) -> None:
    version = _draft(domain="扶贫救灾", item="扶贫政策", written_on=dt.date(2026, 9, 1))
    page = as_role("author").get(f"/console/v/{version}").text
    assert "应于 2026-09-29 前公开" in page
    office = as_role("office").get("/console/office").text
    assert DEPT in office and "逾期" in office and "栏目与账号更新监测" in office
    assert "扶贫政策" in as_role("author").get("/console").text


def test_the_self_check_page_shows_single_veto_items_first(as_role: Callable[[str], TestClient]) -> None:
    _draft(domain="扶贫救灾", item="扶贫政策", written_on=dt.date(2026, 9, 1))
    page = as_role("office").get("/console/inspect").text
    assert page.index("单项否决指标") < page.index("法定公开事项逾期未公开") < page.index("其他指标")
    assert "flash-error" in page and "汉阴县2026年第一批征地补偿公示" in page.split("其他指标")[0]
    assert as_role("author").get("/console/inspect").status_code == 403


def test_the_event_day_an_author_gives_on_the_form_is_what_the_deadline_counts_from(
        as_role: Callable[[str], TestClient]) -> None:
    author = as_role("author")
    r = author.post("/console/records", follow_redirects=False, data={
        "csrf_token": csrf_of(author, "/console/records/new"), "title": "扶贫项目资金安排公告", "department": DEPT,
        "domain": "扶贫救灾", "item": "扶贫项目及资金安排", "written_on": "2026-09-01", "event_on": "2026-09-21",
        "body": "项目已批准。"})
    assert r.status_code == 303, r.text
    page = author.get(r.headers["location"]).text
    assert "应于 2026-10-26 前公开" in page and "自事件日期计" in page  # 20 working days from 2026-09-21
    version = r.headers["location"].split("/console/v/")[1].split("?")[0]
    assert 'value="2026-09-21"' in author.get(f"/console/v/{version}/edit").text
