"""督办 as a task: whom it reaches, the e-mail notice through the county's SMTP relay, and the watchdog."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from officekit import DEPT, confirm, record, save

from hub import auth
from hub.errors import WorkflowError
from hub.office import urges
from hub.office.settings import OfficeSettings
from hub.office.stale import watch
from hub.store.db import session_scope
from hub.store.models import UserRow
from hub.timeutil import utcnow


def _staff(s: Any, *, email: str | None = None) -> None:
    for name, role in (("author", "author"), ("office", "office"), ("reviewer", "reviewer")):
        s.add(UserRow(name=name, password_hash="-", role=role, department=DEPT, created_at=utcnow(),
                      email=email if name == "author" else None))


def test_an_urge_reaches_the_records_author_by_e_mail_through_the_smtp_relay(sandbox: Any) -> None:
    with session_scope() as s:
        _staff(s, email="author@hanyin.gov.cn")
        version = save(s, record(), actor="author")
    with session_scope() as s:
        u = urges.create(s, version, "office", note="请于本周内公开", notify=True)
        assert u.assignee == "author" and u.notified == "已发邮件至 author@hanyin.gov.cn"
    [mail] = sandbox.messages("newspaper")
    assert mail["account"] == "author@hanyin.gov.cn"
    assert "政务公开督办" in mail["content"]["subject"]


def test_an_urge_without_an_address_on_file_says_so_and_is_still_a_task(db_url: str) -> None:
    with session_scope(db_url) as s:
        _staff(s)
        version = save(s, record(), actor="author")
    with session_scope(db_url) as s:
        u = urges.create(s, version, "office", note="请尽快", notify=True)
        assert u.notified == "未发送邮件：该账号没有登记工作邮箱"
    with session_scope(db_url) as s:
        assert [x.note for x in urges.open_for(s, "author")] == ["请尽快"]


def test_a_record_nobody_can_answer_for_cannot_be_urged_without_naming_a_person(db_url: str) -> None:
    with session_scope(db_url) as s:
        s.add(UserRow(name="office", password_hash="-", role="office", department=DEPT, created_at=utcnow()))
        version = save(s, record(department=None), actor="system")
    with session_scope(db_url) as s, pytest.raises(WorkflowError, match="请指定督办对象"):
        urges.create(s, version, "office", note="x")
    with session_scope(db_url) as s:
        assert urges.create(s, version, "office", note="x", assignee="office").assignee == "office"


def test_only_the_office_may_urge(db_url: str) -> None:
    with session_scope(db_url) as s:
        _staff(s)
        version = save(s, record(), actor="author")
    with session_scope(db_url) as s, pytest.raises(auth.PermissionDenied):
        urges.create(s, version, "reviewer", note="x")


def test_the_watchdog_flags_a_new_media_account_idle_for_two_weeks_and_a_column_never_updated(db_url: str) -> None:
    now = dt.datetime(2026, 12, 3, 2, tzinfo=dt.UTC)
    with session_scope(db_url) as s:
        version = save(s, record(), state="published")
        confirm(s, "rec-1", version, "wechat", now - dt.timedelta(days=20))
        confirm(s, "rec-1", version, "weibo", now - dt.timedelta(days=3))
    targets = {"wechat-t": "wechat", "weibo-t": "weibo", "sms-t": "sms"}
    with session_scope(db_url) as s:
        got = {(w.kind, w.name): w for w in watch(s, now=now, targets=targets, settings=OfficeSettings())}
    assert got[("account", "wechat-t")].stale and got[("account", "wechat-t")].idle_days == 20
    assert not got[("account", "weibo-t")].stale
    assert ("account", "sms-t") not in got  # SMS is not a 政务新媒体 account
    assert got[("column", "征地补偿")].stale and got[("column", "征地补偿")].last is None


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_hub_urges_escalate_from_cron_reaches_the_reviewers(db_url: str) -> None:
    from typer.testing import CliRunner

    from hub.cli import _register, app

    with session_scope(db_url) as s:
        _staff(s)
        version = save(s, record(), actor="author")
    with session_scope(db_url) as s:
        due = urges.create(s, version, "office", note="请尽快").due_on
    _register()
    listed = CliRunner().invoke(app, ["urges", "list", "--json"])
    assert listed.exit_code == 0 and '"assignee": "author"' in listed.stdout
    out = CliRunner().invoke(app, ["urges", "escalate", "--today", (due + dt.timedelta(days=1)).isoformat()])
    assert out.exit_code == 0 and "rec-1 → reviewer" in out.stdout
    with session_scope(db_url) as s:
        assert [u.assignee for u in urges.open_for(s, "reviewer")] == ["author"]  # on the reviewer's desk too
