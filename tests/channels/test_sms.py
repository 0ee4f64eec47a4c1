"""The SMS adapter through the real Tencent SDK against the sandbox: audiences, batches, per-number results."""

from __future__ import annotations

import time
from typing import Any

import pytest
from sms_support import (
    DAYTIME,
    NIGHT,
    channel,
    config_with,
    count_calls,
    make_delivery,
    numbers,
    save_version,
    sms_inbox,
    sms_rendition,
    states,
    subscribe,
    target,
)

from hub.audience.quiet import parse_quiet_hours, quiet_wait
from hub.channels.sms import CODES, handle_sms_callback
from hub.deliverables import DeliveryStatus, Target
from hub.errors import Ambiguous, AuthExpired, Permanent, RateLimited, Retryable
from hub.sandbox import tencent
from hub.store.db import session_scope

pytestmark = pytest.mark.usefixtures("phone_key")  # tests/channels/conftest.py


def setup_delivery(target_name: str = "sms-county", **record: Any) -> tuple[str, str, str]:
    record_id = record.pop("record_id", "hanyin-test-1")
    version = save_version(record_id, **record)
    key = make_delivery(version, record_id, target_name)
    return record_id, version, key


def test_every_county_subscriber_gets_the_approved_text_once(sandbox: Any) -> None:
    subscribe(numbers(3))
    record_id, version, key = setup_delivery()
    receipt = channel().send(sms_rendition(record_id, version), target(), key)
    assert receipt.provider_ref == key and receipt.raw["recipients"] == {"sent": 3}
    inbox = sms_inbox(sandbox)
    assert sorted(m["content"]["phone"] for m in inbox) == numbers(3)
    assert {m["content"]["text"] for m in inbox} == {"【汉阴县人民政府】县政府办发布新公开信息，详见hanyin.gov.cn/s/ab12 拒收请回复R"}
    assert {m["ref"] for m in inbox} == {key} and {m["account"] for m in inbox} == {"1400000001"}
    assert set(states(key).values()) == {"sent"}
    from sqlalchemy import select

    from hub.store.models import SmsRecipientRow

    with session_scope() as s:  # results are written through the driver directly: same timestamps back
        assert set(s.scalars(select(SmsRecipientRow.updated_at))) == {DAYTIME}


def test_a_township_audience_reaches_only_the_records_region(sandbox: Any) -> None:
    subscribe(numbers(2, 1), level="township", region="涧池镇")
    subscribe(numbers(1, 50), level="village", region="涧池镇/五一村")
    subscribe(numbers(2, 100), level="township", region="城关镇")
    record_id, version, key = setup_delivery("sms-township", level="township", region="涧池镇")
    channel().send(sms_rendition(record_id, version), target("sms-township"), key)
    got = sorted(m["content"]["phone"] for m in sms_inbox(sandbox))
    assert got == sorted(numbers(2, 1) + numbers(1, 50))


def test_the_audience_is_expanded_once_so_later_subscribers_wait_for_the_next_record(sandbox: Any) -> None:
    subscribe(numbers(1))
    record_id, version, key = setup_delivery()
    sandbox.vendor("tencent")["blacklist"] = []
    sandbox.set_faults("sms", error_5xx_rate=1.0)
    with pytest.raises(Retryable):
        channel().send(sms_rendition(record_id, version), target(), key)
    subscribe(numbers(1, 7))
    sandbox.clear_faults()
    channel().send(sms_rendition(record_id, version), target(), key)
    assert [m["content"]["phone"] for m in sms_inbox(sandbox)] == numbers(1)


def test_partial_failure_records_per_number_results_and_a_retry_never_resends_ok_numbers(sandbox: Any) -> None:
    ok, blocked, recent = numbers(3)
    subscribe([ok, blocked, recent])
    record_id, version, key = setup_delivery()
    rendition = sms_rendition(record_id, version)
    sandbox.vendor("tencent")["blacklist"] = [blocked]
    # the same text reached `recent` moments ago (another send): the 30-second rule holds it
    text = rendition.facts["text"]
    import hashlib

    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    sandbox.vendor("tencent")["history"] = {recent: [tencent._day(time.time()), [[time.time(), digest]]]}
    with pytest.raises(RateLimited) as caught:
        channel().send(rendition, target(), key)
    assert caught.value.retry_after == 30
    assert states(key) == {ok: "sent", blocked: "rejected", recent: "pending"}
    assert recent not in str(caught.value) and recent[-4:] not in str(caught.value).replace("1 number", "")

    sandbox.vendor("tencent")["history"] = {}  # 30 s later
    calls = count_calls(sandbox, "SendSms")
    receipt = channel().send(rendition, target(), key)
    assert calls() == 1
    assert states(key) == {ok: "sent", blocked: "rejected", recent: "sent"}
    phones = [m["content"]["phone"] for m in sms_inbox(sandbox)]
    assert phones.count(ok) == 1 and phones.count(recent) == 1 and blocked not in phones
    assert receipt.raw["recipients"] == {"sent": 2, "rejected": 1}
    # and once everything has a result, another send sends nothing at all
    channel().send(rendition, target(), key)
    assert calls() == 1


def test_201_recipients_go_out_as_two_requests_of_at_most_200(sandbox: Any) -> None:
    subscribe(numbers(201))
    record_id, version, key = setup_delivery()
    calls = count_calls(sandbox, "SendSms")
    receipt = channel().send(sms_rendition(record_id, version), target(), key)
    assert calls() == 2 and receipt.raw["recipients"] == {"sent": 201}
    assert len(sms_inbox(sandbox)) == 201


def test_a_number_that_fails_validation_at_send_is_rejected_and_never_sent(sandbox: Any,
                                                                          caplog: pytest.LogCaptureFixture) -> None:
    from hub.audience.subscribers import get_vault
    from hub.store.models import SubscriberRow
    from hub.timeutil import utcnow

    subscribe(numbers(1))
    bad = "+8610000000001"  # not a mobile range: slipped in by an old import or a hand edit
    vault = get_vault()
    with session_scope() as s:
        s.add(SubscriberRow(phone_enc=vault.encrypt(bad), phone_hash=vault.hash(bad), phone_tail=bad[-4:],
                            level="county", region=None, topics=[], opted_out_at=None, created_at=utcnow()))
    record_id, version, key = setup_delivery()
    receipt = channel().send(sms_rendition(record_id, version), target(), key)
    assert states(key)[bad] == "rejected"
    assert "+86*******0001" in caplog.text and "10000000001" not in caplog.text  # reported, masked
    assert [m["content"]["phone"] for m in sms_inbox(sandbox)] == numbers(1)
    assert receipt.raw["recipients"] == {"sent": 1, "rejected": 1}


def test_opted_out_numbers_get_nothing_even_after_the_audience_was_expanded(sandbox: Any) -> None:
    from hub.audience.subscribers import opt_out

    a, b, c = numbers(3)
    subscribe([a, b, c])
    with session_scope() as s:
        opt_out(s, a)
    record_id, version, key = setup_delivery()
    sandbox.set_faults("sms", error_5xx_rate=1.0)
    with pytest.raises(Retryable):
        channel().send(sms_rendition(record_id, version), target(), key)
    with session_scope() as s:
        opt_out(s, b)
    sandbox.clear_faults()
    channel().send(sms_rendition(record_id, version), target(), key)
    assert [m["content"]["phone"] for m in sms_inbox(sandbox)] == [c]
    assert states(key) == {b: "skipped", c: "sent"}


def test_quiet_hours_hold_non_urgent_sms_until_eight(sandbox: Any) -> None:
    subscribe(numbers(1))
    record_id, version, key = setup_delivery()
    with pytest.raises(RateLimited) as caught:
        channel(NIGHT).send(sms_rendition(record_id, version), target(), key)
    assert caught.value.retry_after == 9 * 3600
    assert sms_inbox(sandbox) == []


def test_an_urgent_record_is_sent_during_quiet_hours(sandbox: Any) -> None:
    subscribe(numbers(1))
    record_id, version, key = setup_delivery(extra={"urgent": "true"})
    channel(NIGHT).send(sms_rendition(record_id, version), target(), key)
    assert len(sms_inbox(sandbox)) == 1


def test_an_urgent_target_is_sent_during_quiet_hours(sandbox: Any) -> None:
    subscribe(numbers(1))
    record_id, version, key = setup_delivery()
    t = target()
    urgent = Target(t.channel, t.name, t.account, {**t.params, "audience": {**t.params["audience"], "urgent": True}})
    channel(NIGHT).send(sms_rendition(record_id, version), urgent, key)
    assert len(sms_inbox(sandbox)) == 1


@pytest.mark.parametrize(("window", "local", "wait"), [
    ("22:00-08:00", (21, 59), None), ("22:00-08:00", (22, 0), 10 * 3600), ("22:00-08:00", (7, 59), 60),
    ("22:00-08:00", (8, 0), None), ("12:00-13:00", (12, 30), 1800), ("off", (23, 0), None),
])
def test_quiet_windows_are_read_in_shanghai_time(window: str, local: tuple[int, int], wait: float | None) -> None:
    when = DAYTIME.replace(hour=local[0], minute=local[1])
    assert quiet_wait(when, parse_quiet_hours(window, key="k")) == wait


@pytest.mark.parametrize(("faults", "expected", "rows", "inbox"), [
    ({"error_5xx_rate": 1.0}, Retryable, "pending", 0),
    ({"rate_limit_rate": 1.0}, RateLimited, "pending", 0),
    ({"token_expired": 5}, AuthExpired, "pending", 0),
    ({"drop_rate": 1.0}, Ambiguous, "unknown", 2),
    ({"garbage_rate": 1.0}, Ambiguous, "unknown", 2),
    ({"error_5xx_rate": 1.0, "error_status": 429, "retry_after": 7}, RateLimited, "pending", 0),
    ({"error_5xx_rate": 1.0, "error_status": 504}, Ambiguous, "unknown", 0),
])
def test_sandbox_faults_become_typed_outcomes(sandbox: Any, faults: dict[str, Any], expected: type[Exception],
                                              rows: str, inbox: int) -> None:
    subscribe(numbers(2))
    record_id, version, key = setup_delivery()
    sandbox.set_faults("sms", **faults)
    calls = count_calls(sandbox, "SendSms")
    with pytest.raises(expected) as caught:
        channel().send(sms_rendition(record_id, version), target(), key)
    assert type(caught.value) is expected
    assert calls() == 1  # no retry inside the adapter
    assert set(states(key).values()) == {rows}
    assert len(sms_inbox(sandbox)) == inbox


def test_an_answer_after_the_clients_timeout_is_ambiguous_and_never_resent(sandbox: Any) -> None:
    subscribe(numbers(2))
    record_id, version, key = setup_delivery()
    sandbox.set_faults("sms", late_rate=1.0, late_seconds=2.5)
    ch = channel(config=config_with(timeout=1))
    with pytest.raises(Ambiguous):
        ch.send(sms_rendition(record_id, version), target(), key)
    sandbox.clear_faults()
    assert set(states(key).values()) == {"unknown"}
    # reconcile: nothing is pending, so lookup finds it and no second SMS goes out
    assert ch.lookup(target(), key) is not None
    calls = count_calls(sandbox, "SendSms")
    ch.send(sms_rendition(record_id, version), target(), key)
    assert calls() == 0 and len(sms_inbox(sandbox)) == 2


def test_a_wrong_secret_is_refused_by_the_signature_check(sandbox: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    subscribe(numbers(1))
    record_id, version, key = setup_delivery()
    monkeypatch.setenv("HUB_TENCENT_SECRET_KEY", "CANARY_wrong_secret_key_5d1e")
    with pytest.raises(AuthExpired) as caught:
        channel().send(sms_rendition(record_id, version), target(), key)
    assert "AuthFailure.SignatureFailure" in str(caught.value)
    assert "CANARY_wrong_secret_key_5d1e" not in str(caught.value)


def test_nothing_listening_is_retryable(sandbox: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    subscribe(numbers(1))
    record_id, version, key = setup_delivery()
    ch = channel(config=config_with(endpoint=f"127.0.0.1:{port}"))
    with pytest.raises(Retryable) as caught:
        ch.send(sms_rendition(record_id, version), target(), key)
    assert type(caught.value) is Retryable and set(states(key).values()) == {"pending"}


@pytest.mark.parametrize(("params", "code"), [
    (["x.cn", "ab12"], "ProhibitedUseUrlInTemplateParameter"),
    (["汉阴县人民政府办公室", "ab12"], "TemplateParameterLengthLimit"),
    (["县政府办"], "TemplateParamSetNotMatchApprovedTemplate"),
])
def test_the_platform_refusing_the_content_is_permanent(sandbox: Any, params: list[str], code: str) -> None:
    subscribe(numbers(2))
    record_id, version, key = setup_delivery()
    with pytest.raises(Permanent) as caught:
        channel().send(sms_rendition(record_id, version, params=params), target(), key)
    assert code in str(caught.value)
    assert sms_inbox(sandbox) == []


def test_status_waits_for_reports_and_counts_partial_undelivery_as_delivered(sandbox: Any) -> None:
    a, b = numbers(2)
    subscribe([a, b])
    record_id, version, key = setup_delivery()
    sandbox.vendor("tencent")["undeliverable"] = [b]
    sandbox.vendor("tencent")["report_delay"] = 3600
    ch = channel()
    receipt = ch.send(sms_rendition(record_id, version), target(), key)
    assert ch.status(receipt, target()) == DeliveryStatus.PENDING
    for item in sandbox.vendor("tencent")["reports"]:
        item["due"] = 0  # the reports arrive
    assert ch.status(receipt, target()) == DeliveryStatus.DELIVERED
    assert states(key) == {a: "delivered", b: "undelivered"}


def test_pulled_reports_survive_a_database_that_refuses_them_for_a_moment(
        sandbox: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """PullSmsSendStatus hands each report out once: a locked database is waited out, never a lost report."""
    from sqlalchemy.exc import OperationalError

    from hub.audience import reports

    a, b = numbers(2)
    subscribe([a, b])
    record_id, version, key = setup_delivery()
    sandbox.vendor("tencent")["report_delay"] = 3600
    ch = channel()
    receipt = ch.send(sms_rendition(record_id, version), target(), key)
    for item in sandbox.vendor("tencent")["reports"]:
        item["due"] = 0
    real, refusals = reports.apply_reports, []

    def locked_twice(session: Any, reports: Any, **kw: Any) -> int:
        if len(refusals) < 2:
            refusals.append(1)
            raise OperationalError("UPDATE sms_recipients", {}, Exception("database is locked"))
        return real(session, reports, **kw)

    monkeypatch.setattr(reports, "apply_reports", locked_twice)
    assert ch.status(receipt, target()) == DeliveryStatus.DELIVERED
    assert len(refusals) == 2 and states(key) == {a: "delivered", b: "delivered"}


def test_status_is_failed_when_every_sent_number_was_undelivered(sandbox: Any) -> None:
    subscribe(numbers(2))
    record_id, version, key = setup_delivery()
    sandbox.vendor("tencent")["undeliverable"] = numbers(2)
    ch = channel()
    receipt = ch.send(sms_rendition(record_id, version), target(), key)
    assert ch.status(receipt, target()) == DeliveryStatus.FAILED


def test_reports_reconcile_numbers_of_an_ambiguous_batch(sandbox: Any) -> None:
    subscribe(numbers(2))
    record_id, version, key = setup_delivery()
    sandbox.set_faults("sms", drop_rate=1.0)
    ch = channel()
    with pytest.raises(Ambiguous):
        ch.send(sms_rendition(record_id, version), target(), key)
    sandbox.clear_faults()
    receipt = ch.lookup(target(), key)
    assert receipt is not None
    assert ch.status(receipt, target()) == DeliveryStatus.DELIVERED
    assert set(states(key).values()) == {"delivered"}


def test_pushed_callback_reports_are_applied(sandbox: Any) -> None:
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    got: list[Any] = []
    arrived = threading.Event()

    class Hub(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            got.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"result":0,"errmsg":"OK"}')
            arrived.set()

        def log_message(self, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Hub)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        subscribe(numbers(2))
        record_id, version, key = setup_delivery()
        sandbox.vendor("tencent")["callback_url"] = f"http://127.0.0.1:{server.server_address[1]}/sms/receipts"
        channel().send(sms_rendition(record_id, version), target(), key)
        assert arrived.wait(10)
    finally:
        server.shutdown()
        server.server_close()
    [payload] = got
    assert len(payload) == 2 and {p["report_status"] for p in payload} == {"SUCCESS"}
    with session_scope() as s:
        assert handle_sms_callback(s, payload) == 2
    assert set(states(key).values()) == {"delivered"}


def test_every_sdk_error_code_has_a_row_in_the_one_table() -> None:
    from tencentcloud.sms.v20210111 import errorcodes

    codes = {v for k, v in vars(errorcodes).items() if k.isupper() and isinstance(v, str)}
    assert len(codes) > 90
    assert codes <= set(CODES)


def test_a_missing_phone_key_stops_the_channel_and_names_the_variable(sandbox: Any,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    subscribe(numbers(1))
    record_id, version, key = setup_delivery()
    monkeypatch.delenv("HUB_PHONE_KEY")
    with pytest.raises(AuthExpired, match="HUB_PHONE_KEY"):
        channel().send(sms_rendition(record_id, version), target(), key)
    assert sms_inbox(sandbox) == []


def test_a_missing_secret_stops_the_channel_and_names_the_variable(sandbox: Any,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    subscribe(numbers(1))
    record_id, version, key = setup_delivery()
    monkeypatch.delenv("HUB_TENCENT_SECRET_KEY")
    with pytest.raises(AuthExpired, match="HUB_TENCENT_SECRET_KEY"):
        channel().send(sms_rendition(record_id, version), target(), key)
    assert set(states(key).values()) == {"pending"}


def test_a_spent_send_budget_returns_at_once_and_the_next_call_continues(sandbox: Any) -> None:
    subscribe(numbers(3))
    record_id, version, key = setup_delivery()
    calls = count_calls(sandbox, "SendSms")
    with pytest.raises(Retryable) as caught:
        channel(config=config_with(send_budget_seconds=0)).send(sms_rendition(record_id, version), target(), key)
    assert type(caught.value) is Retryable and caught.value.retry_after == 0
    assert calls() == 0 and set(states(key).values()) == {"pending"}
    channel().send(sms_rendition(record_id, version), target(), key)
    assert calls() == 1 and set(states(key).values()) == {"sent"}


@pytest.mark.parametrize(("code", "expected", "rows"), [
    ("FailedOperation.InsufficientBalanceInSmsPackage", AuthExpired, "pending"),
    ("UnauthorizedOperation.RequestIpNotInWhitelist", AuthExpired, "pending"),
    ("InternalError.Timeout", Retryable, "pending"),
    ("LimitExceeded.AppDailyLimit", RateLimited, "pending"),
    ("FailedOperation.ContainSensitiveWord", Permanent, "pending"),
    ("FailedOperation.MarketingSendTimeConstraint", RateLimited, "pending"),
    ("SomethingNew.NeverSeen", Permanent, "pending"),
])
def test_vendor_error_codes_map_through_the_one_table(sandbox: Any, code: str, expected: type[Exception],
                                                      rows: str) -> None:
    subscribe(numbers(2))
    record_id, version, key = setup_delivery()
    sandbox.vendor("tencent").update({"error_code": code, "error_action": "SendSms"})
    with pytest.raises(expected) as caught:
        channel().send(sms_rendition(record_id, version), target(), key)
    assert type(caught.value) is expected and code in str(caught.value)
    assert set(states(key).values()) == {rows} and sms_inbox(sandbox) == []
    if code == "LimitExceeded.AppDailyLimit":
        assert isinstance(caught.value, RateLimited) and caught.value.daily
        assert caught.value.retry_after == 14 * 3600  # until midnight in Shanghai (it is 10:00)
