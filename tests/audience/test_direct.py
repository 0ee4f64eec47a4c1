"""A one-recipient notice (the consultation answer SMS) on the same ledgers as a bulk push: leased, per number, once."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from hub.audience.direct import send_one
from hub.audience.expand import expand
from hub.audience.subscribers import get_vault, upsert
from hub.channels.sms import SmsChannel
from hub.deliverables import Target
from hub.queue import ledger
from hub.queue.confirm import confirm_one
from hub.queue.context import Deps
from hub.queue.reconcile import reconcile_one
from hub.queue.sweeper import sweep_leases
from hub.store.db import session_scope
from hub.store.models import DeliveryRow, SmsRecipientRow, SubscriberRow
from hub.timeutil import utcnow

pytestmark = pytest.mark.usefixtures("phone_key")

ASKER = "+8613800138077"


class _WorkerDied(BaseException):
    """Stands for the process dying (SIGKILL): nothing after it runs, no handler sees it."""


def _send(key: str = "consult-answer-7") -> Any:
    return send_one(purpose="consult_answer", key=key, subject="consult:7", phone_enc=get_vault().encrypt(ASKER),
                    params=["7"])


def _sent_to(sandbox: Any, phone: str) -> int:
    return sum(1 for m in sandbox.messages("sms", "sms") if m["content"].get("phone") == phone)


def _recipients(delivery_id: int) -> list[tuple[str, str | None]]:
    with session_scope() as s:
        return [(r.state, r.serial_no) for r in s.scalars(
            select(SmsRecipientRow).where(SmsRecipientRow.delivery_id == delivery_id))]


def test_the_notice_is_claimed_with_a_lease_recorded_per_number_and_never_sent_twice(
        sandbox: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    real, seen = SmsChannel.send_batch, []

    def watching(self: SmsChannel, account: str, request: dict[str, Any], phones: list[str]) -> Any:
        with session_scope() as s:  # while the request is out, the row is held by a lease
            row = s.scalar(select(DeliveryRow).where(DeliveryRow.idempotency_key == "consult-answer-7"))
            assert row is not None
            seen.append((row.state, row.attempts, row.lease_expires_at))
        return real(self, account, request, phones)

    monkeypatch.setattr(SmsChannel, "send_batch", watching)
    sent = _send()
    assert sent.state == "confirmed" and sent.note == "运营商已受理"
    state, attempts, lease = seen[0]
    assert (state, attempts) == ("sending", 1) and lease is not None and lease > utcnow()
    [(number_state, serial)] = _recipients(sent.delivery_id)
    with session_scope() as s:
        row = s.get(DeliveryRow, sent.delivery_id)
        assert row is not None and row.provider_ref == serial and number_state == "sent"
        assert [e.to_state for e in ledger.events(s, sent.delivery_id)] == ["queued", "sending", "confirmed"]
    again = _send()
    assert (again.delivery_id, again.note) == (sent.delivery_id, "已发送过，不再重复发送")
    assert _sent_to(sandbox, ASKER) == 1


def test_an_asker_who_is_no_subscriber_gets_no_bulk_push_until_the_number_is_imported(sandbox: Any) -> None:
    _send()
    with session_scope() as s:
        asker = s.scalar(select(SubscriberRow).where(SubscriberRow.phone_hash == get_vault().hash(ASKER)))
        assert asker is not None and asker.listed is False
    target = Target(channel="sms", name="sms-county", account="tencent", params={})

    def audience_of_a_push(delivery_key: str) -> list[int]:
        now = utcnow()
        with session_scope() as s:
            row = DeliveryRow(record_id="r", version="v", channel="sms", target="sms-county",
                              idempotency_key=delivery_key, state="sending", attempts=1, created_at=now, updated_at=now)
            s.add(row)
            s.flush()
            expand(s, row.id, target, {}, None, now)
            return list(s.scalars(select(SmsRecipientRow.subscriber_id).where(SmsRecipientRow.delivery_id == row.id)))

    assert audience_of_a_push("push-1") == []
    with session_scope() as s:
        row, created = upsert(s, ASKER)
        assert not created and row.listed
    assert audience_of_a_push("push-2") == [row.id]


def test_a_notice_whose_worker_died_after_sending_is_reconciled_by_the_engine_never_resent(
        sandbox: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    real = SmsChannel.send_batch

    def dies_after_the_request(self: SmsChannel, account: str, request: dict[str, Any], phones: list[str]) -> Any:
        real(self, account, request, phones)
        raise _WorkerDied

    monkeypatch.setattr(SmsChannel, "send_batch", dies_after_the_request)
    with pytest.raises(_WorkerDied):
        _send()
    monkeypatch.setattr(SmsChannel, "send_batch", real)
    with session_scope() as s:
        row = s.scalar(select(DeliveryRow).where(DeliveryRow.idempotency_key == "consult-answer-7"))
        assert row is not None and row.state == "sending" and row.lease_expires_at is not None
        delivery_id, lease = row.id, row.lease_expires_at
    later = Deps(clock=lambda: lease + timedelta(seconds=1))
    assert sweep_leases(deps=later) == 1  # the lease ran out: unknown, for the engine to reconcile
    out = reconcile_one(delivery_id, deps=later)  # asks the platform by number: it has the SMS
    assert out.state == "submitted"
    assert confirm_one(delivery_id, deps=Deps(clock=lambda: lease + timedelta(minutes=5))).state == "confirmed"
    assert [state for state, _ in _recipients(delivery_id)] == ["delivered"]
    assert _sent_to(sandbox, ASKER) == 1
    assert _send().note == "已发送过，不再重复发送" and _sent_to(sandbox, ASKER) == 1


def test_an_opted_out_number_gets_nothing_and_the_row_says_why(sandbox: Any) -> None:
    with session_scope() as s:
        upsert(s, ASKER)[0].opted_out_at = utcnow()
    sent = _send()
    assert (sent.state, sent.note) == ("failed", "该号码已退订短信，不发送")
    with session_scope() as s:
        row = s.get(DeliveryRow, sent.delivery_id)
        assert row is not None and row.last_error_class == "OptedOut"
    assert _sent_to(sandbox, ASKER) == 0


def test_an_asker_known_only_from_a_notice_is_not_in_the_subscriber_list(sandbox: Any) -> None:
    from typer.testing import CliRunner

    from hub.cli import _register, app

    _register()
    _send()
    with session_scope() as s:
        upsert(s, "+8613800138001")
    listed = CliRunner().invoke(app, ["subscribers", "list", "--json"])
    assert listed.exit_code == 0, listed.output
    assert [r["phone"] for r in json.loads(listed.output)] == ["+86*******8001"]
