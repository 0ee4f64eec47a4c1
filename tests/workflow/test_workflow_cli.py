"""``hub show / list / user add / submit / approve / reject / waive / audit`` as a clerk runs them."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner
from workflowkit import DEPT, ID_NUMBER, WORD, Draft

import hub.commands.workflow  # noqa: F401 - registers the commands
from hub import auth
from hub.cli import app
from hub.store.db import session_scope


def hub(*args: str, input: str | None = None, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), input=input, env=env)
    return result.exit_code, result.stdout, result.stderr


def test_show_json_prints_the_contract_shape_and_show_prints_local_times(staff: str, draft: Draft) -> None:
    from datetime import datetime

    v = draft(findings=[ID_NUMBER], published_at=datetime(2017, 11, 15, 14, 52), doc_no="汉政办通字〔2017〕168号")
    code, out, err = hub("show", "rec-1", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["version"] == v and data["state"] == "draft"
    assert data["published_at"] == "2017-11-15T14:52:00+08:00"
    assert data["doc_no"] == "汉政办通字〔2017〕168号"
    assert data["findings"][0]["kind"] == "id_number" and data["findings"][0]["blocking"] is True

    code, out, _ = hub("show", v[:8])
    assert code == 0
    assert "公开日期    2017-11-15 14:52:00 (UTC+8)" in out
    assert f"#{data['findings'][0]['id']} BLOCKING id_number 8:5" in out
    assert "· → draft" in out and "author" in out


def test_a_clerk_submits_waives_and_approves_from_the_command_line(staff: str, draft: Draft) -> None:
    v = draft(findings=[ID_NUMBER, WORD])
    assert hub("submit", "rec-1", "--as", "author")[0] == 0
    code, _, err = hub("approve", "rec-1", "--as", "reviewer")
    assert code == 2 and err.startswith("error: cannot approve") and "id_number" in err
    assert "Traceback" not in err and err.count("\n") == 1
    fid = json.loads(hub("show", "rec-1", "--json")[1])["findings"][0]["id"]
    code, out, _ = hub("waive", str(fid), "--as", "reviewer", "--reason", "依法公示,已脱敏")
    assert code == 0 and "waived by reviewer" in out
    code, out, _ = hub("approve", v[:10], "--as", "reviewer", "--comment", "同意发布")
    assert code == 0 and out.strip() == f"rec-1@{v[:12]} approved"
    code, out, _ = hub("show", "rec-1")
    assert "in_review → approved" in out and "同意发布" in out
    code, out, _ = hub("audit", "--subject", "rec-1", "--json")
    assert [a["action"] for a in json.loads(out)["audit"]] == [
        "record.save", "record.submit", "finding.waive", "record.approve",
    ]


def test_reject_needs_a_comment_and_wrong_people_get_one_clear_line(staff: str, draft: Draft) -> None:
    draft()
    hub("submit", "rec-1", "--as", "author")
    code, _, err = hub("reject", "rec-1", "--as", "reviewer")
    assert code == 2 and "--comment" in err
    code, _, err = hub("approve", "rec-1", "--as", "author")
    assert (code, err) == (2, "error: author (author) may not record.approve for records of 汉阴县人民政府办公室\n")
    code, _, err = hub("approve", "rec-1", "--as", "nobody")
    assert (code, err) == (2, "error: unknown user nobody\n")
    code, out, _ = hub("reject", "rec-1", "--as", "reviewer", "--comment", "请补充公示期限")
    assert code == 0 and out.endswith("rejected\n")
    code, _, err = hub("show", "nothing-here")
    assert (code, err) == (2, "error: no record or version nothing-here\n")


def test_list_shows_current_versions_and_filters_by_state(staff: str, draft: Draft) -> None:
    first = draft(record_id="a")
    draft(record_id="b", title="另一条")
    second = draft(record_id="a", title="第二版")
    hub("submit", "b", "--as", "author")
    code, out, _ = hub("list")
    assert code == 0
    lines = out.splitlines()
    assert [line.split()[0] for line in lines] == [second[:12], draft(record_id="b", title="另一条")[:12]]
    assert json.loads(hub("list", "--json", "--all")[1])["versions"][-1]["version"] == first
    in_review = json.loads(hub("list", "--json", "--state", "in_review")[1])["versions"]
    assert [v["id"] for v in in_review] == ["b"]
    code, _, err = hub("list", "--state", "lost")
    assert code == 2 and "unknown state" in err


def test_user_add_reads_the_password_from_stdin_or_the_environment_and_never_prints_it(db_url: str) -> None:
    code, out, err = hub(
        "user", "add", "zhao", "--role", "author", "--department", DEPT, "--password-stdin",
        input="stdin-pass-123\n",
    )
    assert code == 0, err
    assert out == f"user zhao (author, {DEPT}) created\n"
    code, out, err = hub(
        "user", "add", "qian", "--role", "office", env={"HUB_NEW_USER_PASSWORD": "env-pass-1234"}
    )
    assert code == 0 and out == "user qian (office, all departments) created\n"
    assert "pass-1" not in out + err
    with session_scope(db_url) as s:
        assert auth.authenticate(s, "zhao", "stdin-pass-123") is not None
        assert auth.authenticate(s, "qian", "env-pass-1234") is not None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--role", "boss"], "unknown role"),
        (["--role", "author"], "needs --department"),
        (["--role", "office", "--password-stdin"], "at least 8"),
    ],
)
def test_user_add_refuses_bad_requests_in_one_line(args: list[str], message: str) -> None:
    code, out, err = hub("user", "add", "sun", *args, input="short\n", env={"HUB_NEW_USER_PASSWORD": "long-enough-1"})
    assert code == 2 and message in err and err.count("\n") == 1
    assert "short" not in err and "long-enough" not in out + err
