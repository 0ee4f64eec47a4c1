"""The board end to end through the web app: ask, mask, route, answer, SMS, private link, publish."""

from __future__ import annotations

import re
from typing import Any

import pytest
from consultkit import DEPT, ask, code_of, csrf_of, id_number


def _sms_to(sandbox: Any, e164: str) -> list[str]:
    return [m["content"]["text"] for m in sandbox.messages("sms", "sms") if m["content"].get("phone") == e164]


def test_a_citizen_asks_staff_answer_the_sms_arrives_and_the_published_answer_shows_no_number(
        citizen: Any, as_staff: Any, sandbox: Any) -> None:
    idn = id_number()
    text = f"我叫张三，身份证号{idn}，联系电话13912345678，住城关镇五一村三组。请问申请低保需要哪些材料？"
    r = ask(citizen, question=text, name="张三", mobile="13800138000", consent="1")
    assert r.status_code == 200, r.text
    code = code_of(r.text)
    assert "汉阴县人民政府办公室" in r.text

    author = as_staff("author")
    listing = author.get("/console/consult").text
    qid = int(re.search(r'/console/consult/(\d+)"', listing).group(1))  # type: ignore[union-attr]
    page = author.get(f"/console/consult/{qid}").text
    assert idn not in page and "13912345678" not in page and "13800138000" not in page
    assert "139****5678" in page and "+86*******8000" in page

    token = csrf_of(author, f"/console/consult/{qid}")
    r = author.post(f"/console/consult/{qid}/answer", data={"csrf_token": token, "text": "请携带户口簿到镇民政办申请。"},
                    follow_redirects=False)
    assert r.status_code == 303 and "err=" not in r.headers["location"], r.headers["location"]

    sms = _sms_to(sandbox, "+8613800138000")
    assert len(sms) == 1 and f"编号{qid}" in sms[0], sms
    mine = citizen.get(f"/consult/{code}").text
    assert "请携带户口簿到镇民政办申请。" in mine and "已答复" in mine and idn not in mine

    # a second answer attempt neither answers again nor sends again
    r = author.post(f"/console/consult/{qid}/answer", data={"csrf_token": token, "text": "再答一次"},
                    follow_redirects=False)
    assert "err=" in r.headers["location"]
    assert len(_sms_to(sandbox, "+8613800138000")) == 1

    r = author.post(f"/console/consult/{qid}/propose", data={"csrf_token": token}, follow_redirects=False)
    assert "err=" not in r.headers["location"], r.headers["location"]
    reviewer = as_staff("reviewer")
    r = reviewer.post(f"/console/consult/{qid}/approve", data={"csrf_token": csrf_of(reviewer, f"/console/consult/{qid}")},
                      follow_redirects=False)
    assert "err=" not in r.headers["location"], r.headers["location"]

    board = citizen.get("/consult").text
    assert f"/consult/published/{qid}" in board
    published = citizen.get(f"/consult/published/{qid}").text
    for secret in (idn, "13912345678", "139****5678", "5678", "张三", "五一村三组"):
        assert secret not in published, secret
    assert "请携带户口簿到镇民政办申请。" in published
    feed = citizen.get("/consult/feed.xml")
    assert feed.headers["content-type"].startswith("application/atom+xml") and f"/consult/published/{qid}" in feed.text
    assert idn not in feed.text and "13912345678" not in feed.text


def test_staff_ask_back_and_the_citizen_replies_on_the_private_link(citizen: Any, as_staff: Any) -> None:
    code = code_of(ask(citizen).text)
    author = as_staff("author")
    qid = int(re.search(r'/console/consult/(\d+)"', author.get("/console/consult").text).group(1))  # type: ignore[union-attr]
    token = csrf_of(author, f"/console/consult/{qid}")
    author.post(f"/console/consult/{qid}/ask", data={"csrf_token": token, "text": "请问您家庭有几口人？"})
    page = citizen.get(f"/consult/{code}").text
    assert "请问您家庭有几口人？" in page and 'name="reply"' in page
    r = citizen.post(f"/consult/{code}", data={"csrf_token": csrf_of(citizen, f"/consult/{code}"), "reply": "四口人"},
                     follow_redirects=False)
    assert r.status_code == 303
    assert "四口人" in author.get(f"/console/consult/{qid}").text


def test_another_departments_author_can_neither_see_nor_answer_it(citizen: Any, as_staff: Any) -> None:
    ask(citizen)
    other = as_staff("fin-author")
    assert "/console/consult/1\"" not in other.get("/console/consult").text
    assert other.get("/console/consult/1").status_code == 403
    token = csrf_of(other, "/console/consult")
    r = other.post("/console/consult/1/answer", data={"csrf_token": token, "text": "越权答复"}, follow_redirects=False)
    assert "err=" in r.headers["location"]
    from urllib.parse import unquote

    assert "may not" not in unquote(r.headers["location"])  # said in Chinese


def test_the_office_reassigns_and_the_new_departments_author_sees_it(citizen: Any, as_staff: Any) -> None:
    ask(citizen)
    office = as_staff("office")
    fin = as_staff("fin-author")  # signs in first: a department is listed once it has staff
    r = office.post("/console/consult/1/reassign", data={"csrf_token": csrf_of(office, "/console/consult/1"),
                                                          "department": "汉阴县财政局"}, follow_redirects=False)
    assert "err=" not in r.headers["location"], r.headers["location"]
    assert '/console/consult/1"' in fin.get("/console/consult").text
    assert DEPT not in fin.get("/console/consult/1").text.split("办理部门：")[1][:20]


def test_a_published_answer_is_found_by_the_portal_search_and_counted_in_the_figures(citizen: Any,
                                                                                     as_staff: Any) -> None:
    import json

    from typer.testing import CliRunner

    from hub.cli import _register, app

    ask(citizen, title="耕地补贴怎么申领", question="请问耕地地力保护补贴怎么申领？", consent="1")
    ask(citizen, title="另一个问题", question="请问另一个问题怎么办理？")
    author = as_staff("author")
    token = csrf_of(author, "/console/consult/1")
    author.post("/console/consult/1/answer", data={"csrf_token": token, "text": "由村委会统一申报。", "publish": "1"})
    reviewer = as_staff("reviewer")
    reviewer.post("/console/consult/1/approve", data={"csrf_token": csrf_of(reviewer, "/console/consult/1")})
    page = citizen.get("/search", params={"q": "耕地补贴"}).text
    assert "/consult/published/1" in page and "群众咨询答复" in page
    assert "/consult/published/" not in citizen.get("/search", params={"q": "另一个问题"}).text  # not published

    _register()
    result = CliRunner().invoke(app, ["consult", "stats", "--json"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output)
    assert figures["total"] == {"received": 2, "answered": 1, "on_time": 1, "on_time_rate": 1.0,
                                "median_reply_hours": figures["total"]["median_reply_hours"], "published": 1}
    assert figures["by_department"][DEPT]["received"] == 2
    assert sum(m["received"] for m in figures["by_month"].values()) == 2
    listed = json.loads(CliRunner().invoke(app, ["consult", "list", "--json"]).output)
    assert [i["id"] for i in listed] == [2, 1] and listed[1]["state"] == "answered"


def test_the_cli_answers_and_proposes_and_refuses_a_second_answer(citizen: Any, staff: None, sandbox: Any) -> None:
    from typer.testing import CliRunner

    from hub.cli import _register, app

    ask(citizen, consent="1", mobile="13800138001")
    _register()
    r = CliRunner().invoke(app, ["consult", "answer", "1", "--text", "请到镇民政办咨询。", "--publish", "--user", "author"])
    assert r.exit_code == 0, r.output
    assert "已提请公开" in r.output
    assert [m["content"]["phone"] for m in sandbox.messages("sms", "sms")] == ["+8613800138001"]
    again = CliRunner().invoke(app, ["consult", "answer", "1", "--text", "再答", "--user", "author"])
    assert again.exit_code == 2 and "已经答复" in again.output
    denied = CliRunner().invoke(app, ["consult", "answer", "1", "--text", "越权", "--user", "fin-author"])
    assert denied.exit_code == 2


@pytest.mark.postgres
def test_the_whole_board_works_on_postgresql(pg_database: str, citizen: Any, as_staff: Any) -> None:
    """Asking (rate-limit hits in the database), answering, publishing and searching on PostgreSQL."""
    ask(citizen, title="耕地补贴怎么申领", question="请问耕地地力保护补贴怎么申领？电话13912345678", consent="1")
    author = as_staff("author")
    author.post("/console/consult/1/answer", data={"csrf_token": csrf_of(author, "/console/consult/1"),
                                                   "text": "由村委会统一申报。", "publish": "1"})
    reviewer = as_staff("reviewer")
    reviewer.post("/console/consult/1/approve", data={"csrf_token": csrf_of(reviewer, "/console/consult/1")})
    page = citizen.get("/search", params={"q": "耕地补贴"}).text
    assert "/consult/published/1" in page
    assert "13912345678" not in citizen.get("/consult/published/1").text
    from hub.consult.settings import get_consult_settings

    for i in range(get_consult_settings().limits.per_address - 1):
        assert ask(citizen, title=f"问题{i}", question=f"问题{i}的内容是什么呢").status_code == 200
    assert ask(citizen, title="超出", question="超出限制的问题内容").status_code == 429
