"""The board end to end through the web app: ask, mask, route, answer, SMS, private link, publish."""

from __future__ import annotations

import re
from typing import Any

from conftest import DEPT, ask, code_of, csrf_of, id_number


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


def test_the_office_reassigns_and_the_new_departments_author_sees_it(citizen: Any, as_staff: Any) -> None:
    ask(citizen)
    office = as_staff("office")
    fin = as_staff("fin-author")  # signs in first: a department is listed once it has staff
    r = office.post("/console/consult/1/reassign", data={"csrf_token": csrf_of(office, "/console/consult/1"),
                                                          "department": "汉阴县财政局"}, follow_redirects=False)
    assert "err=" not in r.headers["location"], r.headers["location"]
    assert '/console/consult/1"' in fin.get("/console/consult").text
    assert DEPT not in fin.get("/console/consult/1").text.split("办理部门：")[1][:20]
