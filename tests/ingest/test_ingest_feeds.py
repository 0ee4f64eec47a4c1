"""RSS/Atom feeds: each entry a draft record, re-ingesting creates no duplicates."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from hub.errors import RecordError
from hub.ingest import ingest_path, ingest_url
from hub.record import Paragraph
from hub.store.db import session_scope
from hub.store.models import RecordRow, VersionRow
from hub.timeutil import iso_local

RSS = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>汉阴县人民政府 通知公告</title><link>http://www.hanyin.gov.cn/</link>
<item><title>关于开展冬季安全检查的通知</title><link>http://www.hanyin.gov.cn/zwgk/2026/1120-1.html</link>
<guid>hanyin-2026-1120-1</guid><pubDate>Fri, 20 Nov 2026 02:30:00 GMT</pubDate>
<description><![CDATA[<p>各镇人民政府：</p><h2>一、检查范围</h2><p>全县各类生产经营单位。</p><ul><li>消防</li><li>用电</li></ul>]]></description></item>
<item><title>城关镇征地补偿费用发放公示</title><link>http://www.hanyin.gov.cn/zwgk/2026/1121-2.html</link>
<pubDate>Sat, 21 Nov 2026 01:00:00 GMT</pubDate><description>{body}</description></item>
</channel></rss>"""

ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>汉阴县政务公开</title><id>urn:hanyin:feed</id>
<updated>2026-11-20T10:00:00+08:00</updated>
<entry><title>政策解读</title><id>urn:hanyin:2026:42</id><updated>2026-11-20T10:00:00+08:00</updated>
<link href="http://www.hanyin.gov.cn/jd/42.html"/><content type="html">&lt;p&gt;解读正文。&lt;/p&gt;</content></entry>
</feed>"""


def write(tmp_path: Path, text: str, name: str = "feed.xml", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def test_each_rss_entry_becomes_a_draft_record_linked_to_its_source(tmp_path: Path) -> None:
    path = write(tmp_path, RSS.format(body="正文。"))
    items = ingest_path(path)
    assert [i.record.title for i in items] == ["关于开展冬季安全检查的通知", "城关镇征地补偿费用发放公示"]
    first, second = items
    assert first.record.source is not None
    assert (first.record.source.kind, first.record.source.guid) == ("feed", "hanyin-2026-1120-1")
    assert first.source_key == "hanyin-2026-1120-1"
    # no guid: the link is the key
    assert second.source_key == "http://www.hanyin.gov.cn/zwgk/2026/1121-2.html"
    assert iso_local(first.record.published_at) == "2026-11-20T10:30:00+08:00"
    kinds = [b.type for b in first.record.body]
    assert kinds[:4] == ["paragraph", "heading", "paragraph", "list"]
    assert first.record.extra["feed"] == "汉阴县人民政府 通知公告"
    assert isinstance(first.record.body[-1], Paragraph) and "1120-1.html" in first.record.body[-1].text
    assert first.record.id != second.record.id


def test_atom_feeds_work_too(tmp_path: Path) -> None:
    [item] = ingest_path(write(tmp_path, ATOM))
    assert item.source_key == "urn:hanyin:2026:42"
    assert item.record.body[0] == Paragraph(text="解读正文。")


def test_a_feed_in_a_declared_gb2312_encoding_is_read_correctly(tmp_path: Path) -> None:
    text = RSS.format(body="正文。").replace('encoding="UTF-8"', 'encoding="GB2312"')
    items = ingest_path(write(tmp_path, text, encoding="gb2312"))
    assert items[0].record.title == "关于开展冬季安全检查的通知"


def test_a_malformed_feed_is_ingested_with_a_bozo_warning_not_dropped(tmp_path: Path) -> None:
    text = RSS.format(body="正文 & 附件 <b>未闭合")  # bare & and an unclosed tag: not well-formed XML
    items = ingest_path(write(tmp_path, text))
    assert len(items) == 2
    assert all(any("bozo" in w for w in i.warnings) for i in items)


def test_something_that_is_not_a_feed_at_all_is_a_record_error(tmp_path: Path) -> None:
    with pytest.raises(RecordError):
        ingest_path(write(tmp_path, "<rss><channel><<<<>>>"))


def count_rows() -> tuple[int, int]:
    with session_scope() as session:
        return (session.scalar(select(func.count()).select_from(RecordRow)) or 0,
                session.scalar(select(func.count()).select_from(VersionRow)) or 0)


def test_reingesting_the_same_feed_creates_no_duplicates(run_hub, tmp_path: Path) -> None:
    path = write(tmp_path, RSS.format(body="正文。"))
    first = run_hub("ingest", str(path), "--json")
    assert first.exit_code == 0, first.output
    assert count_rows() == (2, 2)
    second = run_hub("ingest", str(path), "--json")
    assert count_rows() == (2, 2)
    ids = lambda r: [json.loads(line)["id"] for line in r.stdout.splitlines()]  # noqa: E731
    assert ids(first) == ids(second)


def test_a_changed_entry_becomes_a_new_version_of_the_same_record(run_hub, tmp_path: Path) -> None:
    path = write(tmp_path, RSS.format(body="正文。"))
    run_hub("ingest", str(path))
    path.write_text(RSS.format(body="正文已更正。"), encoding="utf-8")
    run_hub("ingest", str(path))
    assert count_rows() == (2, 3)


class _Handler(http.server.BaseHTTPRequestHandler):
    body = b""

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        if self.path == "/feed.xml":
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml")
            self.send_header("Content-Length", str(len(self.body)))
            self.end_headers()
            self.wfile.write(self.body)
        else:
            self.send_response(404)
            self.end_headers()

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def feed_server() -> Iterator[str]:
    _Handler.body = RSS.format(body="正文。").encode()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_a_feed_url_is_fetched_over_http_and_reingested_without_duplicates(run_hub, feed_server: str) -> None:
    url = f"{feed_server}/feed.xml"
    items = ingest_url(url)
    assert len(items) == 2 and items[0].record.source is not None and items[0].record.source.uri == url
    assert run_hub("ingest", url).exit_code == 0
    assert run_hub("ingest", url).exit_code == 0
    assert count_rows() == (2, 2)


def test_http_errors_and_refused_connections_are_record_errors(feed_server: str) -> None:
    with pytest.raises(RecordError, match="HTTP 404"):
        ingest_url(f"{feed_server}/missing.xml")
    import socket

    from hub.ingest.feeds import fetch

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(RecordError, match="cannot fetch"):
        fetch(f"http://127.0.0.1:{port}/feed.xml")


def test_a_feed_over_the_size_cap_is_refused(feed_server: str) -> None:
    with pytest.raises(RecordError, match="limit"):
        ingest_url(f"{feed_server}/feed.xml", max_bytes=100)


def test_feed_entries_take_their_issuer_from_source_or_a_laiyuan_line_and_keep_the_category(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """<source> and 来源： name the office; <category> is the catalog; the feed's own site is never the issuer."""
    feed = tmp_path / "f.xml"
    feed.write_text(
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>汉阴县人民政府</title>'
        '<item><title>防汛值班安排</title><link>http://127.0.0.1/a</link><guid>a</guid>'
        '<source url="http://127.0.0.1/">汉阴县应急管理局</source><category>应急管理</category>'
        '<description>汛期实行24小时值班。</description></item>'
        '<item><title>秸秆禁烧倡议</title><link>http://127.0.0.1/b</link><guid>b</guid>'
        '<description>&lt;p&gt;来源：汉阴县蒲溪镇人民政府&lt;/p&gt;&lt;p&gt;请勿焚烧秸秆。&lt;/p&gt;</description></item>'
        '<item><title>一则消息</title><link>http://127.0.0.1/c</link><guid>c</guid><description>正文。</description></item>'
        '</channel></rss>', encoding="utf-8")
    a, b, c = ingest_path(feed)
    assert (a.record.department, a.record.catalog) == ("汉阴县应急管理局", "应急管理")
    assert b.record.department == "汉阴县蒲溪镇人民政府"
    assert c.record.department is None and any("未识别发布机构" in w for w in c.warnings)
