"""The WeChat adapter through the real wechatpy client against the running sandbox.

Every mapped errcode, HTTP status and transport failure is produced by a sandbox
fault knob on the wire; the adapter must turn each into the typed outcome the
reliability reference asks for, spend at most one token refresh per send and
make at most one publishing POST (plus the one retry after a token refresh).
"""

from __future__ import annotations

import json
import socket
import time
from io import BytesIO
from typing import Any

import pytest
from PIL import Image

from hub.channels.wechat import ERRCODES, WeChatChannel
from hub.config import Account, HubConfig, get_config
from hub.deliverables import DeliveryStatus, Rendition, Target
from hub.errors import (
    Ambiguous,
    AuthExpired,
    ChannelError,
    DuplicateRejected,
    Permanent,
    RateLimited,
    Retryable,
)
from hub.renderers.base import ArtifactStore
from hub.sandbox.core import Sandbox
from hub.settings import get_settings

TARGET = Target("wechat", "wechat-county", "wechat-county")
SUBMIT = "/cgi-bin/freepublish/submit"
TOKEN = "/cgi-bin/stable_token"


def cover_jpeg(color: str = "#b22222") -> bytes:
    out = BytesIO()
    Image.new("RGB", (900, 383), color).save(out, "JPEG", quality=80)
    return out.getvalue()


def make_rendition(title: str = "关于2017年度扶贫资金使用情况的公示", *, content: str | None = None,
                   source_url: str = "http://127.0.0.1:8000/records/hanyin-2017-168",
                   extra_files: dict[str, tuple[bytes, str, str]] | None = None) -> Rendition:
    """A WeChat rendition shaped as hub.renderers.wechat makes it (main JSON article + cover JPEG)."""
    store = ArtifactStore(get_settings().artifacts_dir)
    article = {"article_type": "news", "title": title, "author": "汉阴县政务公开办",
               "digest": "汉阴县公示2017年度扶贫资金使用情况，接受群众监督。",
               "content": content or "<section><p style=\"text-indent:2em\">根据有关规定，现将……予以公示。</p></section>",
               "content_source_url": source_url, "thumb_media_id": None,
               "need_open_comment": 0, "only_fans_can_comment": 0}
    main = store.put(json.dumps({"articles": [article]}, ensure_ascii=False).encode(), ".json", "application/json")
    files = {"cover": store.put(cover_jpeg(), ".jpg", "image/jpeg")}
    for role, (data, suffix, media_type) in (extra_files or {}).items():
        files[role] = store.put(data, suffix, media_type)
    return Rendition("wechat", "hanyin-2017-168", "v1", main, files=files)


@pytest.fixture
def channel(sandbox: Sandbox) -> WeChatChannel:
    return WeChatChannel(get_config(), get_settings())


def with_account(**changes: Any) -> HubConfig:
    """The config with the county WeChat account changed (e.g. a short read timeout)."""
    config = get_config()
    account = config.accounts["wechat-county"]
    accounts = dict(config.accounts)
    accounts["wechat-county"] = Account(channel="wechat", **{**(account.model_extra or {}), **changes})
    return config.model_copy(update={"accounts": accounts})


def test_a_sample_article_is_published_and_the_inbox_shows_it(sandbox: Sandbox, channel: WeChatChannel) -> None:
    sandbox.set_faults("wechat", publish_delay=0.3)
    receipt = channel.send(make_rendition(), TARGET, "key-ok")
    assert receipt.provider_ref.isdigit() and not receipt.confirmed
    assert channel.status(receipt, TARGET) is DeliveryStatus.PENDING
    time.sleep(0.4)
    status, words = channel.describe(receipt, TARGET)
    assert status is DeliveryStatus.DELIVERED and "/_sandbox/article?" in words
    [article] = sandbox.messages("wechat", "article")
    assert article["content"]["title"] == "关于2017年度扶贫资金使用情况的公示"
    assert article["content"]["publish_id"] == receipt.provider_ref
    assert article["content"]["thumb_url"]  # the cover went up as a permanent thumb and is on the article
    assert sandbox.hit_count(SUBMIT) == 1


def test_a_failed_publication_reports_the_reason_in_words(sandbox: Sandbox, channel: WeChatChannel) -> None:
    sandbox.set_faults("wechat", publish_delay=0, publish_status=4)
    receipt = channel.send(make_rendition(), TARGET, "key-audit")
    status, words = channel.describe(receipt, TARGET)
    assert status is DeliveryStatus.FAILED and "审核" in words and "[1]" in words
    assert sandbox.messages("wechat", "article") == []


def test_inline_artifact_images_are_uploaded_and_linked(sandbox: Sandbox, channel: WeChatChannel) -> None:
    png = BytesIO()
    Image.new("RGB", (40, 40), "#123456").save(png, "PNG")
    content = '<p>图：</p><img src="artifact:chart"><p>完</p>'
    rendition = make_rendition(content=content, extra_files={"chart": (png.getvalue(), ".png", "image/png")})
    sandbox.set_faults("wechat", publish_delay=0)
    receipt = channel.send(rendition, TARGET, "key-img")
    assert channel.status(receipt, TARGET) is DeliveryStatus.DELIVERED
    [article] = sandbox.messages("wechat", "article")
    assert "/_sandbox/media?id=" in article["content"]["content"]  # kept: it came from uploadimg
    assert sandbox.hit_count("/cgi-bin/media/uploadimg") == 1


# --- every errcode of the table, answered on the wire by the sandbox ------------------------------

EXPECTED: dict[int, type[ChannelError]] = {
    -1: Retryable, 40013: AuthExpired, 40125: AuthExpired, 40164: AuthExpired, 41001: AuthExpired,
    40005: Permanent, 40006: Permanent, 40009: Permanent, 40007: Retryable,
    45001: Permanent, 45002: Permanent, 45003: Permanent, 45004: Permanent, 45110: Permanent,
    44003: Permanent, 44004: Permanent, 40035: Permanent, 47001: Permanent,
    45009: RateLimited, 45011: RateLimited, 45028: RateLimited, 45065: DuplicateRejected, 48001: Permanent,
    53500: Permanent, 53501: RateLimited, 53502: Permanent, 53600: Permanent,
    99999: Permanent,  # an errcode nobody listed: refused, not retried
}


def test_the_expectations_cover_the_whole_table() -> None:
    token_codes = {40001, 40014, 42001}
    assert set(ERRCODES) - token_codes == set(EXPECTED) - {99999}


@pytest.mark.parametrize(("code", "expected"), sorted(EXPECTED.items()))
def test_errcodes_on_submit_map_to_typed_outcomes(sandbox: Sandbox, channel: WeChatChannel, code: int,
                                                  expected: type[ChannelError]) -> None:
    sandbox.set_faults("wechat", error_code=code, only_on="freepublish/submit")
    with pytest.raises(expected) as info:
        channel.send(make_rendition(), TARGET, f"key-{code}")
    assert type(info.value) is expected or (expected is Retryable and type(info.value) is Retryable)
    assert f"errcode {code}" in str(info.value)
    assert sandbox.hit_count(SUBMIT) == 1


def test_daily_quota_waits_for_the_beijing_midnight_reset(sandbox: Sandbox, channel: WeChatChannel) -> None:
    sandbox.set_faults("wechat", rate_limit_rate=1.0)  # the sandbox answers its default, 45009
    with pytest.raises(RateLimited) as info:
        channel.send(make_rendition(), TARGET, "key-quota")
    assert info.value.daily and info.value.retry_after is not None and 0 < info.value.retry_after <= 86400 + 10
    assert "45009" in str(info.value)


def test_minute_limit_backs_off_a_minute(sandbox: Sandbox, channel: WeChatChannel) -> None:
    sandbox.set_faults("wechat", rate_limit_rate=1.0, rate_limit_code=45011)
    with pytest.raises(RateLimited) as info:
        channel.send(make_rendition(), TARGET, "key-minute")
    assert not info.value.daily and info.value.retry_after == 60.0


def test_content_the_platform_refuses_is_permanent(sandbox: Sandbox, channel: WeChatChannel) -> None:
    with pytest.raises(Permanent, match="45003"):
        channel.send(make_rendition(title="标题" * 20), TARGET, "key-long-title")
    assert sandbox.hit_count(SUBMIT) == 0


# --- HTTP statuses and transport failures -------------------------------------------------------

TRANSPORT_CASES = [
    # (knobs, expected outcome, submits that reached the sandbox)
    ({"error_5xx_rate": 1.0, "error_status": 500, "only_on": "freepublish/submit"}, Retryable),
    ({"error_5xx_rate": 1.0, "error_status": 502, "only_on": "freepublish/submit"}, Retryable),
    ({"error_5xx_rate": 1.0, "error_status": 503, "only_on": "freepublish/submit"}, Retryable),
    ({"error_5xx_rate": 1.0, "error_status": 504, "only_on": "freepublish/submit"}, Ambiguous),
    ({"error_5xx_rate": 1.0, "error_status": 504, "only_on": "draft/add"}, Retryable),
    ({"error_5xx_rate": 1.0, "error_status": 503}, Retryable),  # even the token fetch fails
    ({"drop_rate": 1.0, "only_on": "freepublish/submit"}, Ambiguous),
    ({"drop_rate": 1.0, "only_on": "draft/add"}, Retryable),
    ({"garbage_rate": 1.0, "only_on": "freepublish/submit"}, Ambiguous),
    ({"garbage_rate": 1.0, "only_on": "material/add_material"}, Retryable),
    ({"garbage_rate": 1.0, "only_on": "stable_token"}, Retryable),
    ({"drop_rate": 1.0, "only_on": "stable_token"}, Retryable),
    ({"late_rate": 1.0, "late_seconds": 1.5, "only_on": "freepublish/submit"}, Ambiguous),
    ({"late_rate": 1.0, "late_seconds": 1.5, "only_on": "draft/add"}, Retryable),
]


@pytest.mark.parametrize(("knobs", "expected"), TRANSPORT_CASES,
                         ids=[",".join(f"{k}={v}" for k, v in c[0].items()) for c in TRANSPORT_CASES])
def test_transport_failures_map_to_typed_outcomes(sandbox: Sandbox, knobs: dict[str, Any],
                                                  expected: type[ChannelError]) -> None:
    channel = WeChatChannel(with_account(timeout=[2, 0.5]), get_settings())
    sandbox.set_faults("wechat", **knobs)
    with pytest.raises(expected) as info:
        channel.send(make_rendition(), TARGET, "key-transport")
    assert type(info.value) is expected
    assert sandbox.hit_count(SUBMIT) <= 1


def test_429_carries_retry_after(sandbox: Sandbox, channel: WeChatChannel) -> None:
    sandbox.set_faults("wechat", error_5xx_rate=1.0, error_status=429, retry_after=7, only_on="draft/add")
    with pytest.raises(RateLimited) as info:
        channel.send(make_rendition(), TARGET, "key-429")
    assert info.value.retry_after == 7.0


def test_connection_refused_is_retryable(sandbox: Sandbox) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    channel = WeChatChannel(with_account(api_base=f"http://127.0.0.1:{port}/cgi-bin/"), get_settings())
    with pytest.raises(Retryable) as info:
        channel.send(make_rendition(), TARGET, "key-refused")
    assert type(info.value) is Retryable and "not sent" in str(info.value)


def test_wrong_secret_is_auth_expired(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUB_WECHAT_COUNTY_SECRET", "not-the-secret-0000")
    channel = WeChatChannel(get_config(), get_settings())
    with pytest.raises(AuthExpired, match="40125"):
        channel.send(make_rendition(), TARGET, "key-bad-secret")
    assert sandbox.hit_count(TOKEN) == 1


# --- the token: shared, refreshed at most once per send ---------------------------------------------


def test_one_token_fetch_serves_ten_sends(sandbox: Sandbox, channel: WeChatChannel) -> None:
    for i in range(10):
        channel.send(make_rendition(title=f"第{i}号公示"), TARGET, f"key-{i}")
    assert sandbox.hit_count(TOKEN) == 1
    assert sandbox.hit_count("/cgi-bin/token", "GET") == 0  # never the invalidating cgi-bin/token


def test_a_second_worker_reuses_the_token_from_the_database(sandbox: Sandbox, channel: WeChatChannel) -> None:
    from hub.channels.wechat import SharedTokenStorage

    channel.send(make_rendition(), TARGET, "key-w1")
    SharedTokenStorage._memory.clear()  # another process: nothing in memory, same database
    WeChatChannel(get_config(), get_settings()).send(make_rendition(title="另一条"), TARGET, "key-w2")
    assert sandbox.hit_count(TOKEN) == 1


def test_the_stored_token_is_encrypted(sandbox: Sandbox, channel: WeChatChannel) -> None:
    from hub.store.db import session_scope
    from hub.store.models import ChannelStateRow

    channel.send(make_rendition(), TARGET, "key-enc")
    tokens = [t for t, v in sandbox.vendor("wechat")["tokens"].items() if v["kind"] == "stable"]
    with session_scope() as s:
        row = s.get(ChannelStateRow, "wechat-token:wxhanyincounty0001")
        assert row is not None
        stored = json.dumps(row.value)
    assert tokens and tokens[0] not in stored


def test_an_expired_token_is_refreshed_once_and_the_call_retried(sandbox: Sandbox, channel: WeChatChannel) -> None:
    channel.send(make_rendition(), TARGET, "key-warm")  # a token is cached
    sandbox.set_faults("wechat", token_expired=1)
    receipt = channel.send(make_rendition(title="第二条"), TARGET, "key-refresh")
    assert receipt.raw["token_refreshed"] is True
    assert sandbox.hit_count(TOKEN) == 2  # the first fetch and the one refresh


def test_a_token_rejected_after_the_refresh_is_auth_expired_not_a_loop(sandbox: Sandbox,
                                                                       channel: WeChatChannel) -> None:
    sandbox.set_faults("wechat", token_expired=50)
    with pytest.raises(AuthExpired, match="42001"):
        channel.send(make_rendition(), TARGET, "key-expired")
    assert sandbox.hit_count(TOKEN) == 2  # the first fetch and exactly one refresh
    assert sandbox.fault("wechat").token_expired == 48  # two API calls were made, no more


def test_token_expiry_on_submit_retries_the_submit_once(sandbox: Sandbox, channel: WeChatChannel) -> None:
    sandbox.set_faults("wechat", error_code=42001, error_count=1, only_on="freepublish/submit")
    receipt = channel.send(make_rendition(), TARGET, "key-submit-token")
    assert receipt.provider_ref and sandbox.hit_count(SUBMIT) == 2  # refused (nothing applied), then once more
    assert len(sandbox.vendor("wechat")["publishes"]) == 1


def test_a_real_token_expiry_fetches_a_new_token(sandbox: Sandbox, channel: WeChatChannel) -> None:
    sandbox.options["wechat_token_ttl"] = 1.5
    channel.send(make_rendition(), TARGET, "key-t1")
    time.sleep(1.6)
    channel.send(make_rendition(title="过期之后"), TARGET, "key-t2")
    assert sandbox.hit_count(TOKEN) == 2


# --- one publishing POST per send, whatever happens ----------------------------------------------------


@pytest.mark.parametrize("knobs", [
    {"drop_rate": 1.0, "only_on": "freepublish/submit"},
    {"garbage_rate": 1.0, "only_on": "freepublish/submit"},
    {"error_5xx_rate": 1.0, "error_status": 504, "only_on": "freepublish/submit"},
    {"error_code": -1, "only_on": "freepublish/submit"},
    {"error_code": 45009, "only_on": "freepublish/submit"},
    {"error_code": 53501, "only_on": "freepublish/submit"},
], ids=["drop", "garbage", "504", "busy", "quota", "too-frequent"])
def test_a_send_makes_exactly_one_publishing_post(sandbox: Sandbox, channel: WeChatChannel,
                                                  knobs: dict[str, Any]) -> None:
    sandbox.set_faults("wechat", **knobs)
    with pytest.raises(ChannelError):
        channel.send(make_rendition(), TARGET, "key-once")
    assert sandbox.hit_count(SUBMIT) == 1


# --- lookup after an ambiguous submit ------------------------------------------------------------------


def test_lookup_finds_a_publish_whose_answer_was_lost(sandbox: Sandbox, channel: WeChatChannel) -> None:
    sandbox.set_faults("wechat", drop_rate=1.0, only_on="freepublish/submit", publish_delay=0)
    with pytest.raises(Ambiguous):
        channel.send(make_rendition(), TARGET, "key-lost")
    sandbox.set_faults("wechat", drop_rate=0.0)
    receipt = channel.lookup(TARGET, "key-lost")
    assert receipt is not None and receipt.provider_ref.startswith("article:") and receipt.confirmed
    assert channel.status(receipt, TARGET) is DeliveryStatus.DELIVERED


def test_lookup_while_still_publishing_stays_ambiguous(sandbox: Sandbox, channel: WeChatChannel) -> None:
    sandbox.set_faults("wechat", drop_rate=1.0, only_on="freepublish/submit", publish_delay=30)
    with pytest.raises(Ambiguous):
        channel.send(make_rendition(), TARGET, "key-slow")
    sandbox.set_faults("wechat", drop_rate=0.0)
    with pytest.raises(Ambiguous):
        channel.lookup(TARGET, "key-slow")


def test_lookup_says_none_when_the_submit_never_reached_the_platform(sandbox: Sandbox,
                                                                     channel: WeChatChannel) -> None:
    sandbox.set_faults("wechat", error_5xx_rate=1.0, only_on="freepublish/submit")
    with pytest.raises(Retryable):
        channel.send(make_rendition(), TARGET, "key-503")
    sandbox.set_faults("wechat", error_5xx_rate=0.0)
    assert channel.lookup(TARGET, "key-503") is None  # the draft is still in the draft box
    assert channel.lookup(TARGET, "key-never-sent") is None


def test_lookup_returns_the_noted_publish_id(sandbox: Sandbox, channel: WeChatChannel) -> None:
    receipt = channel.send(make_rendition(), TARGET, "key-noted")
    found = channel.lookup(TARGET, "key-noted")
    assert found is not None and found.provider_ref == receipt.provider_ref


def test_timeouts_are_explicit_and_bounded(sandbox: Sandbox, channel: WeChatChannel) -> None:
    client = channel.client(TARGET)
    assert client.auto_retry is False
    connect, read = client.timeout
    assert 0 < connect and 0 < read and connect + read < 60


def test_the_sample_records_rendition_is_published_and_shown_as_a_citizen_sees_it(
        sandbox: Sandbox, channel: WeChatChannel, sample_path: Any) -> None:
    import httpx

    from hub.ingest import ingest_path
    from hub.renderers import RENDERERS
    from hub.renderers.context import build_context

    [ingested] = ingest_path(sample_path)
    record = ingested.record
    rendition = RENDERERS["wechat"](record, build_context(record, record.version_hash()),
                                    ArtifactStore(get_settings().artifacts_dir))
    sandbox.set_faults("wechat", publish_delay=0)
    receipt = channel.send(rendition, TARGET, "key-sample")
    assert channel.status(receipt, TARGET) is DeliveryStatus.DELIVERED
    [article] = sandbox.messages("wechat", "article")
    assert article["content"]["title"] == rendition.facts["title"]
    page = httpx.get(f"{sandbox.url}/_sandbox/article",
                     params={"id": article["content"]["article_id"], "idx": "1"}, timeout=5).text
    assert "“五公开”" in page and "阅读原文" in page


def test_a_publishjobfinish_event_is_kept_but_only_freepublish_get_decides(sandbox: Sandbox,
                                                                          channel: WeChatChannel) -> None:
    """The sandbox pushes the signed event; the hub's handler keeps it; status() still asks WeChat (issue 18)."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from hub.channels.wechat import handle_publish_event
    from hub.store.db import session_scope

    handled: list[dict[str, Any] | None] = []

    class Hub(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers["Content-Length"]))
            with session_scope() as s:
                handled.append(handle_publish_event(s, "wechat-county", body))
            self.send_response(200)
            self.send_header("Content-Length", "7")
            self.end_headers()
            self.wfile.write(b"success")

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Hub)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        sandbox.options["wechat_callback_url"] = f"http://127.0.0.1:{server.server_address[1]}/callbacks/wechat"
        sandbox.set_faults("wechat", publish_delay=0.1, publish_status=3)
        receipt = channel.send(make_rendition(), TARGET, "key-event")
        deadline = time.monotonic() + 5
        while not handled and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        server.shutdown()
        server.server_close()
    [info] = handled
    assert info is not None and info["publish_id"] == receipt.provider_ref and info["fail_idx"] == [1]
    status, words = channel.describe(receipt, TARGET)
    assert status is DeliveryStatus.FAILED and "常规失败" in words and "event" not in words
    assert sandbox.hit_count("/cgi-bin/freepublish/get") == 1


def test_concurrent_sends_of_one_process_share_one_token_fetch(sandbox: Sandbox, channel: WeChatChannel) -> None:
    from concurrent.futures import ThreadPoolExecutor

    renditions = [make_rendition(title=f"并发第{i}条") for i in range(8)]
    sandbox.set_faults("wechat", latency_ms=200)  # a slow token answer: every thread finds no token at first
    with ThreadPoolExecutor(8) as pool:
        receipts = list(pool.map(lambda i: channel.send(renditions[i], TARGET, f"key-c{i}"), range(8)))
    assert len({r.provider_ref for r in receipts}) == 8
    assert sandbox.hit_count(TOKEN) == 1 and sandbox.hit_count(SUBMIT) == 8


def test_wechatpys_token_hook_fills_an_empty_store_through_our_own_session(sandbox: Sandbox,
                                                                        channel: WeChatChannel) -> None:
    """What we rely on in wechatpy 1.8.18 (public API only): ``access_token`` calls the overridable
    ``fetch_access_token`` when the store is empty, and ``post`` adds the token to the query; the
    stable_token POST goes through the client's own session, never wechatpy's."""
    client = channel.client(TARGET)
    client.storage.delete(client.access_token_key)
    seen: list[str] = []
    client.token_http.hooks["response"].append(lambda r, *a, **k: seen.append(r.request.path_url))
    answer = client.post("freepublish/batchget", data={"offset": 0, "count": 1, "no_content": 1})
    assert seen == [TOKEN] and sandbox.hit_count(TOKEN) == 1
    assert isinstance(answer, dict) and answer.get("errcode", 0) == 0
    assert client.session.get(client.access_token_key)  # kept in the shared store for the other workers
