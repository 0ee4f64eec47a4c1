"""The sandbox's inbox and control surface: JSON, the citizen's view (escaped), faults, reset, persistence."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from hub.sandbox.app import build_sandbox
from hub.sandbox.core import Sandbox

WEIBO_TOKEN = "2.00inbox-token"
LINK = "http://127.0.0.1:8000/s/abc"


def make(state: Path | None = None) -> Sandbox:
    return build_sandbox(0, state_file=state, credentials={"weibo": {WEIBO_TOKEN: "weibo-county"},
                                                           "wechat": {"wxinbox": "inbox-secret"}})


@pytest.fixture
def sb() -> Iterator[Sandbox]:
    with make() as sandbox:
        yield sandbox


def post_weibo(sb: Sandbox, text: str) -> httpx.Response:
    return httpx.post(f"{sb.url}/2/statuses/share.json", data={"status": text, "rip": "127.0.0.1"},
                      headers={"Authorization": f"OAuth2 {WEIBO_TOKEN}"}, timeout=5)


def test_messages_lists_accepted_posts_and_filters_by_channel(sb: Sandbox) -> None:
    post_weibo(sb, f"一 {LINK}")
    sb.record("sms", "sms", "1400000001", {"phone": "+8613800000001", "text": "【汉阴县】通知"}, ref="s1")
    everything = httpx.get(f"{sb.url}/_sandbox/messages", timeout=5).json()
    assert {m["channel"] for m in everything} == {"weibo", "sms"}
    only = httpx.get(f"{sb.url}/_sandbox/messages", params={"channel": "sms"}, timeout=5).json()
    assert [m["ref"] for m in only] == ["s1"] and only[0]["content"]["text"] == "【汉阴县】通知"


def test_the_page_escapes_everything_and_frames_articles_without_scripts(sb: Sandbox) -> None:
    post_weibo(sb, f"<script>alert('wb')</script> {LINK}")
    sb.record("wechat", "article", "wxinbox", {
        "title": "<img src=x onerror=alert(1)>标题", "author": "公开办", "publish_id": "1", "article_id": "A1",
        "content": "<p>正文</p>", "article_url": f"{sb.url}/_sandbox/article?id=A1&idx=1&sn=x"})
    sb.record("sms", "sms", "1400000001", {"phone": "+8613800000001", "text": "<b>短信</b>"})
    sb.record("newspaper", "mail", "desk", {"subject": "<i>稿件</i>", "to": "desk@example", "text": "见附件",
                                            "attachments": [{"filename": "<x>.pdf", "content_type": "application/pdf",
                                                             "bytes": 12345, "sha256": "ab"}]})
    r = httpx.get(f"{sb.url}/_sandbox/", timeout=5)
    page = r.text
    assert r.headers["content-type"].startswith("text/html")
    assert "script-src" not in r.headers["content-security-policy"] and "default-src 'none'" in \
        r.headers["content-security-policy"]
    assert "<script>" not in page and "<img src=x" not in page and "<b>短信</b>" not in page
    assert "&lt;script&gt;alert(&#x27;wb&#x27;)&lt;/script&gt;" in page
    assert '<iframe sandbox title="&lt;img' in page and 'src="/_sandbox/article?id=A1&amp;idx=1"' in page
    article = httpx.get(f"{sb.url}/_sandbox/article", params={"id": "A1", "idx": "1"}, timeout=5)
    assert "script-src 'none'" in article.headers["content-security-policy"]
    assert "&lt;img src=x onerror" in article.text and "<p>正文</p>" in article.text
    assert httpx.get(f"{sb.url}/_sandbox/article", params={"id": "nope"}, timeout=5).status_code == 404
    assert "+86*******0001" in page and "13800000001" not in page  # numbers are shown masked
    assert "&lt;i&gt;稿件&lt;/i&gt;" in page and "&lt;x&gt;.pdf" in page and "12,345 bytes" in page


def test_an_sms_thread_per_number(sb: Sandbox) -> None:
    for phone, text in [("+8613800000001", "第一条"), ("+8613800000002", "别人的"), ("+8613800000001", "第二条")]:
        sb.record("sms", "sms", "1400000001", {"phone": phone, "text": text})
    page = httpx.get(f"{sb.url}/_sandbox/", timeout=5).text
    assert page.count('class="thread"') == 2
    first = page.index("+86*******0001")
    assert first < page.index("第一条") < page.index("第二条")


def test_faults_are_read_and_set_at_run_time_and_unknown_knobs_change_nothing(sb: Sandbox) -> None:
    r = httpx.post(f"{sb.url}/_sandbox/faults", json={"weibo": {"rate_limit_rate": 1, "latency_ms": 5}}, timeout=5)
    assert r.status_code == 200 and r.json()["weibo"]["rate_limit_rate"] == 1.0
    assert post_weibo(sb, f"x {LINK}").json()["error_code"] == 10023
    bad = httpx.post(f"{sb.url}/_sandbox/faults", json={"weibo": {"rate_limit_rate": 0}, "wechat": {"boom": 1}},
                     timeout=5)
    assert bad.status_code == 400 and "boom" in bad.json()["error"]
    assert httpx.get(f"{sb.url}/_sandbox/faults", timeout=5).json()["weibo"]["rate_limit_rate"] == 1.0


def test_reset_forgets_posts_state_and_faults(sb: Sandbox) -> None:
    post_weibo(sb, f"x {LINK}")
    sb.set_faults("weibo", latency_ms=1)
    assert httpx.post(f"{sb.url}/_sandbox/reset", timeout=5).json() == {"reset": True}
    assert httpx.get(f"{sb.url}/_sandbox/messages", timeout=5).json() == []
    assert httpx.get(f"{sb.url}/_sandbox/faults", timeout=5).json() == {}
    assert post_weibo(sb, f"x {LINK}").status_code == 200  # the duplicate memory went too


def test_a_restarted_sandbox_remembers_posts_tokens_and_publishes(tmp_path: Path) -> None:
    state = tmp_path / "sandbox.json"
    from io import BytesIO

    from PIL import Image

    pic = BytesIO()
    Image.new("RGB", (32, 32), "#bada55").save(pic, "JPEG")
    with make(state) as first:
        posted = httpx.post(f"{first.url}/2/statuses/share.json", data={"status": f"记得我 {LINK}", "rip": "1.2.3.4"},
                            files={"pic": ("p.jpg", pic.getvalue(), "image/jpeg")},
                            headers={"Authorization": f"OAuth2 {WEIBO_TOKEN}"}, timeout=5).json()
        tok = httpx.get(f"{first.url}/cgi-bin/token", params={"grant_type": "client_credential", "appid": "wxinbox",
                                                              "secret": "inbox-secret"}, timeout=5).json()
    with make(state) as again:
        assert [m["content"]["text"] for m in httpx.get(f"{again.url}/_sandbox/messages", timeout=5).json()] == \
            [f"记得我 {LINK}"]
        assert post_weibo(again, f"记得我 {LINK}").json()["error_code"] == 20019  # still knows the text
        r = httpx.post(f"{again.url}/cgi-bin/draft/get", params={"access_token": tok["access_token"]},
                       content=b'{"media_id": "x"}', timeout=5)
        assert r.json()["errcode"] == 40007  # the token is still valid after the restart
        picture = httpx.get(f"{again.url}/_sandbox/weibo-pic", params={"id": posted["idstr"]}, timeout=5)
        assert picture.content == pic.getvalue()  # uploads live beside the state file, not inside it
    assert len(state.read_bytes()) < 20_000  # no image bytes inside the JSON state


@pytest.mark.slow
def test_the_hub_sandbox_command_serves_until_ctrl_c(tmp_path: Path, sandbox_secrets: dict[str, str]) -> None:
    import os
    import signal
    import subprocess
    import sys

    state = tmp_path / "state.json"
    proc = subprocess.Popen(
        [sys.executable, "-c", "from hub.cli import main; main()", "sandbox", "--port", "0", "--state", str(state),
         "--fault", "weibo:latency_ms=1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ})
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("sandbox listening on http://127.0.0.1:")
        url = line.split()[3]
        assert httpx.get(f"{url}/_sandbox/faults", timeout=5).json()["weibo"]["latency_ms"] == 1
        token = sandbox_secrets["HUB_WEIBO_COUNTY_TOKEN"]
        r = httpx.post(f"{url}/2/statuses/share.json", data={"status": f"命令行 {LINK}", "rip": "127.0.0.1"},
                       headers={"Authorization": f"OAuth2 {token}"}, timeout=5)
        assert r.status_code == 200
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0 and "sandbox stopped" in out
    assert token not in out + err and "Traceback" not in err
    assert "命令行" in state.read_text("utf-8")  # the state file kept what it accepted


def test_a_malformed_fault_is_one_clear_line_and_status_2() -> None:
    from typer.testing import CliRunner

    from hub.cli import _register, app

    _register()
    for spec in ("wechat:explode=1", "no-colon", "weibo:latency_ms=fast"):
        r = CliRunner().invoke(app, ["sandbox", "--port", "0", "--fault", spec])
        assert r.exit_code == 2, spec
        lines = r.output.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: --fault"), r.output


def test_inbox_images_are_paths_so_a_restarted_sandbox_on_another_port_still_shows_them() -> None:
    from hub.sandbox.inbox import same_origin

    assert same_origin("http://127.0.0.1:45397/_sandbox/media?id=m1") == "/_sandbox/media?id=m1"
    assert same_origin("https://mmbiz.qpic.cn/x.jpg") == "https://mmbiz.qpic.cn/x.jpg"
