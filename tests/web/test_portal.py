"""The public portal and the console's editing paths, through the app (TestClient)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from web_helpers import TestClient, csrf_of, make_record, publish_directly


def test_search_finds_a_published_record_by_a_chinese_word_and_never_a_draft(client: TestClient,
                                                                             users: list[str]) -> None:
    from hub import workflow
    from hub.store.db import session_scope

    publish_directly(make_record())
    with session_scope() as s:
        workflow.save_draft(s, make_record(id="draft-1", title="尚未发布的征地补偿草稿"), actor="author")
    html = client.get("/search", params={"q": "补偿款"}).text
    assert "汉阴县2026年第一批征地补偿公示" in html
    assert "尚未发布" not in html
    assert "<mark>补偿款</mark>" in html
    assert "共找到 <strong>1</strong> 条结果" in html
    assert "共找到 <strong>0</strong>" in client.get("/search", params={"q": "高速公路"}).text


def test_a_withdrawn_record_leaves_the_portal_and_the_search(client: TestClient, users: list[str]) -> None:
    from hub import workflow
    from hub.store.db import session_scope

    version = publish_directly(make_record())
    assert "1</strong> 条结果" in client.get("/search", params={"q": "征地补偿"}).text
    with session_scope() as s:
        workflow.withdraw(s, version, "office", comment="test")
    gone = client.get("/records/rec-2026-001")
    assert gone.status_code == 410 and "已撤回" in gone.text and "征地补偿标准" not in gone.text
    assert client.get("/records/no-such-record").status_code == 404
    assert "0</strong> 条结果" in client.get("/search", params={"q": "征地补偿"}).text
    assert "汉阴县2026年第一批征地补偿公示" not in client.get("/").text
    feed = client.get("/feed.xml").text
    assert 'xmlns:at="http://purl.org/atompub/tombstones/1.0"' in feed
    assert f'<at:deleted-entry ref="http://testserver/records/rec-2026-001#{version[:12]}"' in feed or \
        f'/records/rec-2026-001#{version[:12]}" when=' in feed
    assert "<entry>" not in feed


def test_browse_by_stage_domain_item_level_and_region(client: TestClient, users: list[str]) -> None:
    publish_directly(make_record(level="township", region="涧池镇"))
    title = "汉阴县2026年第一批征地补偿公示"
    for query in ({"stage": "结果"}, {"domain": "征地补偿"}, {"domain": "征地补偿", "item": "征地补偿标准"},
                  {"level": "township"}, {"region": "涧池镇"}):
        assert title in client.get("/browse", params=query).text, query
    for query in ({"stage": "决策"}, {"level": "village"}, {"region": "城关镇"}):
        assert title not in client.get("/browse", params=query).text, query


def test_the_record_page_shows_the_metadata_table_and_links_both_ways_with_its_jiedu(
        client: TestClient, users: list[str]) -> None:
    publish_directly(make_record())
    publish_directly(make_record(id="jiedu-1", title="图解：2026年征地补偿标准", stage="决策", index_no=None,
                                 interprets="rec-2026-001"))
    page = client.get("/records/rec-2026-001").text
    table = page[page.index('<table class="meta-table">'):page.index("</table>")]
    for label, value in (("索引号", "hyx-2026-0001"), ("公开责任部门", "汉阴县人民政府办公室"),
                         ("文号", "汉政办发〔2026〕1号"), ("有效性", "有效"), ("成文日期", ""), ("公开日期", "")):
        assert f'<th scope="row">{label}</th><td>{value}' in table
    assert '<a href="/records/jiedu-1">图解：2026年征地补偿标准</a>' in page
    back = client.get("/records/jiedu-1").text
    assert '<a href="/records/rec-2026-001">汉阴县2026年第一批征地补偿公示</a>' in back
    qr = client.get("/records/rec-2026-001/qr.svg")
    assert qr.headers["content-type"] == "image/svg+xml"
    assert _decode_svg_qr(qr.text).endswith("/records/rec-2026-001")  # the renderers' encoder, readable


def _decode_svg_qr(svg: str) -> str:
    """Draw the SVG's runs of dark modules (``M x,y h w ...``) onto a bitmap and read it with zxing-cpp."""
    import numpy as np
    import zxingcpp
    from PIL import Image

    n = int(re.search(r'viewBox="0 0 (\d+) ', svg).group(1))  # type: ignore[union-attr]
    grid = np.full((n, n), 255, dtype=np.uint8)
    for x, y, w in re.findall(r"M(\d+),(\d+)h(\d+)", svg):
        grid[int(y), int(x):int(x) + int(w)] = 0
    image = Image.fromarray(grid).resize((n * 8, n * 8), Image.Resampling.NEAREST)
    return "".join(r.text for r in zxingcpp.read_barcodes(image))


def test_a_short_link_counts_the_scan_for_its_channel_and_redirects(client: TestClient, users: list[str],
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from hub.renderers.service import render_version
    from hub.store.db import session_scope
    from hub.store.models import ScanRow, ShortLinkRow

    version = publish_directly(make_record())
    with session_scope() as s:
        render_version(s, version, ["qr"])
        codes = {r.channel: r.code for r in s.query(ShortLinkRow).filter_by(version=version)}
    for _ in range(2):
        r = client.get(f"/s/{codes['newspaper']}", follow_redirects=False)
        assert r.status_code == 302 and r.headers["location"] == "/records/rec-2026-001"
    client.get(f"/s/{codes['sms']}", follow_redirects=False)
    with session_scope() as s:
        scans = {r.channel: r.scans for r in s.query(ShortLinkRow).filter_by(version=version)}
        assert s.query(ScanRow).count() == 3
    assert scans["newspaper"] == 2 and scans["sms"] == 1 and scans["web"] == 0
    assert client.get("/s/nope999", follow_redirects=False).status_code == 404
    monkeypatch.setenv("HUB_METRICS_TOKEN", "m-token-1")
    assert client.get("/metrics").status_code == 401  # not public
    metrics = client.get("/metrics", headers={"Authorization": "Bearer m-token-1"})
    assert 'hub_short_link_scans{channel="newspaper"} 2' in metrics.text


def test_the_atom_feed_parses_back_with_the_same_titles_and_links(client: TestClient, users: list[str]) -> None:
    import feedparser

    publish_directly(make_record(title='带 & 和 <符号> 的标题'))
    feed = feedparser.parse(client.get("/feed.xml").content)
    assert feed.bozo == 0
    assert [e.title for e in feed.entries] == ['带 & 和 <符号> 的标题']
    assert feed.entries[0].link.endswith("/records/rec-2026-001")


def test_an_author_masks_a_mobile_number_with_one_click(as_role: Callable[[str], TestClient]) -> None:
    author = as_role("author")
    token = csrf_of(author, "/console/records/new")
    r = author.post("/console/records", data={
        "csrf_token": token, "title": "低保对象公示", "department": "汉阴县人民政府办公室", "stage": "结果",
        "body": "一、名单\n张某某，联系电话13812345678，家庭人口3人。"}, follow_redirects=False)
    assert r.status_code == 303
    page = author.get(r.headers["location"]).text
    assert '<a class="mark" href="#finding-' in page and ">13812345678</a>" in page
    fid = re.search(r"/findings/(\d+)/mask", page).group(1)
    first = re.search(r"/console/v/([0-9a-f]{64})", r.headers["location"]).group(1)
    masked = author.post(f"/console/v/{first}/findings/{fid}/mask", data={"csrf_token": token},
                         follow_redirects=False)
    assert masked.status_code == 303
    second = re.search(r"/console/v/([0-9a-f]{64})", masked.headers["location"]).group(1)
    assert second != first
    page = author.get(f"/console/v/{second}").text
    assert "13812345678" not in page and "138****5678" in page
    assert "发布前检查（0 项）" in page

    from hub.store.db import session_scope
    from hub.store.repo import audit_rows

    with session_scope() as s:
        assert any(a.action == "finding.mask" for a in audit_rows(s))


def test_a_reviewer_cannot_approve_with_an_unwaived_finding_but_can_waive_it(
        as_role: Callable[[str], TestClient]) -> None:
    from hub import workflow
    from hub.checks import run_checks
    from hub.store.db import session_scope
    from hub.store.repo import findings_of

    record = make_record(body="经办人电话13812345678。")
    with session_scope() as s:
        row = workflow.save_draft(s, record, actor="author", findings=run_checks(record))
        workflow.submit(s, row, "author")
        version = row.version
        fid = findings_of(s, row)[0].id
    reviewer = as_role("reviewer")
    token = csrf_of(reviewer, f"/console/v/{version}")
    r = reviewer.post(f"/console/v/{version}/approve", data={"csrf_token": token})
    assert r.status_code == 409
    r = reviewer.post(f"/console/v/{version}/findings/{fid}/waive", data={"csrf_token": token,
                                                                          "reason": "单位公开电话"})
    assert r.status_code == 200 and "已由 reviewer 豁免" in r.text
    r = reviewer.post(f"/console/v/{version}/approve", data={"csrf_token": token, "comment": "同意"})
    assert "已审核" in r.text


def test_an_override_that_breaks_the_sms_budget_is_refused_in_words(as_role: Callable[[str], TestClient]) -> None:
    from hub import workflow
    from hub.store.db import session_scope

    with session_scope() as s:
        version = workflow.save_draft(s, make_record(), actor="author").version
    author = as_role("author")
    token = csrf_of(author, f"/console/v/{version}/previews")
    r = author.post(f"/console/v/{version}/override", data={"csrf_token": token, "channel": "sms",
                                                            "text": "很长" * 80})
    assert r.status_code == 200 and "改写未保存：短信" in r.text and 'class="flash flash-error"' in r.text
    r = author.post(f"/console/v/{version}/override", data={"csrf_token": token, "channel": "weibo",
                                                            "text": "征地补偿标准已公布，请查看"})
    assert "改写已保存为新版本" in r.text and "征地补偿标准已公布，请查看" in r.text


def test_the_portal_is_served_without_javascript_and_in_chinese(client: TestClient, users: list[str]) -> None:
    publish_directly(make_record())
    for path in ("/", "/browse", "/records/rec-2026-001", "/search?q=补偿"):
        html = client.get(path).text
        assert '<html lang="zh-CN">' in html
        assert "<script" not in html
        assert '<meta name="viewport"' in html


@pytest.mark.postgres
def test_search_works_on_postgresql_full_text(pg_database: str, client: Any, users: list[str]) -> None:
    publish_directly(make_record())
    html = client.get("/search", params={"q": "补偿款"}).text
    assert "汉阴县2026年第一批征地补偿公示" in html and "<mark>补偿款</mark>" in html


def test_an_author_imports_the_sample_government_page_and_sees_it_checked(
        as_role: Callable[[str], TestClient], sample_path: Any) -> None:
    author = as_role("author")
    token = csrf_of(author, "/console/records/new")
    r = author.post("/console/records/upload", data={"csrf_token": token},
                    files={"file": ("hanyin.txt", sample_path.read_bytes(), "text/plain")}, follow_redirects=False)
    assert r.status_code == 303, r.text[:300]
    page = author.get(r.headers["location"]).text
    assert "汉阴县人民政府办公室关于推出“五公开”落地创新措施的通知" in page
    assert "xzfgzbmzfb/2017-0168" in page and "汉政办通字〔2017〕168号" in page
    assert "发布前检查（0 项）" in page  # the sample flags nothing
    pasted = author.post("/console/records/upload", data={"csrf_token": token, "text": "\x00\x01binary"},
                         follow_redirects=False)
    assert pasted.status_code in (303, 400)


def test_the_sms_report_callback_hands_the_reports_to_the_sms_channel(client: TestClient,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from hub.channels import sms

    seen: list[Any] = []
    monkeypatch.setattr(sms, "handle_sms_callback", lambda session, payload: seen.append(payload) or 0)
    monkeypatch.setenv("HUB_SMS_CALLBACK_SECRET", "s3cret-path")
    report = [{"user_receive_time": "2026-11-25 21:00:00", "nationcode": "86", "mobile": "13800138001",
               "report_status": "SUCCESS", "errmsg": "DELIVRD", "description": "ok", "sid": "sid-1"}]
    r = client.post("/callbacks/sms/s3cret-path", json=report)
    assert r.status_code == 200 and r.json() == {"result": 0, "errmsg": "OK"}
    assert seen == [report]


def test_the_record_page_in_the_console_shows_its_catalog_item_and_a_stage_that_disagrees(
        as_role: Callable[[str], TestClient]) -> None:
    from hub import workflow
    from hub.store.db import session_scope

    with session_scope() as s:
        ok = workflow.save_draft(s, make_record(item="征地补偿费用发放"), actor="author").version
        off = workflow.save_draft(s, make_record(id="rec-2", item="征收土地公告"), actor="author").version
    author = as_role("author")
    page = author.get(f"/console/v/{ok}").text
    assert "公开时限：" in page and "征地补偿 › 征地补偿费用发放" in page and "请核对" not in page
    assert "目录中该事项属于“执行公开”" in author.get(f"/console/v/{off}").text
