"""Canary secrets and phone numbers never reach logs or error texts (reliability G1, F16, F17).

The adapters run their fault scenarios against the sandbox with distinctive
canary secrets while every logger that could print a URL or a body is captured
at DEBUG (deliberately *below* the WARNING the hub sets, so redaction is what
is tested, not silence). The access tokens the sandbox issued are canaries too.
"""

from __future__ import annotations

import json
import logging
import os
import traceback
from collections.abc import Callable, Iterator
from io import BytesIO
from typing import Any

import pytest
from PIL import Image

from hub import redact
from hub.deliverables import Rendition, Target
from hub.errors import ChannelError, ConfigError
from hub.renderers.base import ArtifactStore
from hub.sandbox.core import Sandbox
from hub.testing.caches import clear_caches

CANARIES = {
    "HUB_WECHAT_COUNTY_SECRET": "CANARY_WECHAT_SECRET_7f3a0c1d",
    "HUB_WECHAT_JIANCHI_SECRET": "CANARY_WECHAT_SECRET_jc_55e1",
    "HUB_WEIBO_COUNTY_TOKEN": "CANARY_TOKEN_91bd2e7a",
    "HUB_WECHAT_CALLBACK_TOKEN": "CANARY_CALLBACK_3c9a",
    "HUB_TENCENT_SECRET_ID": "CANARY_SECRET_ID_a1b2c3",
    "HUB_TENCENT_SECRET_KEY": "CANARY_SMS_KEY_d4e5f6",
    "HUB_TV_PICKUP_TOKEN": "CANARY_PICKUP_778899",
}
PHONES = ["+8613800000001", "13800000002"]
LOGGERS = ["", "hub", "httpx", "httpcore", "urllib3", "requests", "wechatpy", "tencentcloud_sdk_common"]


@pytest.fixture
def canaries(monkeypatch: pytest.MonkeyPatch) -> Iterator[Sandbox]:
    """The sandbox and the adapters both use the canary secrets."""
    from hub.sandbox.app import build_sandbox
    from hub.sandbox.credentials import credentials_from_env

    for name, value in CANARIES.items():
        monkeypatch.setenv(name, value)
    sb = build_sandbox(0, credentials=credentials_from_env()).start()
    monkeypatch.setenv("HUB_SANDBOX_URL", sb.url)
    clear_caches()
    try:
        yield sb
    finally:
        sb.stop()


@pytest.fixture
def debug_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.handler.addFilter(redact.RedactingFilter())  # what hub.logs puts on every handler it configures
    for name in LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog


def _store() -> ArtifactStore:
    from hub.settings import get_settings

    return ArtifactStore(get_settings().artifacts_dir)


def _jpeg() -> bytes:
    out = BytesIO()
    Image.new("RGB", (300, 128), "#aa3333").save(out, "JPEG", quality=80)
    return out.getvalue()


def wechat_rendition(title: str) -> Rendition:
    store = _store()
    article = {"title": title, "author": "公开办", "content": "<p>正文</p>",
               "content_source_url": "http://127.0.0.1:8000/records/r1"}
    main = store.put(json.dumps({"articles": [article]}, ensure_ascii=False).encode(), ".json", "application/json")
    return Rendition("wechat", "r1", "v1", main, files={"cover": store.put(_jpeg(), ".jpg", "image/jpeg")})


def weibo_rendition(text: str) -> Rendition:
    store = _store()
    main = store.put(json.dumps({"status": text}, ensure_ascii=False).encode(), ".json", "application/json")
    return Rendition("weibo", "r1", "v1", main, files={"pic": store.put(_jpeg(), ".jpg", "image/jpeg")})


def _issued_tokens(sb: Sandbox) -> list[str]:
    return list(sb.vendor("wechat").get("tokens", {}))


def _texts_of(records: list[logging.LogRecord]) -> list[str]:
    out = []
    for r in records:
        out.append(r.getMessage())
        out.append(repr(r.args))
        out.append(str(r.msg))
        out.append(r.exc_text or "")
        if r.exc_info and r.exc_info[1] is not None:
            out.append("".join(traceback.format_exception(*r.exc_info)))
    return out


def _chain(e: BaseException) -> list[BaseException]:
    """The error and everything it keeps a reference to (cause and context), suppressed or not."""
    seen: list[BaseException] = []
    stack: list[BaseException | None] = [e]
    while stack:
        item = stack.pop()
        if item is None or any(item is s for s in seen):
            continue
        seen.append(item)
        stack += [item.__cause__, item.__context__]
    return seen


def _texts_of_errors(errors: list[BaseException]) -> list[str]:
    out = []
    for e in errors:
        out += [str(e), repr(e), "".join(traceback.format_exception(e))]
        for linked in _chain(e):  # a debugger or error tracker walks __context__ even when suppressed
            out += [str(linked), repr(linked), str(getattr(getattr(linked, "request", None), "url", ""))]
    return out


def _assert_clean(texts: list[str], secrets: list[str]) -> None:
    for text in texts:
        for secret in secrets:
            assert secret not in text, f"a secret leaked into: {text[:200]!r}"
        for phone in PHONES:
            assert phone[-11:] not in text, f"a phone number leaked into: {text[:200]!r}"


def _run(scenarios: list[Callable[[], Any]]) -> list[BaseException]:
    errors: list[BaseException] = []
    for scenario in scenarios:
        try:
            scenario()
        except ChannelError as exc:
            errors.append(exc)
    return errors


def test_wechat_fault_scenarios_leak_no_secret(canaries: Sandbox, debug_logs: pytest.LogCaptureFixture) -> None:
    from hub.channels.wechat import SharedTokenStorage, WeChatChannel
    from hub.config import get_config
    from hub.settings import get_settings

    channel = WeChatChannel(get_config(), get_settings())
    sb = canaries
    target = Target("wechat", "wechat-county", "wechat-county")

    def with_faults(**knobs: Any) -> Callable[[], Any]:
        def run() -> Any:
            sb.clear_faults()
            sb.set_faults("wechat", **knobs)
            SharedTokenStorage._memory.clear()
            return channel.send(wechat_rendition(f"公示{sorted(knobs)}"[:30]), target, "k")
        return run

    errors = _run([
        with_faults(),
        with_faults(token_expired=5),
        with_faults(error_5xx_rate=1.0, only_on="draft/add"),
        with_faults(drop_rate=1.0, only_on="freepublish/submit"),
        with_faults(garbage_rate=1.0, only_on="freepublish/submit"),
        with_faults(error_code=45002, only_on="draft/add"),
        with_faults(rate_limit_rate=1.0),
        with_faults(error_5xx_rate=1.0, error_status=504, only_on="freepublish/submit"),
    ])
    # also a wrong secret (itself a canary) and a status poll
    sb.clear_faults()
    assert len(errors) == 7
    tokens = _issued_tokens(sb)
    assert tokens, "the scenarios fetched tokens"
    records = debug_logs.records
    assert any("/cgi-bin/" in t for t in _texts_of(records)), "URL logs were captured (redaction, not silence)"
    _assert_clean(_texts_of(records) + _texts_of_errors(errors), [*CANARIES.values(), *tokens])


def test_weibo_fault_scenarios_leak_no_secret(canaries: Sandbox, debug_logs: pytest.LogCaptureFixture,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from hub.channels.weibo import WeiboChannel
    from hub.config import get_config
    from hub.settings import get_settings

    sb = canaries
    channel = WeiboChannel(get_config(), get_settings())
    target = Target("weibo", "weibo-county", "weibo-county")

    def with_faults(text: str, **knobs: Any) -> Callable[[], Any]:
        def run() -> Any:
            sb.clear_faults()
            sb.set_faults("weibo", **knobs)
            return channel.send(weibo_rendition(f"{text} http://127.0.0.1:8000/s/x"), target, f"k-{text}")
        return run

    errors = _run([
        with_faults("一"),
        with_faults("零", error_code=20019, error_count=1, only_on="share.json"),  # 20019, not on the timeline
        with_faults("二", token_expired=1),
        with_faults("三", drop_rate=1.0),
        with_faults("四", error_5xx_rate=1.0, error_status=502),
        with_faults("五", garbage_rate=1.0),
        with_faults("六", rate_limit_rate=1.0),
    ])
    assert len(errors) == 6
    monkeypatch.setenv("HUB_WEIBO_COUNTY_TOKEN", "CANARY_REVOKED_TOKEN_0042")
    clear_caches()
    errors += _run([lambda: WeiboChannel(get_config(), get_settings()).send(
        weibo_rendition("七 http://127.0.0.1:8000/s/y"), target, "k2")])
    assert len(errors) == 7
    records = debug_logs.records
    assert any("share.json" in t for t in _texts_of(records)), "httpx request logs were captured"
    _assert_clean(_texts_of(records) + _texts_of_errors(errors),
                  [*CANARIES.values(), "CANARY_REVOKED_TOKEN_0042"])


# --- the redaction function itself ----------------------------------------------------------------


@pytest.mark.parametrize(("raw", "gone", "kept"), [
    ("POST http://h/cgi-bin/draft/add?access_token=AbC123xyz_-9&type=thumb", "AbC123xyz_-9", "type=thumb"),
    ('{"access_token": "tok-1234567", "expires_in": 7200}', "tok-1234567", "7200"),
    ("Authorization: OAuth2 2.00abcdefghijk", "2.00abcdefghijk", "Authorization"),
    ("secret=s3cr3tvalue&appid=wx1", "s3cr3tvalue", "appid=wx1"),
    ("call +8613800000001 or 13800000002", "13800000002", "+86*******0002"),
    ("number 8613800000001", "3800000001", "+86*******0001"),
])
def test_redact_removes_secrets_and_masks_phones(raw: str, gone: str, kept: str) -> None:
    out = redact.redact(raw)
    assert gone not in out and kept in out


def test_redact_keeps_ordinary_ids_and_dates() -> None:
    text = "publish_id 2247480001 idstr 4800000000007919 at 2026-11-25 12:00 record hanyin-2017-168"
    assert redact.redact(text) == text


def test_registered_secrets_are_removed_anywhere(monkeypatch: pytest.MonkeyPatch) -> None:
    redact.register_secret("ZZ-token-from-vendor-42")
    assert "ZZ-token" not in redact.redact("oops ZZ-token-from-vendor-42 in a message")
    monkeypatch.setenv("HUB_SOME_API_KEY", "env-held-key-0987")
    assert "env-held-key" not in redact.redact("value env-held-key-0987")


def test_redact_url_drops_the_query() -> None:
    assert redact.redact_url("https://u:p@api.weixin.qq.com/cgi-bin/token?secret=x&appid=y") == \
        "https://api.weixin.qq.com/cgi-bin/token"


def test_mask_phone_keeps_the_last_four_digits() -> None:
    assert redact.mask_phone("+8613800000001") == "+86*******0001"
    assert redact.mask_phone("138 0000 0002") == "+86*******0002"


def test_log_records_are_scrubbed_in_message_args_and_exception(caplog: pytest.LogCaptureFixture) -> None:
    caplog.handler.addFilter(redact.RedactingFilter())
    caplog.set_level(logging.DEBUG, logger="hub.test")
    log = logging.getLogger("hub.test")
    log.info("GET %s for %s", "http://h/x?access_token=LEAKME123456", "13800000002")
    try:
        raise RuntimeError("failed http://h/y?access_token=LEAKME654321")
    except RuntimeError:
        log.exception("boom")
    texts = _texts_of(caplog.records) + [caplog.text]
    assert not any("LEAKME" in t or "13800000002" in t for t in texts)
    assert "+86*******0002" in caplog.text and "RuntimeError" in caplog.text


def test_noisy_http_loggers_are_held_at_warning() -> None:
    from hub.logs import config_dict

    for fmt in ("json", "text"):
        loggers = config_dict(fmt)["loggers"]  # type: ignore[arg-type]
        for name in redact.NOISY_LOGGERS:
            assert logging.getLevelName(loggers[name]["level"]) >= logging.WARNING


def test_config_errors_and_secret_reprs_name_the_variable_never_the_value(monkeypatch: pytest.MonkeyPatch) -> None:
    from hub.config import Secret, get_config

    monkeypatch.setenv("HUB_WECHAT_COUNTY_SECRET", "CANARY_WECHAT_SECRET_7f3a0c1d")
    clear_caches()
    config = get_config()
    secret = config.accounts["wechat-county"].secret("secret_env", "wechat-county")
    assert isinstance(secret, Secret) and "CANARY" not in repr(secret) + str(secret) + repr(config)
    monkeypatch.delenv("HUB_WEIBO_COUNTY_TOKEN", raising=False)
    with pytest.raises(ConfigError) as info:
        config.accounts["weibo-county"].secret("access_token_env", "weibo-county")
    assert "HUB_WEIBO_COUNTY_TOKEN" in str(info.value)


def test_sms_errors_keep_no_secret_or_number_anywhere_in_their_chain(
        sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    """The SMS adapter's own canary test (tests/channels/test_sms_security.py) checks str/repr; this walks
    the exception chain too, as an error tracker would."""
    import sys
    from pathlib import Path

    helpers = str(Path(__file__).parents[1] / "channels")
    if helpers not in sys.path:
        sys.path.insert(0, helpers)
    from sms_support import channel, make_delivery, save_version, sms_rendition, subscribe, target

    from hub.audience.subscribers import new_key

    monkeypatch.setenv("HUB_PHONE_KEY", new_key())
    phones = ["+8613800000001", "+8613900000002"]
    subscribe(phones)
    errors: list[BaseException] = []
    for i, knobs in enumerate([{"error_5xx_rate": 1.0}, {"drop_rate": 1.0}, {"rate_limit_rate": 1.0},
                               {"token_expired": 3}]):
        version = save_version(f"chain-{i}")
        key = make_delivery(version, f"chain-{i}", "sms-county")
        sandbox.clear_faults()
        sandbox.set_faults("sms", **knobs)
        errors += _run([lambda v=version, k=key, n=i: channel().send(sms_rendition(f"chain-{n}", v), target(), k)])
    sandbox.clear_faults()
    assert len(errors) == 4
    secrets = [os.environ["HUB_TENCENT_SECRET_ID"], os.environ["HUB_TENCENT_SECRET_KEY"],
               os.environ["HUB_PHONE_KEY"], *phones, *(p[3:] for p in phones)]
    for text in _texts_of_errors(errors):
        for secret in secrets:
            assert secret not in text, f"leaked into: {text[:200]!r}"


def test_log_args_keep_their_shape_for_formatters_that_unpack_them(caplog: pytest.LogCaptureFixture) -> None:
    caplog.handler.addFilter(redact.RedactingFilter())
    caplog.set_level(logging.INFO, logger="uvicorn.access.test")
    logging.getLogger("uvicorn.access.test").info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET",
                                                  "/cb?access_token=LEAKME999999", "1.1", 200)
    [record] = caplog.records
    assert isinstance(record.args, tuple) and len(record.args) == 5 and record.args[4] == 200
    client, method, path, version, status = record.args  # what uvicorn's AccessFormatter does
    assert "LEAKME" not in path and "LEAKME" not in record.getMessage()
