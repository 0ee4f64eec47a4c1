"""Canary secrets and citizens' numbers never reach logs, exception texts or the raw database (F16, F17)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from sms_support import (
    NIGHT,
    channel,
    config_with,
    make_delivery,
    save_version,
    sms_rendition,
    subscribe,
    target,
)

from hub.channels.sms import handle_sms_callback
from hub.errors import ChannelError
from hub.store.db import session_scope

SECRET_ID = "AKIDCANARYsecretid7f3a"
SECRET_KEY = "CANARY_TENCENT_KEY_91bd"
PHONES = ["+8613800000001", "+8613900000002", "+8615000000003"]
DIGITS = [p[3:] for p in PHONES]
LOGGERS = ("", "hub", "urllib3", "tencentcloud", "tencentcloud_sdk_common", "requests")


@pytest.fixture
def sandbox_secrets(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    from hub.sandbox.app import random_secrets

    values = {**random_secrets(), "HUB_TENCENT_SECRET_ID": SECRET_ID, "HUB_TENCENT_SECRET_KEY": SECRET_KEY}
    for k, v in values.items():
        monkeypatch.setenv(k, v)
    return values


def canaries(phone_key: str) -> list[str]:
    return [SECRET_ID, SECRET_KEY, phone_key, *PHONES, *DIGITS]


def leaks(text: str, phone_key: str) -> list[str]:
    return [c for c in canaries(phone_key) if c in text]


def test_no_canary_in_logs_or_errors_across_the_fault_scenarios(sandbox: Any, phone_key: str,
                                                                caplog: pytest.LogCaptureFixture,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from hub import redact

    caplog.handler.addFilter(redact.RedactingFilter())  # what hub.logs puts on every handler; then DEBUG everywhere
    for name in LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name or None)
    subscribe(PHONES)
    errors: list[BaseException] = []

    def attempt(record_id: str, faults: dict[str, Any], **kw: Any) -> None:
        version = save_version(record_id)
        key = make_delivery(version, record_id, "sms-county")
        sandbox.clear_faults()
        sandbox.set_faults("sms", **faults)
        try:
            ch = kw.pop("ch", None) or channel(**kw)
            receipt = ch.send(sms_rendition(record_id, version), target(), key)
            sandbox.clear_faults()
            ch.status(receipt, target())
        except ChannelError as exc:
            errors.append(exc)
        sandbox.clear_faults()

    sandbox.vendor("tencent")["blacklist"] = [PHONES[1]]
    attempt("sec-ok", {})
    attempt("sec-5xx", {"error_5xx_rate": 1.0})
    attempt("sec-drop", {"drop_rate": 1.0})
    attempt("sec-rate", {"rate_limit_rate": 1.0})
    attempt("sec-token", {"token_expired": 3})
    attempt("sec-late", {"late_rate": 1.0, "late_seconds": 1.5}, config=config_with(timeout=1))
    attempt("sec-night", {}, clock=NIGHT)
    monkeypatch.setenv("HUB_TENCENT_SECRET_KEY", SECRET_KEY + "x")
    attempt("sec-wrong", {})
    monkeypatch.setenv("HUB_TENCENT_SECRET_KEY", SECRET_KEY)
    with session_scope() as s:
        handle_sms_callback(s, [{"sid": "nope", "mobile": DIGITS[0], "report_status": "SUCCESS"}])

    assert len(errors) >= 6
    for exc in errors:
        assert leaks(str(exc), phone_key) == [] and leaks(repr(exc), phone_key) == []
    # the SDK did log whole requests (with the numbers) at DEBUG: they arrive masked
    sdk = [r.getMessage() for r in caplog.records if r.name == "tencentcloud_sdk_common"]
    assert any("+86*******0001" in m and "SendSms" in m for m in sdk)
    for rec in caplog.records:
        text = " ".join([rec.getMessage(), repr(rec.args), rec.exc_text or "", rec.stack_info or ""])
        assert leaks(text, phone_key) == [], rec.name
    assert leaks(caplog.text, phone_key) == []


def test_raw_database_bytes_never_contain_a_numbers_digits(sandbox: Any, phone_key: str, hub_home: Path) -> None:
    subscribe(PHONES)
    version = save_version("sec-db")
    key = make_delivery(version, "sec-db", "sms-county")
    ch = channel()
    receipt = ch.send(sms_rendition("sec-db", version), target(), key)
    ch.status(receipt, target())
    raw = b"".join(p.read_bytes() for p in hub_home.glob("hub.db*"))
    for digits in DIGITS:
        assert digits.encode() not in raw and digits.encode("utf-16-le") not in raw
    assert SECRET_KEY.encode() not in raw and phone_key.encode() not in raw
