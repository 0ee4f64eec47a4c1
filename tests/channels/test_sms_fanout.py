"""The SMS fan-out's guarantees at batch level: a crash never resends, every number gets a result, answers are read safely."""

from __future__ import annotations

from typing import Any

import pytest
from sms_support import (
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

from hub.audience.fanout import Batch, BatchResult, result_values
from hub.channels.sms import SmsChannel
from hub.errors import Ambiguous, Retryable
from hub.store.db import session_scope

pytestmark = pytest.mark.usefixtures("phone_key")  # tests/channels/conftest.py


class _WorkerDied(BaseException):
    """Stands for the process dying (SIGKILL, OOM): nothing after it runs, no handler sees it."""


def test_a_batch_whose_worker_died_after_sending_is_never_sent_again(sandbox: Any,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Batch 2's request reached the API, then the worker died before its answer was recorded."""
    phones = numbers(30)
    subscribe(phones)
    version = save_version("hanyin-crash-1")
    key = make_delivery(version, "hanyin-crash-1", "sms-county")
    rendition = sms_rendition("hanyin-crash-1", version)
    real = SmsChannel.send_batch
    seen = {"n": 0}

    def dies_after_second_request(self: SmsChannel, account: str, request: dict[str, Any], phones: list[str]) -> Any:
        result = real(self, account, request, phones)
        seen["n"] += 1
        if seen["n"] == 2:
            raise _WorkerDied
        return result

    monkeypatch.setattr(SmsChannel, "send_batch", dies_after_second_request)
    one_at_a_time = config_with(batch_size=10, concurrency=1)
    with pytest.raises(_WorkerDied):
        channel(config=one_at_a_time).send(rendition, target(), key)
    monkeypatch.setattr(SmsChannel, "send_batch", real)
    assert sorted(states(key).values()) == ["pending"] * 10 + ["sending"] * 10 + ["sent"] * 10

    calls = count_calls(sandbox, "SendSms")
    receipt = channel(config=one_at_a_time).send(rendition, target(), key)
    assert calls() == 1  # only the batch that never went out
    after = states(key)
    assert [after[p] for p in phones] == ["sent"] * 10 + ["unknown"] * 10 + ["sent"] * 10
    inbox = [m["content"]["phone"] for m in sms_inbox(sandbox)]
    assert sorted(inbox) == sorted(phones)  # every number exactly once, the crashed batch included
    assert receipt.raw["recipients"] == {"sent": 20, "unknown": 10}


def test_every_number_of_a_mixed_audience_ends_with_its_own_result(sandbox: Any) -> None:
    """Several waves of small batches: sent, refused by the operator, invalid at send, opted out — none left open."""
    from hub.audience.subscribers import get_vault, opt_out
    from hub.store.models import SubscriberRow
    from hub.timeutil import utcnow

    phones = numbers(450)
    subscribe(phones)
    bad = "+8610000000001"
    vault = get_vault()
    with session_scope() as s:
        s.add(SubscriberRow(phone_enc=vault.encrypt(bad), phone_hash=vault.hash(bad), phone_tail=bad[-4:],
                            level="county", region=None, topics=[], opted_out_at=None, created_at=utcnow()))
    sandbox.vendor("tencent")["blacklist"] = phones[200:205]
    version = save_version("hanyin-mixed-1")
    key = make_delivery(version, "hanyin-mixed-1", "sms-county")
    rendition = sms_rendition("hanyin-mixed-1", version)
    with pytest.raises(Retryable):  # a first call that only expands the audience (no time to send)
        channel(config=config_with(send_budget_seconds=0)).send(rendition, target(), key)
    with session_scope() as s:  # ten people opt out while the delivery is under way
        for p in phones[100:110]:
            opt_out(s, p)
    receipt = channel(config=config_with(batch_size=40, concurrency=3)).send(rendition, target(), key)
    assert receipt.raw["recipients"] == {"sent": 435, "rejected": 6, "skipped": 10}
    got = states(key)
    assert got[bad] == "rejected" and {got[p] for p in phones[200:205]} == {"rejected"}
    assert {got[p] for p in phones[100:110]} == {"skipped"}
    inbox = [m["content"]["phone"] for m in sms_inbox(sandbox)]
    assert len(inbox) == len(set(inbox)) == 435 and not set(inbox) & set(phones[100:110])

def _batch(*numbers_and_ids: tuple[str, int]) -> Batch:
    batch = Batch(rows=[(rid, b"") for _, rid in numbers_and_ids])
    batch.numbers = dict(numbers_and_ids)
    return batch


def test_an_answer_is_matched_per_number_whatever_form_the_number_comes_back_in() -> None:
    """E.164 or not, duplicated or missing: each row gets one result, a missing number is unknown (never resent)."""
    batch = _batch(("+8613800000001", 1), ("+8613800000002", 2), ("+8613800000003", 3), ("+8613800000004", 4))
    batch.invalid = [5]
    statuses = [
        {"PhoneNumber": "+8613800000001", "Code": "Ok", "SerialNo": "s1"},
        {"PhoneNumber": "8613800000002", "Code": "FailedOperation.PhoneNumberInBlacklist", "SerialNo": ""},
        {"PhoneNumber": "13800000003", "Code": "LimitExceeded.PhoneNumberThirtySecondLimit"},
        {"PhoneNumber": "+8613800000001", "Code": "Ok", "SerialNo": "dup"},
        {"PhoneNumber": None, "Code": "Ok", "SerialNo": "nobody"},
    ]
    values = result_values(BatchResult(batch, statuses=statuses), SmsChannel.number_result)
    assert sorted(values, key=lambda v: v[3]) == [
        ("sent", "Ok", "s1", 1),
        ("rejected", "FailedOperation.PhoneNumberInBlacklist", None, 2),
        ("pending", "LimitExceeded.PhoneNumberThirtySecondLimit", None, 3),
        ("unknown", "MissingFromAnswer", None, 4),
        ("rejected", "InvalidAtSend", None, 5),
    ]


@pytest.mark.parametrize(("error", "state"), [(Ambiguous("lost"), "unknown"), (Retryable("503"), "pending")])
def test_a_failed_batch_leaves_its_numbers_unknown_or_pending_by_what_may_have_happened(error: Exception,
                                                                                         state: str) -> None:
    batch = _batch(("+8613800000001", 1), ("+8613800000002", 2))
    values = result_values(BatchResult(batch, error=error), SmsChannel.number_result)  # type: ignore[arg-type]
    assert sorted(values, key=lambda v: v[3]) == [(state, type(error).__name__, None, 1),
                                                  (state, type(error).__name__, None, 2)]


@pytest.mark.parametrize("concurrency", [0, 33])
def test_concurrency_outside_its_bound_is_a_configuration_error_naming_the_key(sandbox: Any,
                                                                               concurrency: int) -> None:
    """Requests in flight stay bounded (threads and sockets): a mistyped 320 must not open 320 connections."""
    from hub.errors import AuthExpired

    subscribe(numbers(1))
    version = save_version("hanyin-bound-1")
    key = make_delivery(version, "hanyin-bound-1", "sms-county")
    with pytest.raises(AuthExpired, match=r"accounts\.tencent\.concurrency must be 1\.\.32"):
        channel(config=config_with(concurrency=concurrency)).send(sms_rendition("hanyin-bound-1", version),
                                                                  target(), key)
    assert sms_inbox(sandbox) == []


def test_a_missing_phone_key_leaves_the_claimed_numbers_pending_for_the_next_send(sandbox: Any,
                                                                                   monkeypatch: pytest.MonkeyPatch,
                                                                                   phone_key: str) -> None:
    """Nothing went out, so nothing may turn ``unknown`` (which is never resent): the rows go back to pending."""
    from hub.errors import AuthExpired

    phones = numbers(3)
    subscribe(phones)
    version = save_version("hanyin-key-1")
    key = make_delivery(version, "hanyin-key-1", "sms-county")
    rendition = sms_rendition("hanyin-key-1", version)
    monkeypatch.delenv("HUB_PHONE_KEY")
    with pytest.raises(AuthExpired, match="HUB_PHONE_KEY"):
        channel().send(rendition, target(), key)
    monkeypatch.setenv("HUB_PHONE_KEY", phone_key)
    assert set(states(key).values()) == {"pending"}
    channel().send(rendition, target(), key)
    assert states(key) == dict.fromkeys(phones, "sent")
    assert sorted(m["content"]["phone"] for m in sms_inbox(sandbox)) == phones


@pytest.mark.postgres
def test_on_postgresql_a_fan_out_claims_skips_and_records_every_number(pg_database: str, sandbox: Any) -> None:
    """The per-wave Core statements (claim FOR UPDATE SKIP LOCKED, skip, mark sending) on PostgreSQL."""
    from hub.audience.subscribers import opt_out

    phones = numbers(120)
    subscribe(phones)
    version = save_version("hanyin-pg-1")
    key = make_delivery(version, "hanyin-pg-1", "sms-county")
    rendition = sms_rendition("hanyin-pg-1", version)
    with pytest.raises(Retryable):
        channel(config=config_with(send_budget_seconds=0)).send(rendition, target(), key)
    with session_scope() as s:
        for p in phones[:3]:
            opt_out(s, p)
    receipt = channel(config=config_with(batch_size=25, concurrency=2)).send(rendition, target(), key)
    assert receipt.raw["recipients"] == {"sent": 117, "skipped": 3}
    assert sorted(m["content"]["phone"] for m in sms_inbox(sandbox)) == phones[3:]
