"""Property tests: whatever text or bytes come in, only ``RecordError`` may come out of a parser."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.checks import run_checks
from hub.errors import RecordError
from hub.ingest import ingest_bytes, ingest_text
from hub.ingest.dates import DateError, find_datetime
from hub.ingest.feeds import parse_feed
from hub.ingest.html import html_to_blocks
from hub.ingest.markdown import parse_markdown
from hub.ingest.page import parse_page_text
from hub.ingest.recordfile import parse_record_file
from hub.ingest.textio import decode_text

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

# pieces of the real formats, so generated inputs reach deep into the parsers
PIECES = st.sampled_from([
    "+++", "\n", "|", "｜", ":", "：", "索引号", "公开日期", "成文日期", "文号", "公开形式", "主动公开", "发布机构",
    "一、", "二、", "（一）", "(二)", "1.", "第一章", "2017年11月15日", "二〇一七年十一月十五日", "2017-02-30",
    "2017-11-15 14:52", "各镇人民政府,", "直属机构:", "汉阴县人民政府办公室", "附件：", "title = ", '"x"',
    "[signature]", "written_on = ", "2017-11-15", "= [", "]", "#", "- ", "| a | b |\n|---|---|", "<p>", "</p>",
    "<rss>", "<item>", "</item>", "<title>", "http://", "www.", "61092119650312864X", "13992561234", " ", "\t",
    "\x00", "\ufeff", "\r\n", "〔2017〕", "0915-5212345", "十", "月", "日", "年",
])
TEXTS = st.one_of(st.text(max_size=400), st.lists(PIECES, max_size=60).map("".join))


def only_record_errors(fn, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
    try:
        fn(*args, **kwargs)
    except RecordError:
        pass


@SETTINGS
@given(st.binary(max_size=600))
def test_decoding_arbitrary_bytes_raises_only_record_error(data: bytes) -> None:
    only_record_errors(decode_text, data, file="x")


@SETTINGS
@given(st.one_of(st.binary(max_size=600), TEXTS.map(lambda t: t.encode("utf-8", "surrogatepass"))))
def test_ingesting_arbitrary_bytes_raises_only_record_error(data: bytes) -> None:
    only_record_errors(ingest_bytes, data, file="x")


@SETTINGS
@given(TEXTS)
def test_ingesting_arbitrary_text_raises_only_record_error(text: str) -> None:
    only_record_errors(ingest_text, text, file="x")


@SETTINGS
@given(TEXTS)
def test_page_text_parsing_raises_only_record_error(text: str) -> None:
    only_record_errors(parse_page_text, text, file="x")


@SETTINGS
@given(TEXTS, TEXTS)
def test_record_file_parsing_raises_only_record_error(front: str, body: str) -> None:
    only_record_errors(parse_record_file, f"+++\n{front}\n+++\n{body}", file="x")
    only_record_errors(parse_record_file, f"+++\n{front}", file="x")


@SETTINGS
@given(TEXTS)
def test_markdown_bodies_never_raise(text: str) -> None:
    parse_markdown(text)


@SETTINGS
@given(TEXTS)
def test_html_fragments_never_raise(text: str) -> None:
    html_to_blocks(text)


@SETTINGS
@given(st.one_of(st.binary(max_size=400), TEXTS.map(lambda t: ("<rss><channel><item>" + t).encode("utf-8", "surrogatepass"))))
def test_feed_parsing_raises_only_record_error(data: bytes) -> None:
    only_record_errors(parse_feed, data, uri="x")


@SETTINGS
@given(TEXTS)
def test_date_finding_raises_only_date_error(text: str) -> None:
    try:
        find_datetime(text)
    except DateError:
        pass


@SETTINGS
@given(TEXTS)
def test_checks_never_raise_on_any_ingested_text(text: str) -> None:
    try:
        items = ingest_text(text, file="x")
    except RecordError:
        return
    for item in items:
        run_checks(item.record, source_text=item.source_text)
        run_checks(item.record)
