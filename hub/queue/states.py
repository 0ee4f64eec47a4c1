"""The delivery states and the one table of allowed transitions.

Why one table: every writer of ``deliveries.state`` (the claim, the result
recorder, the reconciler, the sweeper, a person's retry or cancel) goes through
``check(from, to)``, so an illegal move is a bug that fails loudly instead of a
row that silently ends up somewhere no code expects. Terminal states are
write-once: nothing leaves them.
"""

from __future__ import annotations

from enum import StrEnum


class State(StrEnum):
    QUEUED = "queued"  # due to be sent (next_attempt_at)
    SENDING = "sending"  # claimed by a worker holding a lease; the network call may be in flight
    SUBMITTED = "submitted"  # the platform accepted; its final outcome is polled (WeChat job, SMS receipts, TV pickup)
    CONFIRMED = "confirmed"  # the platform / recipient confirmed: done
    RETRY_WAIT = "retry_wait"  # nothing landed; waits for next_attempt_at (or a person, when needs_attention)
    UNKNOWN = "unknown"  # the request may have landed: reconcile by lookup, never resend blindly
    FAILED = "failed"  # gave up, with the reason in words
    EXPIRED = "expired"  # past the rendition's not_after: never sent late
    CANCELLED = "cancelled"  # a person cancelled it


TERMINAL: frozenset[State] = frozenset({State.CONFIRMED, State.FAILED, State.EXPIRED, State.CANCELLED})

#: States a worker may claim for sending.
CLAIMABLE: frozenset[State] = frozenset({State.QUEUED, State.RETRY_WAIT})

#: from → allowed targets. Anything not listed is illegal.
TRANSITIONS: dict[State, frozenset[State]] = {
    # queued → retry_wait without a send: the account is held (auth expired) or out of daily quota
    State.QUEUED: frozenset({State.SENDING, State.RETRY_WAIT, State.EXPIRED, State.CANCELLED, State.FAILED}),
    # retry_wait → confirmed: a person confirmed it outside the platform (``ledger.mark_delivered``)
    State.RETRY_WAIT: frozenset({State.SENDING, State.QUEUED, State.EXPIRED, State.CANCELLED, State.FAILED,
                                 State.CONFIRMED}),
    # sending → unknown is also the lease sweeper's move when a worker died mid-attempt
    State.SENDING: frozenset({State.SUBMITTED, State.CONFIRMED, State.RETRY_WAIT, State.UNKNOWN, State.FAILED}),
    State.SUBMITTED: frozenset({State.CONFIRMED, State.FAILED, State.EXPIRED}),
    # unknown → queued only after lookup found nothing (or the channel is an idempotent upsert,
    # or a person decided); unknown → submitted/confirmed when lookup or a late answer found it
    State.UNKNOWN: frozenset({State.QUEUED, State.SUBMITTED, State.CONFIRMED, State.FAILED, State.EXPIRED,
                              State.CANCELLED}),
    State.CONFIRMED: frozenset(),
    State.FAILED: frozenset(),
    State.EXPIRED: frozenset(),
    State.CANCELLED: frozenset(),
}


class IllegalTransition(RuntimeError):
    """A code path tried a move the table forbids (a bug, not a user error)."""


def allowed(src: str | None, dst: str) -> bool:
    """True when ``src → dst`` is in the table (``None → queued`` is the creation of a row)."""
    if src is None:
        return dst == State.QUEUED
    return State(dst) in TRANSITIONS[State(src)]


def check(src: str | None, dst: str) -> None:
    """Raise ``IllegalTransition`` unless ``src → dst`` is allowed."""
    if not allowed(src, dst):
        raise IllegalTransition(f"delivery state {src} → {dst} is not allowed")


def is_terminal(state: str) -> bool:
    return State(state) in TERMINAL
