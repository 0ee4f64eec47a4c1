"""What an editor sees: word fixes change the word alone, refusals in Chinese in the console's own layout."""

from __future__ import annotations

import re
from collections.abc import Callable

from web_helpers import TestClient, csrf_of, make_record

from hub.store import repo
from hub.store.db import session_scope

SENTENCE = "本镇为残废人提供上门服务，残废人证明可在便民服务站办理。"


def _draft(body: str) -> str:
    from hub import workflow
    from hub.checks import run_checks

    record = make_record(body=body)
    with session_scope() as s:
        return workflow.save_draft(s, record, actor="author", findings=run_checks(record)).version


def test_fixing_a_sensitive_word_changes_only_that_word(as_role: Callable[[str], TestClient]) -> None:
    version = _draft(SENTENCE)
    author = as_role("author")
    page = author.get(f"/console/v/{version}").text
    assert "将“<code>残废人</code>”改为“<code class=\"f-sugg\">残疾人</code>”" in page
    finding_id = re.search(r"/findings/(\d+)/mask", page).group(1)  # type: ignore[union-attr]
    r = author.post(f"/console/v/{version}/findings/{finding_id}/mask",
                    data={"csrf_token": csrf_of(author, f"/console/v/{version}")}, follow_redirects=False)
    assert r.status_code == 303 and "msg=" in r.headers["location"]
    new = r.headers["location"].split("/console/v/")[1].split("?")[0]
    with session_scope() as s:
        _, record = repo.get_version(s, new)
    paragraph = record.body[1].text  # type: ignore[union-attr]
    # the first finding's place is fixed, the sentence around it untouched, nothing else replaced by the word
    assert paragraph == "本镇为残疾人提供上门服务，残废人证明可在便民服务站办理。"


def test_a_refusal_is_in_chinese_in_the_console_layout(as_role: Callable[[str], TestClient]) -> None:
    version = _draft("正文。")
    author = as_role("author")
    r = author.post(f"/console/v/{version}/approve", data={"csrf_token": csrf_of(author, f"/console/v/{version}")})
    assert r.status_code == 403
    assert 'class="console"' in r.text and "工作台" in r.text
    assert "may not" not in r.text and "无权审核通过" in r.text


def test_a_workflow_refusal_is_worded_in_chinese(as_role: Callable[[str], TestClient]) -> None:
    version = _draft("正文。")
    reviewer = as_role("reviewer")
    r = reviewer.post(f"/console/v/{version}/approve",
                      data={"csrf_token": csrf_of(reviewer, f"/console/v/{version}")})
    assert r.status_code == 409
    assert "只有“待审核”状态可以审核通过" in r.text and "cannot" not in r.text


def test_a_refused_rewrite_is_an_error_not_a_success(as_role: Callable[[str], TestClient]) -> None:
    version = _draft("正文。")
    author = as_role("author")
    page = author.get(f"/console/v/{version}/previews").text
    assert "标题（≤32字）" in page
    r = author.post(f"/console/v/{version}/override", follow_redirects=False, data={
        "csrf_token": csrf_of(author, f"/console/v/{version}"), "channel": "wechat", "title": "长" * 40})
    assert r.status_code == 303 and "err=" in r.headers["location"] and "msg=" not in r.headers["location"]
    shown = author.get(r.headers["location"]).text
    assert 'class="flash flash-error"' in shown and "微信公众号标题 40 字，超过上限 32 字" in shown


def test_the_portals_domain_list_names_domains_only(as_role: Callable[[str], TestClient], client: TestClient) -> None:
    from web_helpers import publish_directly

    as_role("author")
    publish_directly(make_record(domain="征地补偿", item="征地补偿标准"))
    home = client.get("/browse").text
    facets = home.split('class="panel facets"')[1].split("</aside>")[0]
    assert "征地补偿" in facets and "征地补偿标准" not in facets
    assert "征地补偿标准" in client.get("/browse", params={"domain": "征地补偿"}).text
