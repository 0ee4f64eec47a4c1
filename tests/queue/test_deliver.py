"""The engine's logic: claims, retry policy per error class, unknown and reconciliation, expiry, confirm.

A fake channel stands in for the platform (reliability.md plan D); the ledger is a real
database (SQLite, and PostgreSQL through the ``db`` fixture).
"""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from engine_fakes import Engine

from hub.deliverables import DeliveryStatus
from hub.errors import Ambiguous, AuthExpired, DuplicateRejected, Permanent, RateLimited, Retryable
from hub.queue import ledger
from hub.queue.confirm import confirm_one
from hub.queue.deliver import deliver_one
from hub.queue.reconcile import reconcile_one
from hub.queue.states import TERMINAL, TRANSITIONS, IllegalTransition, State, check
from hub.queue.sweeper import expire_stale, requeue_due, sweep_leases
from hub.store.db import session_scope


def events(delivery_id: int) -> list[tuple[str | None, str]]:
    with session_scope() as s:
        return [(e.from_state, e.to_state) for e in ledger.events(s, delivery_id)]


def test_terminal_states_have_no_way_out_and_illegal_moves_raise() -> None:
    for state in TERMINAL:
        assert TRANSITIONS[state] == frozenset()
    with pytest.raises(IllegalTransition):
        check(State.CONFIRMED, State.QUEUED)
    with pytest.raises(IllegalTransition):
        check(State.QUEUED, State.CONFIRMED)


def test_a_successful_send_is_claimed_then_recorded_as_confirmed_with_every_transition_logged(engine: Engine) -> None:
    d = engine.add()
    out = deliver_one(d, deps=engine.deps())
    assert out.state == State.CONFIRMED and out.sent
    row = engine.row(d)
    assert row.attempts == 1 and row.provider_ref == "fake-1" and row.lease_expires_at is None
    assert events(d) == [(None, "queued"), ("queued", "sending"), ("sending", "confirmed")]
    assert engine.channels["fake"].platform.sends == 1


def test_a_second_attempt_on_a_confirmed_row_does_nothing(engine: Engine) -> None:
    d = engine.add()
    deliver_one(d, deps=engine.deps())
    out = deliver_one(d, deps=engine.deps())
    assert out.sent is False and engine.channels["fake"].platform.sends == 1


def test_sixteen_concurrent_claims_of_one_row_send_exactly_once(engine: Engine) -> None:
    d = engine.add()
    barrier = threading.Barrier(16)
    outcomes = []

    def run() -> None:
        barrier.wait()
        try:
            outcomes.append(deliver_one(d, deps=engine.deps()))
        except Retryable as exc:  # SQLite busy past its timeout is a retry, never a second send
            outcomes.append(exc)

    threads = [threading.Thread(target=run) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert engine.channels["fake"].platform.sends == 1
    assert sum(1 for o in outcomes if getattr(o, "sent", False)) == 1
    assert engine.row(d).state == State.CONFIRMED


def test_retryable_waits_with_growing_backoff_then_succeeds(engine: Engine) -> None:
    engine.channels["fake"].script = [Retryable("503"), Retryable("503"), "ok"]
    d = engine.add()
    first = deliver_one(d, deps=engine.deps())
    assert first.state == State.RETRY_WAIT and first.then == "deliver"
    due1 = engine.row(d).next_attempt_at
    assert due1 is not None
    assert deliver_one(d, deps=engine.deps()).sent is False  # not due yet: no send
    engine.clock.now = due1
    second = deliver_one(d, deps=engine.deps())
    assert second.state == State.RETRY_WAIT
    due2 = engine.row(d).next_attempt_at
    assert due2 is not None and (due2 - engine.clock()) >= timedelta(seconds=engine.settings.min_backoff * 2)
    engine.clock.now = due2
    assert deliver_one(d, deps=engine.deps()).state == State.CONFIRMED
    assert engine.row(d).attempts == 3


def test_rate_limited_waits_exactly_its_retry_after(engine: Engine) -> None:
    engine.channels["fake"].script = [RateLimited("429", retry_after=7)]
    d = engine.add()
    out = deliver_one(d, deps=engine.deps())
    assert out.state == State.RETRY_WAIT and out.delay == 7
    assert engine.row(d).next_attempt_at == engine.clock() + timedelta(seconds=7)


def test_a_daily_quota_flags_the_account_and_holds_its_other_deliveries_without_sending(engine: Engine) -> None:
    engine.channels["fake"].script = [RateLimited("45009 daily quota", retry_after=3600, daily=True)]
    d1 = engine.add(target="fake-main")
    d2 = engine.add(target="fake-main", version="w" * 64)
    deliver_one(d1, deps=engine.deps())
    out = deliver_one(d2, deps=engine.deps())
    assert out.sent is False and out.state == State.RETRY_WAIT
    assert engine.channels["fake"].platform.sends == 1
    with session_scope() as s:
        assert ledger.get_flag(s, "quota-exhausted:fake-main", now=engine.clock()) is not None


def test_permanent_fails_at_once_with_the_reason_in_words(engine: Engine) -> None:
    engine.channels["fake"].script = [Permanent("45002 content too long")]
    d = engine.add()
    out = deliver_one(d, deps=engine.deps())
    row = engine.row(d)
    assert out.state == State.FAILED and row.attempts == 1
    assert row.last_error_class == "Permanent" and "content too long" in (row.last_error_msg or "")


def test_retries_exhausted_become_failed(engine: Engine) -> None:
    engine.channels["fake"].script = [Retryable("503")] * 10
    d = engine.add()
    for _ in range(engine.settings.max_attempts):
        deliver_one(d, deps=engine.deps())
        due = engine.row(d).next_attempt_at
        if due is not None:
            engine.clock.now = due
    row = engine.row(d)
    assert row.state == State.FAILED and row.attempts == engine.settings.max_attempts
    assert "gave up after" in (row.last_error_msg or "")


def test_auth_expired_holds_the_account_for_a_person_and_retry_releases_it(engine: Engine) -> None:
    engine.channels["fake"].script = [AuthExpired("40001 invalid credential")]
    d1, d2 = engine.add(), engine.add(version="w" * 64)
    deliver_one(d1, deps=engine.deps())
    held = deliver_one(d2, deps=engine.deps())
    assert held.sent is False
    for d in (d1, d2):
        row = engine.row(d)
        assert row.state == State.RETRY_WAIT and row.needs_attention and row.next_attempt_at is None
    with session_scope() as s:
        ledger.retry(s, d1, "office", now=engine.clock())
    assert deliver_one(d1, deps=engine.deps()).state == State.CONFIRMED


def test_a_missing_secret_holds_the_account_instead_of_claiming_the_post_may_have_landed(engine: Engine) -> None:
    """A ConfigError from an adapter is raised before any request leaves: held for a person, never `unknown`."""
    from hub.errors import ConfigError

    def no_secret() -> None:
        raise ConfigError("channels.toml: accounts.x.secret_env: environment variable HUB_X_SECRET is not set")

    engine.channels["fake"].during_send = no_secret
    d = engine.add()
    deliver_one(d, deps=engine.deps())
    row = engine.row(d)
    assert row.state == State.RETRY_WAIT and row.needs_attention and row.next_attempt_at is None
    assert row.last_error_class == "AuthExpired" and "HUB_X_SECRET" in (row.last_error_msg or "")
    assert engine.channels["fake"].platform.posts == {}


def test_expired_rendition_is_never_sent(engine: Engine) -> None:
    d = engine.add()
    engine.rendition_not_after = engine.clock() + timedelta(seconds=10)
    engine.clock.advance(11)
    assert deliver_one(d, deps=engine.deps()).state == State.EXPIRED
    assert engine.channels["fake"].platform.sends == 0


def test_a_window_anchored_before_publication_does_not_expire_a_fresh_delivery(engine: Engine) -> None:
    engine.rendition_not_after = engine.clock() - timedelta(days=3000)  # an old document's own date + hours
    d = engine.add()
    assert deliver_one(d, deps=engine.deps()).state == State.CONFIRMED


def test_stale_rows_expire_in_the_sweeper_without_a_send(engine: Engine) -> None:
    d = engine.add(not_after=engine.clock() + timedelta(seconds=10))
    engine.clock.advance(11)
    assert expire_stale(deps=engine.deps()) == 1
    assert engine.row(d).state == State.EXPIRED and engine.channels["fake"].platform.sends == 0


def test_ambiguous_goes_to_unknown_and_lookup_finds_it_without_a_second_send(engine: Engine) -> None:
    engine.channels["fake"].script = [("land", Ambiguous("read timeout after sending"))]
    d = engine.add()
    out = deliver_one(d, deps=engine.deps())
    assert out.state == State.UNKNOWN and out.then == "reconcile"
    engine.clock.advance(engine.settings.confirm_first)
    assert reconcile_one(d, deps=engine.deps()).state == State.CONFIRMED
    assert engine.channels["fake"].platform.sends == 1 and len(engine.channels["fake"].platform.posts) == 1


def test_ambiguous_that_did_not_land_is_sent_again_after_lookup(engine: Engine) -> None:
    engine.channels["fake"].script = [Ambiguous("connection reset")]
    d = engine.add()
    deliver_one(d, deps=engine.deps())
    engine.clock.advance(engine.settings.confirm_first)
    assert reconcile_one(d, deps=engine.deps()).state == State.QUEUED
    assert deliver_one(d, deps=engine.deps()).state == State.CONFIRMED
    assert engine.channels["fake"].platform.sends == 2 and len(engine.channels["fake"].platform.posts) == 1


def test_unknown_on_a_channel_without_lookup_waits_for_a_person(engine: Engine) -> None:
    engine.channels["blind"].script = [("land", Ambiguous("timeout"))]
    d = engine.add("blind")
    deliver_one(d, deps=engine.deps())
    engine.clock.advance(engine.settings.confirm_first)
    reconcile_one(d, deps=engine.deps())
    row = engine.row(d)
    assert row.state == State.UNKNOWN and row.needs_attention
    assert deliver_one(d, deps=engine.deps()).sent is False
    assert engine.channels["blind"].platform.sends == 1


def test_unknown_on_an_idempotent_channel_is_simply_sent_again(engine: Engine) -> None:
    engine.channels["web"].script = [("land", Ambiguous("timeout"))]
    d = engine.add("web")
    deliver_one(d, deps=engine.deps())
    engine.clock.advance(engine.settings.confirm_first)
    assert reconcile_one(d, deps=engine.deps()).state == State.QUEUED
    assert deliver_one(d, deps=engine.deps()).state == State.CONFIRMED


def test_duplicate_rejected_is_reconciled_never_failed(engine: Engine) -> None:
    engine.channels["fake"].platform.posts[ledger.idempotency_key("rec-1", "v" * 64, "fake", "fake-main")] = \
        __import__("hub.channels.base", fromlist=["Receipt"]).Receipt("earlier-1", engine.clock(), True)
    engine.channels["fake"].script = [DuplicateRejected("repeat content")]
    d = engine.add()
    assert deliver_one(d, deps=engine.deps()).state == State.UNKNOWN
    engine.clock.advance(engine.settings.confirm_first)
    assert reconcile_one(d, deps=engine.deps()).state == State.CONFIRMED
    assert engine.row(d).provider_ref == "earlier-1"


def test_partial_failure_is_isolated_per_channel(engine: Engine) -> None:
    engine.channels["fake"].script = [Retryable("503")] * 3
    ds = {name: engine.add(name) for name in ("fake", "web", "blind")}
    for d in ds.values():
        deliver_one(d, deps=engine.deps())
    assert engine.row(ds["fake"]).state == State.RETRY_WAIT
    for name in ("web", "blind"):
        assert engine.row(ds[name]).state == State.CONFIRMED
    engine.clock.advance(10_000)
    deliver_one(ds["fake"], deps=engine.deps())
    assert engine.channels["web"].platform.sends == 1 and engine.channels["blind"].platform.sends == 1


def test_submitted_is_polled_until_confirmed(engine: Engine) -> None:
    ch = engine.channels["fake"]
    ch.script = ["pending"]
    ch.status_script = [DeliveryStatus.PENDING, DeliveryStatus.DELIVERED]
    d = engine.add()
    out = deliver_one(d, deps=engine.deps())
    assert out.state == State.SUBMITTED and out.then == "confirm"
    assert confirm_one(d, deps=engine.deps()).note == "not due yet"
    engine.clock.advance(engine.settings.confirm_first)
    assert confirm_one(d, deps=engine.deps()).state == State.SUBMITTED
    engine.clock.advance(engine.settings.confirm_max)
    assert confirm_one(d, deps=engine.deps()).state == State.CONFIRMED
    assert ch.platform.polls == 2


def test_submitted_that_the_platform_fails_later_is_failed(engine: Engine) -> None:
    ch = engine.channels["fake"]
    ch.script = ["pending"]
    ch.status_script = [DeliveryStatus.FAILED]
    d = engine.add()
    deliver_one(d, deps=engine.deps())
    engine.clock.advance(engine.settings.confirm_first)
    assert confirm_one(d, deps=engine.deps()).state == State.FAILED


def test_a_dead_workers_lease_becomes_unknown_then_reconciles_by_lookup(engine: Engine) -> None:
    d = engine.add()
    now = engine.clock()
    with session_scope() as s:  # what a worker that died after its claim leaves behind
        assert ledger.move(s, d, "queued", "sending", actor="w", now=now, attempts=0,
                           values={"attempts": 1, "lease_expires_at": now + timedelta(seconds=30)})
    assert sweep_leases(deps=engine.deps()) == 0
    engine.clock.advance(31)
    assert sweep_leases(deps=engine.deps()) == 1
    row = engine.row(d)
    assert row.state == State.UNKNOWN and row.redeliveries == 1
    assert reconcile_one(d, deps=engine.deps()).state == State.QUEUED  # lookup: nothing landed
    assert deliver_one(d, deps=engine.deps()).state == State.CONFIRMED
    assert engine.channels["fake"].platform.sends == 1


def test_requeue_due_hints_each_due_row_once_per_grace_period(engine: Engine) -> None:
    d1, d2 = engine.add(), engine.add(version="w" * 64)
    hints: list[tuple[str, int, float | None]] = []
    engine.clock.advance(engine.settings.hint_grace + 1)
    assert requeue_due(lambda a, i, dl: hints.append((a, i, dl)), deps=engine.deps()) == 2
    assert requeue_due(lambda a, i, dl: hints.append((a, i, dl)), deps=engine.deps()) == 0
    engine.clock.advance(engine.settings.hint_grace + 1)
    assert requeue_due(lambda a, i, dl: hints.append((a, i, dl)), deps=engine.deps()) == 2
    assert {h[1] for h in hints} == {d1, d2} and {h[0] for h in hints} == {"deliver"}


def test_cancel_stops_a_queued_delivery_and_terminal_rows_refuse_retry(engine: Engine) -> None:
    from hub.errors import WorkflowError

    d = engine.add()
    with session_scope() as s:
        ledger.cancel(s, d, "office", now=engine.clock())
    assert deliver_one(d, deps=engine.deps()).sent is False
    with session_scope() as s, pytest.raises(WorkflowError):
        ledger.retry(s, d, "office")


def test_a_transition_after_a_long_poll_or_lookup_is_stamped_when_it_happened(engine: Engine) -> None:
    """Issue 18: the confirm and reconcile steps stamp their transition after the platform answered."""
    fake = engine.channels["fake"]
    slow_poll = DeliveryStatus.DELIVERED

    class SlowStatus(list):  # type: ignore[type-arg]
        def pop(self, index: int = -1) -> DeliveryStatus:
            engine.clock.advance(300)  # the poll took five minutes
            return slow_poll

    did = engine.add()
    fake.script = ["pending"]
    deliver_one(did, deps=engine.deps())
    engine.clock.advance(10)
    fake.status_script = SlowStatus([slow_poll])
    before = engine.clock()
    confirm_one(did, deps=engine.deps())
    with session_scope() as s:
        confirmed = [e for e in ledger.events(s, did) if e.to_state == State.CONFIRMED]
    assert confirmed and confirmed[0].at == before + timedelta(seconds=300)

    did2 = engine.add(target="fake-two")
    fake.script = [("land", Ambiguous("dropped"))]
    deliver_one(did2, deps=engine.deps())
    engine.clock.advance(60)

    def slow_lookup(target: Any, key: str) -> Any:
        engine.clock.advance(120)
        return fake.platform.posts.get(key)

    fake.lookup = slow_lookup  # type: ignore[method-assign]
    before = engine.clock()
    reconcile_one(did2, deps=engine.deps())
    with session_scope() as s:
        found = [e for e in ledger.events(s, did2) if e.from_state == State.UNKNOWN]
    assert found and found[0].at == before + timedelta(seconds=120)
