"""Properties over generated records: budgets hold or RenderError, HTML never executable, output deterministic.

Generated titles and bodies mix CJK, emoji and ZWJ sequences, combining marks, the
RTL override, control characters, ``<script>`` and ``{{ 7*7 }}``, and titles up to
the 300-character cap.
"""

from __future__ import annotations

import json
from html.parser import HTMLParser

import feedparser
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.errors import RenderError
from hub.record import Heading, ListBlock, Paragraph, Record, Table
from hub.renderers import RENDERERS
from hub.renderers.base import ArtifactStore
from hub.renderers.context import build_context
from hub.renderers.sms import segments
from hub.renderers.summary import MAX_CHARS
from hub.renderers.web import SiteEntry, build_site
from hub.renderers.wechat import ALLOWED_TAGS, CONTENT_MAX_CHARS, TITLE_MAX
from hub.renderers.weibo import LIMIT, weibo_length

KINDS = ("summary", "qr", "sms", "wechat", "weibo", "web", "print")
NASTY = ["<script>alert(1)</script>", "{{ 7*7 }}", "{% raw %}", "\"><img src=x onerror=alert(1)>",
         "javascript:alert(1)", "\u202e反转", "👨‍👩‍👧", "e\u0301", "&amp;", "#话题#", "\x07\x1b", "。", "，", "？"]
# (NUL is refused by the record model itself since issue 18: tests/ingest/test_bad_input_limits.py)
chars = st.characters(codec="utf-8", exclude_categories=("Cs",), exclude_characters="\x00")
cjk = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF)
piece = st.one_of(st.text(cjk, min_size=1, max_size=30), st.text(chars, max_size=10), st.sampled_from(NASTY))
text = st.lists(piece, min_size=1, max_size=8).map("".join)
title = st.one_of(text, st.text(cjk, min_size=200, max_size=300)).map(lambda t: t[:300]).filter(lambda t: t != "")
block = st.one_of(
    st.builds(Paragraph, text=text),
    st.builds(Heading, level=st.integers(1, 3), number=st.sampled_from([None, "一、", "（二）", "3."]), text=text),
    st.builds(ListBlock, ordered=st.booleans(), items=st.lists(text, min_size=1, max_size=4)),
    st.builds(Table, caption=st.one_of(st.none(), text), header=st.lists(text, max_size=6),
              rows=st.lists(st.lists(text, min_size=1, max_size=6), max_size=4)),
)
records = st.builds(Record, id=st.from_regex(r"[a-z][a-z0-9-]{0,20}", fullmatch=True), title=title,
                    department=st.one_of(st.none(), text.map(lambda t: t[:60])), domain=st.one_of(st.none(), text.map(lambda t: t[:100])),
                    body=st.lists(block, max_size=8))


class Scan(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.attrs: set[str] = set()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.attrs.update(a for a, _ in attrs)
        self.hrefs.extend(v or "" for a, v in attrs if a in ("href", "src"))


def scan(html: str) -> Scan:
    s = Scan()
    s.feed(html)
    return s


def check_html_not_executable(html: str) -> Scan:
    s = scan(html)
    assert not s.tags & {"script", "iframe", "object", "embed", "form", "img", "style"}
    assert not any(a.startswith("on") for a in s.attrs)
    assert not any(h.strip().lower().startswith(("javascript:", "data:", "vbscript:")) for h in s.hrefs)
    return s


def check_budgets(kind: str, facts: dict[str, object], main: bytes) -> None:
    if kind == "summary":
        assert len(str(facts["text"])) <= MAX_CHARS
    elif kind == "sms":
        assert segments(str(facts["text"])) <= 1
        assert all(len(p) <= 6 for p in facts["params"])  # type: ignore[attr-defined]
    elif kind == "weibo":
        assert weibo_length(str(facts["text"])) <= LIMIT and "#" not in str(facts["text"])
    elif kind == "wechat":
        [article] = json.loads(main)["articles"]
        assert len(article["title"]) <= TITLE_MAX and len(article["digest"]) <= MAX_CHARS
        assert len(article["content"]) < CONTENT_MAX_CHARS
        s = check_html_not_executable(article["content"])
        assert s.tags <= ALLOWED_TAGS and s.attrs <= {"style"}
    elif kind == "web":
        check_html_not_executable(main.decode())


def check_feed(entry: dict[str, object], public_url: str) -> None:
    xml = build_site([SiteEntry.from_json(entry)], public_url=public_url, site_name="汉阴县人民政府")["feed.xml"]
    feed = feedparser.parse(xml)
    assert feed.bozo == 0, feed.get("bozo_exception")
    [e] = feed.entries
    assert (e.title, e.link) == (entry["title"], entry["url"])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(record=records)
def test_every_rendition_respects_its_budget_or_raises_render_error(record: Record, tmp_path_factory) -> None:  # type: ignore[no-untyped-def]
    """Each kind either renders within its channel's limits (HTML never executable) or raises RenderError;
    rendering twice gives the same bytes."""
    store = ArtifactStore(tmp_path_factory.mktemp("a"))
    ctx = build_context(record, record.version_hash())
    for kind in KINDS:
        try:
            first = RENDERERS[kind](record, ctx, store)
        except RenderError as exc:
            assert str(exc).startswith(f"{kind}:") or "render.font" in str(exc)
            continue
        main = first.main.path.read_bytes()
        check_budgets(kind, first.facts, main)
        if kind == "web":
            check_feed(first.facts["entry"], ctx.public_url)
        again = RENDERERS[kind](record, ctx, store)
        assert again.main.sha256 == first.main.sha256
        assert {k: a.sha256 for k, a in again.files.items()} == {k: a.sha256 for k, a in first.files.items()}


@settings(max_examples=25, deadline=None)
@given(title=st.sampled_from(NASTY[:5]).flatmap(lambda n: st.builds(lambda a, b: a + n + b, st.text(cjk, max_size=5),
                                                                       st.text(cjk, max_size=5))))
def test_template_syntax_and_markup_in_titles_render_literally(title: str, tmp_path_factory) -> None:  # type: ignore[no-untyped-def]
    """{{ 7*7 }} is printed as written and <script> is escaped on the portal page."""
    record = Record(id="x", title=title)
    store = ArtifactStore(tmp_path_factory.mktemp("b"))
    html = RENDERERS["web"](record, build_context(record, record.version_hash()), store).main.path.read_text()
    check_html_not_executable(html)
    escaped = title.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&#34;").replace("'", "&#39;")
    assert escaped in html
