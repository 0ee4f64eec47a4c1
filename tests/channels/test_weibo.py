"""The Weibo adapter (thin httpx client) against the running sandbox: every mapped code and transport failure."""

from __future__ import annotations

import json
import socket
from io import BytesIO
from typing import Any

import pytest
from PIL import Image

from hub.channels.weibo import ERROR_CODES, WeiboChannel, fingerprint
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

TARGET = Target("weibo", "weibo-county", "weibo-county")
SHARE = "/2/statuses/share.json"
URL = "http://127.0.0.1:8000/s/Wb3kQ"


def make_rendition(text: str | None = None, *, pic: bool = True) -> Rendition:
    """A Weibo rendition shaped as hub.renderers.weibo makes it (post JSON + picture)."""
    store = ArtifactStore(get_settings().artifacts_dir)
    status = text or f"【政务公开】汉阴县2017年度扶贫资金使用情况公示 {URL}"
    main = store.put(json.dumps({"status": status, "topics": ["政务公开"], "url": URL}, ensure_ascii=False).encode(),
                     ".json", "application/json")
    files = {}
    if pic:
        out = BytesIO()
        Image.new("RGB", (600, 400), "#1e90ff").save(out, "JPEG", quality=80)
        files["pic"] = store.put(out.getvalue(), ".jpg", "image/jpeg")
    return Rendition("weibo", "hanyin-2017-168", "v1", main, files=files)


@pytest.fixture
def channel(sandbox: Sandbox) -> WeiboChannel:
    return WeiboChannel(get_config(), get_settings())


def with_account(**changes: Any) -> HubConfig:
    config = get_config()
    account = config.accounts["weibo-county"]
    accounts = dict(config.accounts)
    accounts["weibo-county"] = Account(channel="weibo", **{**(account.model_extra or {}), **changes})
    return config.model_copy(update={"accounts": accounts})


def test_a_sample_post_with_picture_is_delivered_and_the_inbox_shows_it(sandbox: Sandbox,
                                                                         channel: WeiboChannel) -> None:
    receipt = channel.send(make_rendition(), TARGET, "key-ok")
    assert receipt.provider_ref.isdigit() and receipt.confirmed
    [post] = sandbox.messages("weibo", "status")
    assert post["content"]["idstr"] == receipt.provider_ref
    assert post["content"]["text"].endswith(URL) and post["content"]["pic_url"]
    assert post["content"]["rip"] == "127.0.0.1"
    assert channel.status(receipt, TARGET) is DeliveryStatus.DELIVERED
    assert set(channel.counts(TARGET, [receipt.provider_ref])[receipt.provider_ref]) == {
        "reposts", "comments", "attitudes"}


def test_a_text_only_post_goes_as_a_form(sandbox: Sandbox, channel: WeiboChannel) -> None:
    receipt = channel.send(make_rendition(pic=False), TARGET, "key-text")
    [post] = sandbox.messages("weibo", "status")
    assert post["content"]["pic_url"] is None and post["content"]["idstr"] == receipt.provider_ref


def test_the_token_travels_in_the_header_not_the_url(sandbox: Sandbox, channel: WeiboChannel,
                                                     sandbox_secrets: dict[str, str]) -> None:
    client = channel.http(TARGET)
    assert client.headers["Authorization"] == f"OAuth2 {sandbox_secrets['HUB_WEIBO_COUNTY_TOKEN']}"
    assert "access_token" not in str(client.base_url)
    client.close()


def test_a_repeat_refusal_is_answered_with_the_post_already_there(sandbox: Sandbox, channel: WeiboChannel) -> None:
    first = channel.send(make_rendition(), TARGET, "key-a")
    again = channel.send(make_rendition(), TARGET, "key-a")  # Weibo answers 20019; the post is looked up
    assert again.provider_ref == first.provider_ref and again.confirmed
    assert len(sandbox.messages("weibo", "status")) == 1
    assert sandbox.hit_count(SHARE) == 2


def test_a_repeat_refusal_without_the_post_on_the_timeline_is_duplicate_rejected(sandbox: Sandbox,
                                                                                 channel: WeiboChannel) -> None:
    sandbox.set_faults("weibo", error_code=20019, error_count=1, only_on="share.json")
    with pytest.raises(DuplicateRejected, match="20019"):
        channel.send(make_rendition(), TARGET, "key-b")
    assert sandbox.messages("weibo", "status") == []


def test_lookup_pages_back_through_a_burst_to_the_send_time(sandbox: Sandbox, channel: WeiboChannel,
                                                            sandbox_secrets: dict[str, str]) -> None:
    import httpx

    sandbox.set_faults("weibo", drop_rate=1.0, only_on="share.json")
    with pytest.raises(Ambiguous):
        channel.send(make_rendition(pic=False), TARGET, "key-burst")
    sandbox.set_faults("weibo", drop_rate=0.0)
    headers = {"Authorization": f"OAuth2 {sandbox_secrets['HUB_WEIBO_COUNTY_TOKEN']}"}
    for i in range(230):  # a burst after ours: our post is on the third page of 100
        r = httpx.post(f"{sandbox.url}{SHARE}", data={"status": f"第{i}条 {URL}", "rip": "127.0.0.1"},
                       headers=headers, timeout=5)
        assert r.status_code == 200
    receipt = channel.lookup(TARGET, "key-burst")
    assert receipt is not None and receipt.provider_ref == sandbox.messages("weibo", "status")[0]["content"]["idstr"]
    assert sandbox.hit_count("/2/statuses/user_timeline.json", "GET") == 3


def test_lookup_on_a_timeline_that_stops_short_is_inconclusive_not_absent(sandbox: Sandbox, channel: WeiboChannel,
                                                                         sandbox_secrets: dict[str, str]) -> None:
    import httpx

    sandbox.options["weibo_timeline_limit"] = 5
    sandbox.set_faults("weibo", drop_rate=1.0, only_on="share.json")
    with pytest.raises(Ambiguous):
        channel.send(make_rendition(pic=False), TARGET, "key-hidden")
    sandbox.set_faults("weibo", drop_rate=0.0)
    headers = {"Authorization": f"OAuth2 {sandbox_secrets['HUB_WEIBO_COUNTY_TOKEN']}"}
    for i in range(6):
        httpx.post(f"{sandbox.url}{SHARE}", data={"status": f"第{i}条 {URL}", "rip": "127.0.0.1"},
                   headers=headers, timeout=5)
    with pytest.raises(Ambiguous, match="could not be read back"):
        channel.lookup(TARGET, "key-hidden")


def test_an_older_post_of_the_same_text_with_another_link_is_not_taken_for_this_one(
        sandbox: Sandbox, channel: WeiboChannel) -> None:
    channel.send(make_rendition(f"【政务公开】公示 {URL}", pic=False), TARGET, "key-v1")
    sandbox.set_faults("weibo", error_5xx_rate=1.0)
    with pytest.raises(Retryable):
        channel.send(make_rendition(f"【政务公开】公示 {URL}x", pic=False), TARGET, "key-v2")
    sandbox.set_faults("weibo", error_5xx_rate=0.0)
    assert channel.lookup(TARGET, "key-v2") is None


def test_a_text_without_the_safe_domain_link_is_permanent(sandbox: Sandbox, channel: WeiboChannel) -> None:
    with pytest.raises(Permanent, match="20018"):
        channel.send(make_rendition("没有链接的微博 http://evil.example/x"), TARGET, "key-nolink")


def test_a_too_long_text_is_permanent(sandbox: Sandbox, channel: WeiboChannel) -> None:
    with pytest.raises(Permanent, match="20012"):
        channel.send(make_rendition("长" * 140 + f" {URL}"), TARGET, "key-long")


def test_the_token_info_reports_its_expiry(sandbox: Sandbox, channel: WeiboChannel) -> None:
    info = channel.token_info(TARGET)
    assert info["expire_in"] > 0 and info["uid"]


EXPECTED: dict[int, type[ChannelError]] = {
    20019: DuplicateRejected, 20111: DuplicateRejected, 20017: DuplicateRejected,
    10022: RateLimited, 10023: RateLimited, 10024: RateLimited, 20016: RateLimited,
    21327: AuthExpired, 21314: AuthExpired, 21315: AuthExpired, 21316: AuthExpired, 21317: AuthExpired,
    21332: AuthExpired, 21301: AuthExpired,
    10014: Permanent, 20012: Permanent, 20018: Permanent, 20021: Permanent,
    20005: Permanent, 20006: Permanent, 20007: Permanent,
    10001: Retryable, 10002: Retryable, 10009: Retryable,
    29999: Permanent,  # a code nobody listed
}


def test_the_expectations_cover_the_whole_table() -> None:
    assert set(ERROR_CODES) == set(EXPECTED) - {29999}


@pytest.mark.parametrize(("code", "expected"), sorted(EXPECTED.items()))
def test_error_codes_map_to_typed_outcomes(sandbox: Sandbox, channel: WeiboChannel, code: int,
                                           expected: type[ChannelError]) -> None:
    sandbox.set_faults("weibo", error_code=code, only_on="share.json")
    with pytest.raises(expected) as info:
        channel.send(make_rendition(), TARGET, f"key-{code}")
    assert type(info.value) is expected
    assert f"error_code {code}" in str(info.value)
    assert sandbox.hit_count(SHARE) == 1


def test_rate_limit_knob_is_rate_limited_with_a_wait(sandbox: Sandbox, channel: WeiboChannel) -> None:
    sandbox.set_faults("weibo", rate_limit_rate=1.0)  # 10023 on HTTP 403
    with pytest.raises(RateLimited, match="10023") as info:
        channel.send(make_rendition(), TARGET, "key-rl")
    assert info.value.retry_after and info.value.retry_after > 0 and not info.value.daily


def test_token_expired_knob_is_auth_expired(sandbox: Sandbox, channel: WeiboChannel) -> None:
    sandbox.set_faults("weibo", token_expired=1)
    with pytest.raises(AuthExpired, match="21327"):
        channel.send(make_rendition(), TARGET, "key-exp")
    assert sandbox.hit_count(SHARE) == 1  # no refresh exists for Weibo web apps, so no retry either


def test_an_unknown_token_is_auth_expired(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUB_WEIBO_COUNTY_TOKEN", "revoked-token-000000")
    with pytest.raises(AuthExpired, match="21332"):
        WeiboChannel(get_config(), get_settings()).send(make_rendition(), TARGET, "key-revoked")


TRANSPORT_CASES = [
    ({"error_5xx_rate": 1.0, "error_status": 500}, Retryable),
    ({"error_5xx_rate": 1.0, "error_status": 502}, Retryable),
    ({"error_5xx_rate": 1.0, "error_status": 503}, Retryable),
    ({"error_5xx_rate": 1.0, "error_status": 504}, Ambiguous),
    ({"error_5xx_rate": 1.0, "error_status": 403}, AuthExpired),  # a bare 403 without a Weibo body
    ({"error_5xx_rate": 1.0, "error_status": 413}, Permanent),
    ({"drop_rate": 1.0}, Ambiguous),
    ({"garbage_rate": 1.0}, Ambiguous),
    ({"late_rate": 1.0, "late_seconds": 1.5}, Ambiguous),
]


@pytest.mark.parametrize(("knobs", "expected"), TRANSPORT_CASES,
                         ids=[",".join(f"{k}={v}" for k, v in c[0].items()) for c in TRANSPORT_CASES])
def test_transport_failures_map_to_typed_outcomes(sandbox: Sandbox, knobs: dict[str, Any],
                                                  expected: type[ChannelError]) -> None:
    channel = WeiboChannel(with_account(timeout=[2, 0.5]), get_settings())
    sandbox.set_faults("weibo", **knobs)
    with pytest.raises(expected) as info:
        channel.send(make_rendition(), TARGET, "key-transport")
    assert type(info.value) is expected
    assert sandbox.hit_count(SHARE) == 1


def test_429_carries_retry_after(sandbox: Sandbox, channel: WeiboChannel) -> None:
    sandbox.set_faults("weibo", error_5xx_rate=1.0, error_status=429, retry_after=7)
    with pytest.raises(RateLimited) as info:
        channel.send(make_rendition(), TARGET, "key-429")
    assert info.value.retry_after == 7.0


def test_connection_refused_is_retryable(sandbox: Sandbox) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    channel = WeiboChannel(with_account(api_base=f"http://127.0.0.1:{port}"), get_settings())
    with pytest.raises(Retryable) as info:
        channel.send(make_rendition(), TARGET, "key-refused")
    assert type(info.value) is Retryable


def test_lookup_finds_a_post_whose_answer_was_lost(sandbox: Sandbox, channel: WeiboChannel) -> None:
    sandbox.set_faults("weibo", drop_rate=1.0, only_on="share.json")
    with pytest.raises(Ambiguous):
        channel.send(make_rendition(), TARGET, "key-lost")
    sandbox.set_faults("weibo", drop_rate=0.0)
    receipt = channel.lookup(TARGET, "key-lost")
    assert receipt is not None and receipt.provider_ref == sandbox.messages("weibo", "status")[0]["content"]["idstr"]


def test_lookup_is_none_when_nothing_landed_and_a_resend_cannot_duplicate(sandbox: Sandbox,
                                                                          channel: WeiboChannel) -> None:
    sandbox.set_faults("weibo", error_5xx_rate=1.0)
    with pytest.raises(Retryable):
        channel.send(make_rendition(), TARGET, "key-503")
    sandbox.set_faults("weibo", error_5xx_rate=0.0)
    assert channel.lookup(TARGET, "key-503") is None
    assert channel.lookup(TARGET, "key-never") is None
    first = channel.send(make_rendition(), TARGET, "key-503")
    # had the first landed unseen, Weibo itself refuses the copy, and the send answers the post already there
    assert channel.send(make_rendition(), TARGET, "key-503").provider_ref == first.provider_ref
    assert len(sandbox.messages("weibo", "status")) == 1


def test_the_fingerprint_ignores_shortened_links() -> None:
    assert fingerprint(f"公示 {URL}") == fingerprint("公示 http://t.cn/A6abcdEf")


def test_timeouts_are_explicit_and_bounded(sandbox: Sandbox, channel: WeiboChannel) -> None:
    with channel.http(TARGET) as client:
        t = client.timeout
        assert t.connect and t.read and t.write and t.pool
        assert t.connect + t.read < 60


def test_the_sample_records_rendition_is_posted_and_shown_as_a_card(sandbox: Sandbox, channel: WeiboChannel,
                                                                    sample_path: Any) -> None:
    import httpx

    from hub.ingest import ingest_path
    from hub.renderers import RENDERERS
    from hub.renderers.context import build_context

    [ingested] = ingest_path(sample_path)
    record = ingested.record
    rendition = RENDERERS["weibo"](record, build_context(record, record.version_hash()),
                                   ArtifactStore(get_settings().artifacts_dir))
    receipt = channel.send(rendition, TARGET, "key-sample")
    [post] = sandbox.messages("weibo", "status")
    assert post["content"]["idstr"] == receipt.provider_ref and post["content"]["text"] == rendition.facts["text"]
    page = httpx.get(f"{sandbox.url}/_sandbox/", timeout=5).text
    from hub.sandbox.inbox import same_origin

    assert 'class="card"' in page and "五公开" in page and same_origin(post["content"]["pic_url"]) in page
