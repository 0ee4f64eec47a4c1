"""The fan-out: every pending number of a delivery out in batches, a few requests in flight, each result kept.

How it goes (reliability F1, F7, F8, F17):

* one coordinating thread claims up to ``concurrency × size`` pending rows in one
  short transaction (they become ``sending`` before any request leaves; opted-out
  subscribers become ``skipped``), decrypts and re-validates their numbers (F18),
  and hands batches of ≤ ``size`` to a pool of ``concurrency`` threads;
* a pool thread only calls ``sender.send_batch`` (the channel's one-batch send);
* the coordinator writes each finished batch's per-number results in the same
  transaction as the next claim (``recipients.write_results``, conditional on
  ``sending``), reading each answer through ``sender.number_result``;
* it stops taking new batches when the ``budget`` is spent (the rest stays
  ``pending`` for the next call) or when an answer says the account or the
  request needs a person, or to slow down.

Why the coordinator does the CPU work: it holds the GIL while it works, whereas
CPU work in the pool threads makes every database call of the coordinator wait
for the GIL again and again (a convoy that halved throughput, bench/sms_fanout.py).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime
from time import monotonic
from typing import Any, Protocol

from hub import redact
from hub.audience import recipients as rcp
from hub.audience.reports import Report, e164
from hub.audience.subscribers import get_vault, valid_at_send
from hub.channels.sessions import SessionFactory, scope
from hub.config import Account
from hub.errors import Ambiguous, AuthExpired, ChannelError, ConfigError, Permanent, RateLimited, Retryable

log = logging.getLogger(__name__)

#: one per-number answer read by the channel: (number as the vendor wrote it, recipient state, code, serial)
NumberResult = tuple[object, str, str, str | None]


class BulkSender(Protocol):
    """What a bulk channel gives the audience: one batch out, the vendor's answers read, reports fetched.

    ``send_batch`` runs in a pool thread and raises only typed ``ChannelError`` s for
    the whole batch (``Ambiguous`` when it may have landed); ``number_result`` maps one
    per-number answer to a recipient state (``hub.audience.recipients``) and runs in the
    coordinating thread.
    """

    @property
    def name(self) -> str: ...

    def send_batch(self, account: str, request: dict[str, Any], numbers: list[str]) -> list[dict[str, Any]]: ...

    def number_result(self, status: dict[str, Any]) -> NumberResult: ...

    def hold_seconds(self, code: str, now: datetime) -> float | None: ...

    def daily_codes(self) -> frozenset[str]: ...

    def reports_by_number(self, account: str, number: str, begin: int, end: int) -> list[Report]: ...

    def pull_reports(self, account: str, *, pages: int = 20) -> int: ...


class BudgetSpent(Retryable):
    """Internal marker: the per-call time budget ran out (not a platform error)."""


@dataclass
class Batch:
    """Up to ``size`` recipient rows, still encrypted: the coordinating thread decrypts and re-validates them."""

    rows: list[tuple[int, bytes]]  # (sms_recipients.id, phone_enc)
    numbers: dict[str, int] = field(default_factory=dict)  # E.164 → row id, filled by ``open_batches``
    invalid: list[int] = field(default_factory=list)  # rows whose number failed re-validation


@dataclass
class BatchResult:
    batch: Batch
    statuses: list[dict[str, Any]] | None = None  # the vendor's per-number answers, as its JSON objects
    error: ChannelError | None = None


def result_values(result: BatchResult, read: Callable[[dict[str, Any]], NumberResult]) -> list[rcp.Result]:
    """The per-number results of one finished batch, for ``write_results`` (plain tuples: 100,000 a run)."""
    batch = result.batch
    values: list[rcp.Result] = [(rcp.REJECTED, "InvalidAtSend", None, rid) for rid in batch.invalid]
    if result.statuses is None:
        err = result.error
        if batch.numbers:
            targets = list(batch.numbers.values())
        else:  # failed before decryption finished: nothing can have gone out
            done = set(batch.invalid)
            targets = [rid for rid, _ in batch.rows if rid not in done]
        state = rcp.UNKNOWN if isinstance(err, Ambiguous) else rcp.PENDING
        code = type(err).__name__ if err is not None else "NoAnswer"
        values.extend((state, code, None, rid) for rid in targets)
        return values
    numbers = batch.numbers
    seen: set[int] = set()
    for st in result.statuses:
        number, state, code, serial = read(st)
        # the vendor echoes the E.164 numbers it was sent; anything else goes through e164
        rid = numbers.get(number) if isinstance(number, str) else None
        if rid is None:
            rid = numbers.get(e164(str(number)))
        if rid is None or rid in seen:
            continue
        seen.add(rid)
        values.append((state, code, serial, rid))
    # a number the answer does not mention may or may not have gone out
    values.extend((rcp.UNKNOWN, "MissingFromAnswer", None, rid) for rid in numbers.values() if rid not in seen)
    return values


def open_batches(batches: Sequence[Batch], channel: str) -> None:
    """Decrypt and re-validate the numbers of a wave of batches (F18), in the calling thread.

    The whole wave is decrypted in one ``decrypt_many``: every call into AES lets go of
    the GIL, and getting it back from busy pool threads can take a switch interval
    (5 ms) each time. All or nothing: a ``ConfigError`` (wrong key) leaves every batch
    of the wave unopened.
    """
    refused: list[str] = []
    plain = iter(get_vault().decrypt_many([enc for batch in batches for _, enc in batch.rows]))
    for batch in batches:
        for rid, _ in batch.rows:
            number = next(plain)
            if valid_at_send(number) and number not in batch.numbers:
                batch.numbers[number] = rid
            else:
                batch.invalid.append(rid)
                refused.append(redact.mask_phone(number))
    if refused:
        log.warning("%s: %d number(s) failed re-validation at send and are not sent: %s",
                    channel, len(refused), ", ".join(refused[:20]))


class FanOut:
    """One bounded run of the fan-out of one delivery (see the module docstring)."""

    def __init__(self, sender: BulkSender, sessions: SessionFactory | None, clock: Callable[[], datetime]) -> None:
        self.sender, self.sessions, self.clock = sender, sessions, clock

    def _step(self, delivery_id: int, done: list[BatchResult], after: int, size: int,
              want: int) -> tuple[list[Batch], int]:
        """One short transaction: record finished batches, then take up to ``want`` new batches of ≤ ``size``.

        New rows are those still ``pending`` after row id ``after`` (so a number put back
        to pending by a frequency limit waits for the next run); they become ``sending``
        before any request leaves; opted-out subscribers become ``skipped``.
        """
        now = self.clock()
        values = [v for result in done for v in result_values(result, self.sender.number_result)]
        with scope(self.sessions) as s:
            if values:
                rcp.write_results(s, values, now)
            if want <= 0:
                return [], after
            conn = s.connection()
            rows = conn.execute(rcp.CLAIM, {"did": delivery_id, "after": after, "n": size * want}).tuples().all()
            if not rows:
                return [], after
            first, after = after, rows[-1][0]
            skipped = [rid for rid, _, opted_out in rows if opted_out]
            live = [(rid, enc) for rid, enc, opted_out in rows if not opted_out]
            if skipped:
                conn.execute(rcp.SKIP, [{"rid": rid, "now": now} for rid in skipped])
            # exactly the rows just read: the pending ones of this delivery in (first, after] (the claim
            # holds the write lock / row locks, so nothing changed in between)
            conn.execute(rcp.MARK_SENDING, {"did": delivery_id, "first": first, "after": after, "now": now})
        return [Batch(live[i:i + size]) for i in range(0, len(live), size)], after

    def _call(self, account: str, request: dict[str, Any], batch: Batch) -> BatchResult:
        """Send one opened batch (runs in a pool thread); never raises an ``Exception``."""
        try:
            if not batch.numbers:
                return BatchResult(batch, statuses=[])
            return BatchResult(batch, statuses=self.sender.send_batch(account, request, list(batch.numbers)))
        except ChannelError as exc:
            return BatchResult(batch, error=exc)
        except ConfigError as exc:  # a secret or the phone key is missing: the account needs a person
            return BatchResult(batch, error=AuthExpired(f"{self.sender.name}: configuration needs a person: {exc}"))
        except Exception as exc:  # an adapter bug after the request may have left: never resent blindly
            return BatchResult(batch, error=Ambiguous(f"{self.sender.name}: {type(exc).__name__} while sending"))

    def run(self, delivery_id: int, account: str, request: dict[str, Any], size: int, concurrency: int,
            budget: float = 120.0) -> list[ChannelError]:
        """Send every pending number, at most ``concurrency`` batches in flight, for at most ``budget`` seconds.

        The budget keeps one call shorter than the engine's lease and actor time limit:
        what is left stays ``pending`` and the caller raises ``Retryable(retry_after=0)``
        so the engine continues at once (a fan-out is a series of bounded calls).
        """
        name = self.sender.name
        errors: list[ChannelError] = []
        deadline = monotonic() + budget
        stop = exhausted = False
        after = 0
        with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix=name) as pool:
            running: set[Future[BatchResult]] = set()
            finished: list[BatchResult] = []
            while True:
                if not stop and monotonic() >= deadline:
                    stop = True
                    errors.append(BudgetSpent(f"{name}: the send budget is spent; continuing in the next call", 0.0))
                want = 0 if (stop or exhausted) else concurrency - len(running)
                if finished or want > 0:
                    batches, after = self._step(delivery_id, finished, after, size, want)
                    finished = []
                    if want > 0 and not batches:
                        exhausted = True
                    try:
                        if batches:
                            open_batches(batches, name)
                    except ConfigError as exc:  # the phone key is missing or wrong: a person must fix it
                        failed = [BatchResult(b, error=AuthExpired(f"{name}: configuration needs a person: {exc}"))
                                  for b in batches]
                        finished.extend(failed)
                        errors.extend(r.error for r in failed if r.error is not None)
                        stop = True
                        batches = []
                    for b in batches:
                        running.add(pool.submit(self._call, account, request, b))
                if not running and not finished:  # batches that never went out are written back as pending first
                    break
                if not running:
                    continue
                done, running = wait(running, return_when=FIRST_COMPLETED)
                for fut in done:
                    result = fut.result()
                    finished.append(result)
                    if result.error is not None:
                        errors.append(result.error)
                        # an account or request problem, or "slow down": start no new batches
                        if isinstance(result.error, RateLimited | AuthExpired | Permanent):
                            stop = True
        return errors


def limits_of(account: Account, name: str, max_batch: int, max_concurrency: int) -> dict[str, Any]:
    """Batch size, requests in flight and the per-call time budget of a bulk account, checked."""
    size, concurrency = int(account.get("batch_size", max_batch)), int(account.get("concurrency", 4))
    if not 1 <= size <= max_batch:
        raise ConfigError(f"channels.toml: accounts.{name}.batch_size must be 1..{max_batch}")
    if not 1 <= concurrency <= max_concurrency:
        raise ConfigError(f"channels.toml: accounts.{name}.concurrency must be 1..{max_concurrency}")
    return {"size": size, "concurrency": concurrency, "budget": float(account.get("send_budget_seconds", 120))}
