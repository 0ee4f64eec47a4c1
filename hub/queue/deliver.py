"""One delivery attempt: claim, send outside any transaction, record. A plain function, no broker.

The order is the whole point (reliability.md F2, F3, F14):

1. read the row; not claimable (already sent, sending elsewhere, not yet due) → nothing to do;
2. load or render the rendition (renders are idempotent; a slow video render holds no lease);
3. claim: one conditional UPDATE ``queued|retry_wait → sending`` (attempts+1, lease) in a short
   transaction committed *before* the network; a second claim of the same row finds 0 rows;
4. ``channel.send`` with no transaction open;
5. record the receipt or the error in a second short transaction, fenced by the attempt number.
   If the database refuses that write after a successful send, only the write is retried
   (then journalled for the sweeper): the platform is never asked twice.

The caller (the Dramatiq actor, or a test) gets an ``Outcome`` saying what to schedule next.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import Connection, bindparam, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from hub.channels.base import Channel
from hub.deliverables import Receipt, Rendition, Target
from hub.errors import AuthExpired, ChannelError, ConfigError, NotFound, Permanent, RenderError, Retryable
from hub.queue import ledger
from hub.queue.context import Deps, rendition_kind
from hub.queue.hooks import crash_point
from hub.queue.policy import Action, Decision, EngineSettings, decide
from hub.queue.states import CLAIMABLE, TERMINAL, State, is_terminal
from hub.redact import redact_value
from hub.store.db import retry_locked
from hub.store.models import DeliveryRow
from hub.store.precompiled import precompiled

T = TypeVar("T")

_D = DeliveryRow.__table__.c
#: the pre-claim read of a row (one prebuilt statement: it runs before every attempt)
_SNAPSHOT = select(_D.state, _D.attempts, _D.channel, _D.target, _D.version, _D.not_after, _D.next_attempt_at,
                   _D.idempotency_key, _D.needs_attention, _D.created_at, _D.scheduled_at, _D.purpose,
                   _D.origin_id,
                   ledger.FLAG_COUNT.label("flags")).where(_D.id == bindparam("id"))


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one engine call did and what should run next.

    ``state`` is the row's state after the call (None when the row was not ours to
    touch); ``then`` names the actor to hint next (``deliver``, ``reconcile``,
    ``confirm``) after ``delay`` seconds; ``sent`` says whether the platform was called.
    """

    delivery_id: int
    state: str | None
    then: str | None = None
    delay: float | None = None
    sent: bool = False
    note: str = ""


def receipt_json(receipt: Receipt, polls: int = 0) -> dict[str, Any]:
    return {"provider_ref": receipt.provider_ref, "accepted_at": receipt.accepted_at.isoformat(),
            "confirmed": receipt.confirmed, "raw": redact_value(receipt.raw), "polls": polls}


def receipt_from_json(data: dict[str, Any]) -> Receipt:
    return Receipt(provider_ref=str(data["provider_ref"]), accepted_at=datetime.fromisoformat(data["accepted_at"]),
                   confirmed=bool(data.get("confirmed")), raw=dict(data.get("raw") or {}))


def write_with_retry(deps: Deps, write: Callable[[], T]) -> T:
    """Run one short write (``write`` opens its own transaction), retrying while the database is locked (bounded)."""
    return retry_locked(write, budget=deps.settings.write_retry)


def _in_session(deps: Deps, fn: Callable[[Session], T]) -> T:
    with deps.sessions() as s:
        return fn(s)


def record_receipt(s: Session | Connection, delivery_id: int, attempt: int, receipt: Receipt, *, actor: str, now: datetime,
                   settings: EngineSettings, note: str | None = None) -> str | None:
    """Write an accepted send: ``confirmed`` when final, else ``submitted`` with a first poll due.

    Also accepted from ``unknown`` (the lease expired while the answer was late): a
    receipt is the best evidence there is. Returns the new state, or None if the row
    moved on (another writer recorded it).
    """
    dst = State.CONFIRMED if receipt.confirmed else State.SUBMITTED
    due = None if receipt.confirmed else now + timedelta(seconds=settings.confirm_first)
    values = {"provider_ref": receipt.provider_ref[:200], "receipt": receipt_json(receipt),
              "lease_expires_at": None, "next_attempt_at": due, "hinted_at": due,
              "needs_attention": False, "last_error_class": None, "last_error_msg": None}
    # the common case first (still ours, still sending), then a row the sweeper called unknown meanwhile
    for src in (State.SENDING, State.UNKNOWN):
        if ledger.move(s, delivery_id, src, dst, actor=actor, now=now, attempts=attempt, message=note,
                       values=values):
            return dst
    return None


def record_decision(s: Session, delivery_id: int, attempt: int | None, decision: Decision, *, error_class: str,
                    actor: str, now: datetime, settings: EngineSettings, account: str) -> str | None:
    """Write a failed or ambiguous attempt as the policy decided; returns the new state or None."""
    row = s.get(DeliveryRow, delivery_id)
    if row is None or (attempt is not None and row.attempts != attempt):
        return None
    src = row.state
    if is_terminal(src):
        # the row moved on while the send was out (the sweeper failed it after too many lost
        # leases, or a person cancelled it): terminal states are write-once; the late error is moot
        return None
    if decision.flag:
        ledger.set_flag(s, decision.flag, {"reason": ledger.clean(decision.reason), "delivery": delivery_id},
                        now=now, until=decision.flag_until)
    common: dict[str, Any] = {"lease_expires_at": None}
    if decision.action is Action.RETRY:
        due = now + timedelta(seconds=decision.delay or 0)
        dst = State.RETRY_WAIT if src != State.UNKNOWN else State.QUEUED
        values = {**common, "next_attempt_at": due, "hinted_at": due}
    elif decision.action is Action.HOLD:
        dst = State.RETRY_WAIT if src != State.UNKNOWN else State.UNKNOWN
        values = {**common, "next_attempt_at": None, "needs_attention": True}
    elif decision.action is Action.FAIL:
        dst, values = State.FAILED, {**common, "next_attempt_at": None}
    else:  # UNKNOWN: reconcile after a short wait (a late answer or a slow platform may land meanwhile)
        due = now + timedelta(seconds=settings.confirm_first)
        dst, values = State.UNKNOWN, {**common, "next_attempt_at": due, "hinted_at": due}
    if src == dst:  # e.g. swept to unknown meanwhile and still unknown: just note the reason
        row.last_error_class, row.last_error_msg = error_class, ledger.clean(decision.reason)
        row.needs_attention = row.needs_attention or decision.action is Action.HOLD
        row.updated_at = now
        return dst
    ok = ledger.move(s, delivery_id, src, dst, actor=actor, now=now, attempts=attempt,
                     error_class=error_class, message=decision.reason, values=values)
    return dst if ok else None


def _held(delivery_id: int, d: Deps, state: str, attempts: int, account: str, auth: Any, quota: Any, actor: str,
          now: datetime) -> Outcome:
    """An account flag is set: an expired authorisation holds the row; an exhausted quota waits for the reset."""
    with d.sessions() as s:
        if auth is not None:
            dec = Decision(Action.HOLD, None, f"account {account} needs re-authorisation; held")
            st = record_decision(s, delivery_id, attempts, dec, error_class="AuthExpired", actor=actor, now=now,
                                 settings=d.settings, account=account)
            return Outcome(delivery_id, st, note="held: account needs re-authorisation")
        delay = (quota.expires_at - now).total_seconds()
        dec = Decision(Action.RETRY, delay, f"daily quota of {account} exhausted; waiting for the reset")
        if state == State.QUEUED:
            st = record_decision(s, delivery_id, attempts, dec, error_class="RateLimited", actor=actor,
                                 now=now, settings=d.settings, account=account)
        else:
            row = s.get(DeliveryRow, delivery_id)
            assert row is not None
            row.next_attempt_at, row.hinted_at, row.updated_at = quota.expires_at, quota.expires_at, now
            st = state
        return Outcome(delivery_id, st, then="deliver", delay=delay, note="waiting for quota reset")


def _next(state: str | None, decision: Decision | None, settings: EngineSettings) -> tuple[str | None, float | None]:
    if state in (State.RETRY_WAIT, State.QUEUED) and decision is not None and decision.action is Action.RETRY:
        return "deliver", decision.delay
    if state == State.UNKNOWN:
        return "reconcile", settings.confirm_first
    if state == State.SUBMITTED:
        return "confirm", settings.confirm_first
    return None, None


def _rendition(version: str, kind: str) -> Rendition:
    """A rendition the snapshot did not find, rendered between short transactions.

    A video render takes minutes: rendering inside ``d.sessions()`` would hold SQLite's write
    lock (and this process's writer lock) that long and stall every other delivery and the
    console, so a missing rendition is rendered with no transaction open (``render_ref``,
    which stores it and returns it: no second read).
    """
    from hub.renderers.service import render_ref

    return render_ref(version, [kind])[0]


def _origin_of(delivery_id: int, d: Deps, snap: dict[str, Any], actor: str,
               now: datetime) -> tuple[Outcome | None, Receipt | None]:
    """The receipt of what a withdrawal undoes; or an outcome that waits while that is not known yet.

    A publication still queued, sending or ``unknown`` may yet land: deleting before its outcome is
    known could leave the post up, so the withdrawal waits (``retry_wait``) and looks again.
    """
    with d.sessions() as s:
        origin = s.get(DeliveryRow, snap["origin_id"]) if snap["origin_id"] is not None else None
        # a correction's old post is taken down only once the corrected one has settled
        replacing = origin is not None and s.scalar(
            select(DeliveryRow.id).where(DeliveryRow.origin_id == origin.id, DeliveryRow.purpose == "correct",
                                         DeliveryRow.state.not_in(list(TERMINAL))).limit(1)) is not None
        if origin is not None and (replacing or origin.state in (State.QUEUED, State.RETRY_WAIT, State.SENDING,
                                                                 State.UNKNOWN)):
            delay = max(d.settings.confirm_first, 1.0)
            why = (f"waiting for the correction of delivery {origin.id} to settle before taking the old one down"
                   if replacing else f"waiting for delivery {origin.id} ({origin.state}) to settle before withdrawing it")
            if snap["state"] == State.QUEUED:
                st = record_decision(s, delivery_id, int(snap["attempts"]), Decision(Action.RETRY, delay, why),
                                     error_class="Retryable", actor=actor, now=now, settings=d.settings, account="")
            else:
                row = s.get(DeliveryRow, delivery_id)
                assert row is not None
                due = now + timedelta(seconds=delay)
                row.next_attempt_at, row.hinted_at, row.updated_at = due, due, now
                st = row.state
            # no follow-up message: waiting is not a failed attempt and must not spend the broker's
            # retry budget; the sweeper hints the row again when it is due
            return Outcome(delivery_id, st, note="waiting for the publication or its correction"), None
        data = dict(origin.receipt or {}) if origin is not None else {}
    if not data.get("provider_ref"):
        return None, None
    return None, receipt_from_json(data)


def _previous(d: Deps, origin_id: int | None) -> Receipt | None:
    """The receipt of the delivery a correction replaces (None when it has none)."""
    if origin_id is None:
        return None
    with d.sessions() as s:
        row = s.get(DeliveryRow, origin_id)
        data = dict(row.receipt or {}) if row is not None else {}
    return receipt_from_json(data) if data.get("provider_ref") else None


def withdraw_on(channel: Channel, origin: Receipt | None, target: Target, key: str, *, now: datetime) -> Receipt:
    """Undo ``origin`` on the platform through the adapter's ``withdraw(receipt, target, key)``.

    Nothing to undo when the publication never reached the platform (no receipt): confirmed at once.
    """
    if origin is None:
        return Receipt(provider_ref="-", accepted_at=now, confirmed=True,
                       raw={"nothing_to_withdraw": "the publication never reached the platform"})
    withdraw = getattr(channel, "withdraw", None)
    if withdraw is None:
        raise Permanent(f"{target.channel}: this channel cannot withdraw through its API; remove the post by "
                        "hand, then mark this delivery delivered")
    result: Receipt = withdraw(origin, target, key)
    return result


def deliver_one(delivery_id: int, *, deps: Deps | None = None, **overrides: Any) -> Outcome:
    """Make at most one send attempt for ``delivery_id``; see the module docstring for the order.

    ``overrides`` set fields of ``Deps`` (``channels``, ``clock``, ``renditions``, ``sessions``,
    ``settings``, ``targets``, ``actor``). Raises ``Retryable`` when the database is too busy
    before the send (``database is locked``: nothing was sent); every other outcome is
    written to the ledger and returned.
    """
    d = Deps.of(deps, overrides)
    try:
        return _deliver(delivery_id, d)
    except _Busy as exc:
        raise Retryable(f"database busy before sending delivery {delivery_id}; nothing was sent") from exc.__cause__


class _Busy(Exception):
    """The database refused a pre-send step (locked): nothing was sent, safe to retry."""


def _deliver(delivery_id: int, d: Deps) -> Outcome:
    try:
        return _attempt(delivery_id, d)
    except OperationalError as exc:  # after the send, write failures are retried or journalled, never raised
        raise _Busy() from exc


def _attempt(delivery_id: int, d: Deps) -> Outcome:
    actor = d.actor or ledger.worker_name()
    now = d.clock()

    # 1. a cheap read, beside the writers: is there anything to do? (the row, the account flags
    #    and the stored rendition, in one read-only transaction)
    with d.reads() as conn:
        snap = precompiled(_SNAPSHOT, conn.dialect).first(conn, {"id": delivery_id})
        if snap is None:
            return Outcome(delivery_id, None, note="no such delivery")
        # account flags are rare: the snapshot counts them, and only then are they read
        flagged = {f.key: f for f in ledger.flags(conn, now=now)} if snap["flags"] else {}
        stored: Rendition | None = None
        if snap["state"] in CLAIMABLE:
            try:
                stored = d.renditions(conn, snap["version"], rendition_kind(d.channels(snap["channel"]),
                                                                          snap["channel"]))
            except (NotFound, ConfigError):  # rendered below; a missing adapter is held below
                pass
    state, attempts = snap["state"], int(snap["attempts"])
    if state not in CLAIMABLE or snap["needs_attention"]:
        return Outcome(delivery_id, state, note=f"not claimable ({state})")
    if snap["next_attempt_at"] is not None and snap["next_attempt_at"] > now:
        return Outcome(delivery_id, state, note="not due yet")
    if snap["scheduled_at"] is not None and snap["scheduled_at"] > now:  # 定时发布: never before its time
        return Outcome(delivery_id, state, note="scheduled")
    try:
        target = d.targets(snap["target"])
        channel = d.channels(snap["channel"])
    except ConfigError as exc:  # no adapter / target for it: a person fixes the configuration
        with d.sessions() as s:
            dec = Decision(Action.HOLD, None, f"cannot deliver: {exc}")
            st = record_decision(s, delivery_id, attempts, dec, error_class="ConfigError", actor=actor, now=now,
                                 settings=d.settings, account="")
        return Outcome(delivery_id, st, note="held: configuration")
    auth, quota = flagged.get(f"auth-expired:{target.account}"), flagged.get(f"quota-exhausted:{target.account}")
    if auth is not None or quota is not None:
        return _held(delivery_id, d, state, attempts, target.account, auth, quota, actor, now)

    # a withdrawal step sends no rendition: it undoes what its origin delivery put on the platform
    withdrawing = snap["purpose"] == "withdraw"
    # nor does a digest (hub.audience.digest): the channel composes one SMS from the records it covers
    digesting = snap["purpose"] == "digest"
    origin: Receipt | None = None
    rendition: Rendition | None = None
    not_after = snap["not_after"]
    if withdrawing:
        early, origin = _origin_of(delivery_id, d, snap, actor, now)
        if early is not None:
            return early
    elif digesting:
        if not_after is not None and not_after <= now:
            with d.sessions() as s:
                ledger.move(s, delivery_id, state, State.EXPIRED, actor=actor, now=now, error_class="Expired",
                            message=f"not sent: past its not_after {not_after.isoformat()}",
                            values={"next_attempt_at": None})
            return Outcome(delivery_id, State.EXPIRED, note="expired")
    else:
        # stale: never send past not_after (F11)
        if snap["not_after"] is not None and snap["not_after"] <= now:
            with d.sessions() as s:
                ledger.move(s, delivery_id, state, State.EXPIRED, actor=actor, now=now, error_class="Expired",
                            message=f"not sent: past its not_after {snap['not_after'].isoformat()}",
                            values={"next_attempt_at": None})
            return Outcome(delivery_id, State.EXPIRED, note="expired")

        # 2. the rendition (rendered here if missing; no lease held while rendering)
        try:
            rendition = stored or _rendition(snap["version"], rendition_kind(channel, snap["channel"]))
        except RenderError as exc:  # the content breaks the channel's rules: a new version is needed
            with d.sessions() as s:
                ledger.move(s, delivery_id, state, State.FAILED, actor=actor, now=now, error_class=type(exc).__name__,
                            message=f"cannot render: {exc}", values={"next_attempt_at": None})
            return Outcome(delivery_id, State.FAILED, note="render failed")
        except OperationalError:
            raise
        except Exception as exc:  # a renderer bug or a missing tool: held for a person, not retried in a loop
            with d.sessions() as s:
                dec = Decision(Action.HOLD, None, f"cannot render {rendition_kind(channel, snap['channel'])}: "
                                                  f"{type(exc).__name__}: {exc}")
                st = record_decision(s, delivery_id, attempts, dec, error_class="RenderCrash", actor=actor, now=now,
                                     settings=d.settings, account=target.account)
            return Outcome(delivery_id, st, note="held: render crashed")
        now = d.clock()  # a missing rendition was rendered just now (a video: minutes): claim and stamp from here
        not_after = snap["not_after"]
        if rendition.not_after is not None and rendition.not_after > snap["created_at"]:
            # a window anchored on the document's own date would expire an old record before it was
            # published; only a window that starts at or after publication narrows the row's
            not_after = min(rendition.not_after, not_after) if not_after is not None else rendition.not_after
        if not_after is not None and not_after <= now:
            with d.sessions() as s:
                ledger.move(s, delivery_id, state, State.EXPIRED, actor=actor, now=now, error_class="Expired",
                            message=f"not sent: rendition expired at {not_after.isoformat()}",
                            values={"next_attempt_at": None, "not_after": not_after})
            return Outcome(delivery_id, State.EXPIRED, note="expired")

    # 3. claim, committed before any network call
    attempt = attempts + 1
    lease = now + timedelta(seconds=d.settings.lease)
    claim_values = {"attempts": attempt, "lease_expires_at": lease,
                    "rendition_hash": rendition.main.sha256 if rendition is not None else None,
                    "not_after": not_after}
    claimed = d.write(lambda c: ledger.move(c, delivery_id, state, State.SENDING, actor=actor, now=now,
                                            attempts=attempts, values=claim_values))
    if not claimed:
        return Outcome(delivery_id, None, note="claimed by someone else")

    # 4. the network call, outside any transaction
    crash_point("before_send", channel=snap["channel"])
    receipt: Receipt | None = None
    error: BaseException | None = None
    try:
        if withdrawing:
            receipt = withdraw_on(channel, origin, target, snap["idempotency_key"], now=now)
        elif digesting:
            send_digest = getattr(channel, "send_digest", None)
            if send_digest is None:
                raise Permanent(f"{target.channel}: this channel sends no digests")
            receipt = send_digest(target, snap["idempotency_key"])
        else:
            assert rendition is not None
            correct = getattr(channel, "correct", None) if snap["purpose"] == "correct" else None
            previous = _previous(d, snap["origin_id"]) if correct is not None else None
            if correct is not None and previous is not None:  # Correctable: the channel's own way
                receipt = correct(rendition, previous, target, snap["idempotency_key"])
            else:
                receipt = channel.send(rendition, target, snap["idempotency_key"])
    except ChannelError as exc:
        error = exc
    except Exception as exc:  # an adapter bug or a raw transport error: it may have landed
        error = exc
    crash_point("after_send", channel=snap["channel"])

    # 5. record the result in a second short transaction
    done = d.clock()
    decision: Decision | None = None
    if receipt is not None:
        rec = receipt

        def write_ok(c: Connection) -> str | None:
            return record_receipt(c, delivery_id, attempt, rec, actor=actor, now=done, settings=d.settings)

        try:
            new_state = write_with_retry(d, lambda: d.write(write_ok))
        except OperationalError:
            ledger.journal_write(delivery_id, {"attempt": attempt, "receipt": receipt_json(receipt), "actor": actor,
                                               "at": done.isoformat()})
            return Outcome(delivery_id, State.SENDING, sent=True, note="result journalled: database unavailable")
    else:
        assert error is not None
        if isinstance(error, ConfigError):
            # Configuration (a secret or key not set) is resolved before any request leaves, so
            # nothing landed: hold the account for a person like an expired authorisation.
            error = AuthExpired(f"configuration: {error}")
        if isinstance(error, ChannelError):
            decision = decide(error, attempt=attempt, channel=snap["channel"], account=target.account, now=done,
                              settings=d.settings)
            error_class = type(error).__name__
        else:
            decision = Decision(Action.UNKNOWN, None,
                                f"unexpected {type(error).__name__} while sending: {error}; may have landed")
            error_class = "Ambiguous"
        dec, cls = decision, error_class

        def write_err(s: Session) -> str | None:
            return record_decision(s, delivery_id, attempt, dec, error_class=cls, actor=actor, now=done,
                                   settings=d.settings, account=target.account)

        try:
            new_state = write_with_retry(d, lambda: _in_session(d, write_err))
        except OperationalError:
            ledger.journal_write(delivery_id, {"attempt": attempt, "decision": {
                "action": dec.action.value, "delay": dec.delay, "reason": dec.reason, "flag": dec.flag},
                "error_class": cls, "actor": actor, "at": done.isoformat()})
            return Outcome(delivery_id, State.SENDING, sent=True, note="result journalled: database unavailable")
    crash_point("after_commit", channel=snap["channel"])
    then, next_delay = _next(new_state, decision, d.settings)
    return Outcome(delivery_id, new_state, then=then, delay=next_delay, sent=True,
                   note=decision.reason if decision else "accepted")
