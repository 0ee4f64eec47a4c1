"""Reply deadlines on the county calendar: due day, due soon / overdue on the dashboards, reminders, escalation."""

from __future__ import annotations

import datetime as dt
from typing import Any

from consultkit import first_item_topic

from hub.consult import deadlines, intake
from hub.store.db import session_scope
from hub.store.models import ConsultationRow
from hub.timeutil import SHANGHAI

FRIDAY = dt.datetime(2026, 11, 27, 10, 0, tzinfo=SHANGHAI)


def _ask(title: str = "补贴发放时间", now: dt.datetime = FRIDAY) -> int:
    q = intake.Question(topic=first_item_topic(), title=title, text=f"{title}是什么时候？请告知。")
    return intake.ask(q, client_key="test", now=now).id


def test_the_reply_is_due_five_working_days_later_skipping_the_weekend(phone_key: None) -> None:
    qid = _ask()
    with session_scope() as s:
        row = s.get(ConsultationRow, qid)
        assert row is not None and row.due_on == dt.date(2026, 12, 4)
        assert deadlines.status(row, dt.date(2026, 12, 1)) == "open"
        assert deadlines.status(row, dt.date(2026, 12, 3)) == "due_soon"
        assert deadlines.status(row, dt.date(2026, 12, 4)) == "due_soon"
        assert deadlines.status(row, dt.date(2026, 12, 7)) == "overdue"


def test_the_national_day_holiday_does_not_count(phone_key: None) -> None:
    from hub.office.calendar import get_calendar

    qid = _ask(now=dt.datetime(2026, 9, 30, 10, 0, tzinfo=SHANGHAI))
    with session_scope() as s:
        row = s.get(ConsultationRow, qid)
        assert row is not None
        assert row.due_on > dt.date(2026, 10, 8)  # the whole holiday week is skipped
        assert get_calendar().workdays_between(dt.date(2026, 9, 30), row.due_on) == 5


def test_overdue_questions_show_on_the_departments_and_the_offices_dashboards(as_staff: Any) -> None:
    qid = _ask(title="逾期未答复的问题", now=dt.datetime(2026, 1, 5, 10, 0, tzinfo=SHANGHAI))
    assert "逾期未答复的问题" in as_staff("author").get("/console").text
    office = as_staff("office").get("/console/office").text
    assert "逾期未答复的问题" in office and f"/console/consult/{qid}" in office
    assert "逾期未答复的问题" not in as_staff("fin-author").get("/console").text


def test_reminders_and_escalation_are_mailed_once(sandbox: Any, staff: None) -> None:
    from hub import auth
    from hub.store.models import UserRow

    with session_scope() as s:
        for name, email in (("author", "author@hanyin.gov.cn"), ("office", "office@hanyin.gov.cn")):
            user = auth.get_user(s, name)
            assert isinstance(user, UserRow)
            user.email = email
    soon = _ask(title="快到期的问题")
    late = _ask(title="已逾期的问题", now=dt.datetime(2026, 11, 2, 10, 0, tzinfo=SHANGHAI))
    with session_scope() as s:
        done = deadlines.remind(s, on=dt.date(2026, 12, 3))
    assert done == {"reminded": [soon], "escalated": [late]}
    with session_scope() as s:
        assert deadlines.remind(s, on=dt.date(2026, 12, 3)) == {"reminded": [], "escalated": []}
    mails = {m["account"]: m["content"]["subject"] for m in sandbox.messages(None, "mail")}
    assert mails.keys() == {"author@hanyin.gov.cn", "office@hanyin.gov.cn"}, mails
    assert "快到期的问题" in mails["author@hanyin.gov.cn"] and "已逾期的问题" in mails["office@hanyin.gov.cn"]
