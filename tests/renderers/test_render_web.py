"""The portal rendition: record page, listings by stage/domain/level, the Atom feed."""

from __future__ import annotations

import feedparser
from renderkit import RECORDS, load_record

from hub.record import Attachment, Record, Stage
from hub.renderers.context import build_context
from hub.renderers.web import SiteEntry, build_site, entries_from_renditions, render_web


def test_the_page_shows_the_metadata_table_as_portals_do(ctx_of, store) -> None:  # type: ignore[no-untyped-def]
    """索引号, 公开目录, 公开责任部门, 公开形式, 文号, 成文日期, 有效性, 公开日期 with their values; body; QR."""
    record = load_record("sample")
    ctx = ctx_of(record)
    html = render_web(record, ctx, store).main.path.read_text()
    for label, value in [("索引号", "xzfgzbmzfb/2017-0168"), ("公开目录", "县政府办文件"),
                         ("公开责任部门", "汉阴县人民政府办公室"), ("公开形式", "主动公开"),
                         ("文号", "汉政办通字〔2017〕168号"), ("成文日期", "2017年11月15日"),
                         ("有效性", "有效"), ("公开日期", "2017-11-15 14:52")]:
        assert f'<th scope="row">{label}</th><td>' in html and value in html
    assert "<h1 " in html and record.title in html
    assert "<h2>一、指导思想</h2>" in html
    assert "<svg " in html and ctx.short_url("web") in html
    assert f'<link rel="canonical" href="{ctx.page_url}">' in html


def test_policy_and_its_interpretation_link_both_ways(store) -> None:  # type: ignore[no-untyped-def]
    """The 解读 links to its policy, the policy lists its 解读 (from ctx.related)."""
    policy, jiedu = load_record("policy"), load_record("jiedu")
    assert jiedu.interprets == policy.id
    link = {"id": jiedu.id, "title": jiedu.title, "url": "x"}
    html = render_web(policy, build_context(policy, policy.version_hash(),
                                            related={"interprets": None, "interpreted_by": [link]}), store)
    assert f'<a href="/records/{jiedu.id}">{jiedu.title}</a>' in html.main.path.read_text()
    back = render_web(jiedu, build_context(jiedu, jiedu.version_hash()), store).main.path.read_text()
    assert f'href="/records/{policy.id}"' in back and "解读的政策原文" in back


def test_editor_text_is_escaped_and_unsafe_links_are_dropped(ctx_of, store) -> None:  # type: ignore[no-untyped-def]
    """<script> and {{ 7*7 }} come out as text; a javascript: attachment is listed without a link."""
    record = Record(id="x", title="<script>alert(1)</script>{{ 7*7 }}",
                    attachments=[Attachment(name="a.xlsx", url="javascript:alert(1)"),
                                 Attachment(name="b.pdf", url="https://www.hanyin.gov.cn/b.pdf")])
    html = render_web(record, ctx_of(record), store).main.path.read_text()
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;{{ 7*7 }}" in html
    assert "javascript:" not in html and 'href="https://www.hanyin.gov.cn/b.pdf"' in html


def _entries(ctx_of, store) -> list[SiteEntry]:  # type: ignore[no-untyped-def]
    return entries_from_renditions([render_web(load_record(n), ctx_of(load_record(n)), store) for n in RECORDS])


def test_the_feed_parses_back_with_the_same_titles_and_links(ctx_of, store, public_url: str) -> None:  # type: ignore[no-untyped-def]
    """feedparser: bozo == 0, Atom 1.0, newest first, titles and links equal to the records'."""
    entries = _entries(ctx_of, store)
    feed = feedparser.parse(build_site(entries, public_url=public_url, site_name="汉阴县人民政府")["feed.xml"])
    assert feed.bozo == 0 and feed.version == "atom10"
    got = [(e.title, e.link) for e in feed.entries]
    want = sorted(((e.title, e.url, e.published) for e in entries), key=lambda t: t[2], reverse=True)
    assert got == [(t, u) for t, u, _ in want]


def test_listings_group_records_by_stage_domain_and_level(ctx_of, store, public_url: str) -> None:  # type: ignore[no-untyped-def]
    """stage/<slug>.html, domain/<领域>.html and level/<level>.html list exactly their records."""
    site = build_site(_entries(ctx_of, store), public_url=public_url, site_name="汉阴县人民政府")
    decision = site["stage/decision.html"].decode()
    assert load_record("policy").title in decision and load_record("gongshi").title not in decision
    assert load_record("gongshi").title in site["stage/result.html"].decode()
    assert load_record("gongshi").title in site["domain/征地补偿.html"].decode()
    assert load_record("gongshi").title in site["level/township.html"].decode()
    assert load_record("gongshi").title not in site["level/county.html"].decode()
    assert set(site) >= {"index.html", "feed.xml", *(f"stage/{s}.html" for s in
                                                       ("decision", "execution", "management", "service", "result"))}
    assert len(Stage) == 5
