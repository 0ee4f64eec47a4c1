"""SMS delivery reports that must never be lost, and reconcile that asks the platform (issue 18, findings 2-3).

Everything runs the real Tencent SDK against the sandbox: the report queue is
shared by every delivery and hands each report out once, so a report that
arrives before its row is written must be kept, a result write must never undo
a report, lost reports are asked for by number, and numbers nobody can account
for make the delivery need attention instead of looking fine.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from sms_support import (
    channel,
    config_with,
    make_delivery,
    numbers,
    save_version,
    sms_inbox,
    sms_rendition,
    states,
    subscribe,
    target,
)

from hub.audience.reports import KEPT_PREFIX
from hub.channels.base import DeliveryStatus
from hub.channels.sms import handle_sms_callback
from hub.errors import Ambiguous, RateLimited
from hub.sandbox import tencent
from hub.store.db import session_scope
from hub.store.models import ChannelStateRow

pytestmark = pytest.mark.usefixtures("phone_key")  # tests/channels/conftest.py


def delivery(record_id: str = "hanyin-test-1") -> tuple[str, str, str]:
    version = save_version(record_id)
    return record_id, version, make_delivery(version, record_id, "sms-county")


def test_a_report_applied_while_the_send_waits_is_not_undone_by_the_result_write(
        sandbox: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from hub.audience.fanout import FanOut

    subscribe(numbers(3))
    record_id, version, key = delivery()
    real_step = FanOut._step
    pulled: list[int] = []

    def step_after_another_poll(self: FanOut, delivery_id: int, done: list[Any], *args: Any) -> Any:
        if done and not pulled:
            # the platform applied the batch and queued its reports; before this send's result write
            # commits (it waits for the single SQLite writer), another delivery's poll takes them
            pulled.append(channel().pull_reports("tencent"))
        return real_step(self, delivery_id, done, *args)

    monkeypatch.setattr(FanOut, "_step", step_after_another_poll)
    receipt = channel().send(sms_rendition(record_id, version), target(), key)
    assert pulled == [3]
    assert set(states(key).values()) == {"delivered"}  # the result write did not put them back to sent
    assert channel().status(receipt, target()) is DeliveryStatus.DELIVERED


def test_a_report_that_arrives_before_its_row_knows_the_serial_is_kept_and_applied(sandbox: Any) -> None:
    subscribe(numbers(1))
    record_id, version, key = delivery()
    serial = f"3369:{int(sandbox.vendor('tencent').get('serial', 0)) + 1:019d}"  # the sandbox's next SerialNo
    with session_scope() as s:
        assert handle_sms_callback(s, [{"sid": serial, "report_status": "SUCCESS", "errmsg": "DELIVRD"}]) == 0
    with session_scope() as s:
        assert s.get(ChannelStateRow, KEPT_PREFIX + serial) is not None
    channel().send(sms_rendition(record_id, version), target(), key)
    assert set(states(key).values()) == {"delivered"}
    with session_scope() as s:
        assert s.get(ChannelStateRow, KEPT_PREFIX + serial) is None


def test_reports_lost_in_transit_are_asked_for_by_number(sandbox: Any) -> None:
    subscribe(numbers(4))
    record_id, version, key = delivery()
    receipt = channel().send(sms_rendition(record_id, version), target(), key)
    lost = tencent.pull_status({"Limit": 100, "SmsSdkAppId": "1400000001"}, sandbox)["PullSmsSendStatusSet"]
    assert len(lost) == 4  # pulled by someone whose answer never arrived: gone from the queue
    waiting = channel(config=config_with(report_lookup_minutes=60))
    assert waiting.status(receipt, target()) is DeliveryStatus.PENDING  # within the window: just waiting
    asking = channel(config=config_with(report_lookup_minutes=0))
    assert asking.status(receipt, target()) is DeliveryStatus.DELIVERED
    assert set(states(key).values()) == {"delivered"}


def test_numbers_without_any_report_make_the_delivery_need_attention_not_fine(sandbox: Any) -> None:
    subscribe(numbers(2))
    record_id, version, key = delivery()
    sandbox.vendor("tencent")["report_delay"] = 100000  # the carrier never reports
    receipt = channel().send(sms_rendition(record_id, version), target(), key)
    with pytest.raises(Ambiguous, match="no delivery report"):
        channel(config=config_with(report_lookup_minutes=0)).status(receipt, target())


def test_numbers_refused_then_ambiguous_are_asked_about_and_sent_again(sandbox: Any) -> None:
    subscribe(numbers(3))
    record_id, version, key = delivery()
    sandbox.vendor("tencent")["daily_limit"] = 0  # every number is over its daily limit
    ch = channel(config=config_with(report_lookup_minutes=0))
    with pytest.raises(RateLimited):
        ch.send(sms_rendition(record_id, version), target(), key)
    assert set(states(key).values()) == {"pending"}
    sandbox.set_faults("sms", drop_rate=1.0, only_on="/")  # refused again, and the answer is lost
    with pytest.raises(Ambiguous):
        ch.send(sms_rendition(record_id, version), target(), key)
    sandbox.clear_faults()
    assert set(states(key).values()) == {"unknown"}
    assert sms_inbox(sandbox) == []
    # reconcile asks the platform: it has none of them, so they go back to be sent (not "the platform has it")
    assert ch.lookup(target(), key) is None
    assert set(states(key).values()) == {"pending"}
    sandbox.vendor("tencent")["daily_limit"] = 10  # the limit has reset
    receipt = ch.send(sms_rendition(record_id, version), target(), key)
    assert len(sms_inbox(sandbox)) == 3 and receipt.provider_ref == key


def test_an_unknown_number_younger_than_the_window_is_inconclusive_not_resent(sandbox: Any) -> None:
    subscribe(numbers(2))
    record_id, version, key = delivery()
    sandbox.vendor("tencent")["daily_limit"] = 0
    sandbox.set_faults("sms", drop_rate=1.0, only_on="/")
    ch = channel(config=config_with(report_lookup_minutes=10))
    with pytest.raises(Ambiguous):
        ch.send(sms_rendition(record_id, version), target(), key)
    sandbox.clear_faults()
    with pytest.raises(Ambiguous, match="no report yet"):
        ch.lookup(target(), key)
    assert set(states(key).values()) == {"unknown"}


def test_pull_by_number_checks_its_fields_like_the_real_api(sandbox: Any) -> None:
    now = int(time.time())
    base = {"BeginTime": now - 60, "EndTime": now, "Offset": 0, "Limit": 100, "PhoneNumber": "+8613800000001",
            "SmsSdkAppId": "1400000001"}
    assert tencent.pull_status_by_number(dict(base), sandbox) == {"PullSmsSendStatusSet": []}
    for change, code in (({"Offset": 5}, "OffsetVerifyFail"), ({"Limit": 101}, "LimitVerifyFail"),
                         ({"BeginTime": now - 8 * 86400}, "BeginTimeVerifyFail"),
                         ({"EndTime": now - 120}, "EndTimeVerifyFail"), ({"PhoneNumber": "13800000001"},
                                                                          "IncorrectPhoneNumber")):
        with pytest.raises(tencent.ApiError, match=code):
            tencent.pull_status_by_number({**base, **change}, sandbox)


def test_the_per_phone_daily_limit_is_said_in_words_and_counted_before_publishing(sandbox: Any) -> None:
    from datetime import UTC, datetime

    from sqlalchemy import select

    from hub.audience.limits import numbers_at_daily_limit
    from hub.store.models import DeliveryRow, SmsRecipientRow, SubscriberRow
    from hub.web.board import DAILY_LIMIT_WORDS, _line

    subscribe(numbers(2))
    record_id, version, key = delivery()
    sandbox.vendor("tencent")["daily_limit"] = 0
    with pytest.raises(RateLimited, match="PhoneNumberDailyLimit") as caught:
        channel().send(sms_rendition(record_id, version), target(), key)
    now = datetime.now(UTC)
    row = DeliveryRow(id=1, record_id=record_id, version=version, channel="sms", target="sms-county",
                      idempotency_key=key, state="retry_wait", attempts=1, redeliveries=0, needs_attention=False,
                      last_error_class="RateLimited", last_error_msg=caught.value.message, created_at=now,
                      updated_at=now)
    assert _line(row, now).error_words == DAILY_LIMIT_WORDS
    # ten sends today to the first subscriber: the office sees one number at its limit before publishing
    keys = [make_delivery(version, record_id, f"sms-extra-{i}") for i in range(10)]
    with session_scope() as s:
        first = s.scalars(select(SubscriberRow.id).order_by(SubscriberRow.id)).first()
        for k in keys:
            did = s.scalar(select(DeliveryRow.id).where(DeliveryRow.idempotency_key == k))
            s.add(SmsRecipientRow(delivery_id=did, subscriber_id=first, state="delivered", updated_at=now))
    with session_scope() as s:
        assert numbers_at_daily_limit(s, limit=10, now=now) == 1
        assert numbers_at_daily_limit(s, limit=11, now=now) == 0
