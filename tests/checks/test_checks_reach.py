"""Dead links are found by asking the site (a local server on 127.0.0.1), with a cache and an off switch."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from hub.checks import run_checks
from hub.checks.reach import clear_cache
from hub.record import Paragraph, Record


class _Site(BaseHTTPRequestHandler):
    hits: list[str] = []

    def _answer(self) -> None:
        _Site.hits.append(f"{self.command} {self.path}")
        self.send_response(200 if self.path == "/ok.html" else 404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_HEAD = do_GET = _answer  # noqa: N815

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def site() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Site)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Site.hits.clear()
    clear_cache()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        clear_cache()


def _record(*urls: str) -> Record:
    return Record(id="r-links", title="链接测试", body=[Paragraph(text=f"详见 {u} 。") for u in urls])


def test_a_link_that_answers_404_is_a_dead_link_finding_in_chinese(site: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUB_CHECK_LINKS_REACHABLE", "1")
    findings = run_checks(_record(f"{site}/ok.html", f"{site}/gone.html"))
    dead = [f for f in findings if f.kind == "link_dead"]
    assert [(f.excerpt.count("gone.html"), f.suggestion) for f in dead] == [(1, "链接无法打开（网站返回 404）")]
    assert not dead[0].blocking  # blocking_dead = false in config/checks.toml


def test_a_name_that_does_not_resolve_is_a_dead_link(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUB_CHECK_LINKS_REACHABLE", "1")
    clear_cache()
    [dead] = [f for f in run_checks(_record("http://no-such-host.invalid/page")) if f.kind == "link_dead"]
    assert dead.suggestion == "链接的域名无法解析（网站可能已不存在）"


def test_answers_are_cached_so_a_recheck_does_not_ask_again(site: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUB_CHECK_LINKS_REACHABLE", "1")
    record = _record(f"{site}/gone.html")
    first = run_checks(record)
    asked = len(_Site.hits)
    assert asked >= 1 and run_checks(record) == first and len(_Site.hits) == asked


def test_an_air_gapped_installation_turns_the_check_off(site: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUB_CHECK_LINKS_REACHABLE", "0")
    assert not [f for f in run_checks(_record(f"{site}/gone.html")) if f.kind == "link_dead"]
    assert _Site.hits == []


def test_link_format_findings_are_worded_in_chinese() -> None:
    findings = run_checks(_record("htp://www.gov.cn/x", "https://example.com/a"))
    reasons = {f.kind: f.suggestion for f in findings}
    assert reasons["link_malformed"] == "网址开头“htp:”有误，应为 http:// 或 https://"
    assert reasons["link_unknown_host"] == "网站 example.com 不在允许链接的网站名单中（config/checks.toml）"
