"""Issue 11: in the console, a feed entry re-posting a 国务院 document waits in the office's queue
(待指定公开责任部门), the office assigns a department, its author edits and submits it, its reviewer
approves it; the page names 发布机构 …转发国务院 throughout."""

from __future__ import annotations

import re
from collections.abc import Callable

from web_helpers import DEPT, TestClient, csrf_of

FEED = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>汉阴县人民政府</title><link>http://127.0.0.1/</link><description>d</description>
<item><title>国务院关于取消和下放一批行政许可事项的决定</title><link>http://127.0.0.1/art/2019/3/1/a1.html</link>
<guid>a1</guid><pubDate>Fri, 01 Mar 2019 09:00:00 +0800</pubDate>
<description>&lt;p&gt;经研究论证，国务院决定取消和下放一批行政许可事项，现予公布。&lt;/p&gt;</description></item>
</channel></rss>
"""


def _version(location: str) -> str:
    m = re.search(r"/console/v/([0-9a-f]{64})", location)
    assert m, location
    return m.group(1)


def test_the_office_assigns_a_re_posted_state_council_entry_and_the_department_edits_and_approves_it(
        as_role: Callable[[str], TestClient]) -> None:
    office, author, reviewer = as_role("office"), as_role("author"), as_role("reviewer")
    token = csrf_of(office, "/console/records/new")
    r = office.post("/console/records/upload", data={"csrf_token": token},
                    files={"file": ("gwy.xml", FEED.encode("utf-8"), "application/rss+xml")}, follow_redirects=False)
    assert r.status_code == 303, r.text
    v1 = _version(r.headers["location"])

    dashboard = office.get("/console").text
    queue = dashboard.split("待指定公开责任部门", 1)[1].split("全部记录", 1)[0]
    assert v1 in queue  # the office's queue holds it
    page = office.get(f"/console/v/{v1}").text
    assert "发布机构 国务院" in page and "公开责任部门 （待指定）" in page
    assert f"<option>{DEPT}</option>" in page and "请指定公开责任部门" in page
    assert author.get(f"/console/v/{v1}").status_code == 403  # no department: its author cannot act yet
    assert v1 not in author.get("/console").text

    r = office.post(f"/console/v/{v1}/assign", data={"csrf_token": token, "department": "国务院"},
                    follow_redirects=False)
    assert r.status_code == 303 and _version(r.headers["location"]) == v1  # refused: not a hub department
    r = office.post(f"/console/v/{v1}/assign", data={"csrf_token": token, "department": DEPT},
                    follow_redirects=False)
    v2 = _version(r.headers["location"])
    assert v2 != v1
    page = office.get(f"/console/v/{v2}").text
    assert f"发布机构 {DEPT}转发国务院" in page and f"公开责任部门 {DEPT}" in page
    assert v2 not in office.get("/console").text.split("待指定公开责任部门", 1)[-1].split("全部记录", 1)[0]

    atoken = csrf_of(author, f"/console/v/{v2}/edit")
    r = author.post(f"/console/v/{v2}/edit", data={
        "csrf_token": atoken, "title": "国务院关于取消和下放一批行政许可事项的决定", "department": DEPT,
        "body": "经研究论证，国务院决定取消和下放一批行政许可事项，现予公布。\n本县各部门遵照执行。"},
        follow_redirects=False)
    assert r.status_code == 303, r.text
    v3 = _version(r.headers["location"])
    assert author.post(f"/console/v/{v3}/submit", data={"csrf_token": atoken}).status_code == 200
    rtoken = csrf_of(reviewer, f"/console/v/{v3}")
    r = reviewer.post(f"/console/v/{v3}/approve", data={"csrf_token": rtoken, "comment": "同意转发"})
    assert "已审核" in r.text and f"{DEPT}转发国务院" in r.text

    from hub.store import repo
    from hub.store.db import session_scope

    with session_scope() as s:
        [row] = repo.audit_rows(s, action="record.assign")
        assert (row.actor, row.detail["department"], row.detail["issuer"]) == ("office", DEPT, "国务院")
        assert repo.find_version(s, v3).state == "approved"
