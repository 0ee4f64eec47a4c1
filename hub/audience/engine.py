"""The audience engine: a bulk delivery's recipients from expansion to report, for any bulk channel.

Why it is not in the channel: the recipient ledger (``hub.audience.recipients``)
is what makes a bulk message exactly-once per number, and that does not depend
on the vendor. A channel hands ``Audience`` its ``BulkSender`` (one batch out,
its codes read, reports fetched) and delegates ``send``, ``lookup``, ``status``
and ``metrics``; the outcome it returns is what the delivery engine expects:

* ``send`` → a ``Receipt`` when every number has a result; ``RateLimited`` /
  ``Retryable`` while some remain pending (the engine calls again and only those
  go out); ``Ambiguous`` when a batch may have landed; ``Permanent`` /
  ``AuthExpired`` when the request itself is refused;
* ``lookup`` (after an ambiguous send) asks the platform about ``unknown`` numbers
  by number: a report → settled; none after ``report_lookup_minutes`` → the
  platform does not have it → ``pending`` again; younger → ``Ambiguous``;
* ``status`` pulls reports, asks by number for numbers silent past the window, and
  is DELIVERED when every sent number has a final report (partial: undelivered
  numbers do not fail a delivery with at least one delivered number).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from hub.audience import recipients as rcp
from hub.audience.fanout import BudgetSpent, BulkSender, FanOut
from hub.audience.reports import Report, apply_kept_best_effort, apply_with_retry
from hub.audience.subscribers import get_vault
from hub.channels.sessions import SessionFactory, scope
from hub.config import Account
from hub.deliverables import DeliveryStatus, Receipt
from hub.errors import Ambiguous, AuthExpired, ChannelError, Permanent, RateLimited, Retryable
from hub.store.models import DeliveryRow, SmsRecipientRow
from hub.timeutil import utcnow


def report_window(account: Account) -> timedelta:
    """How long after a send a number may go without a report before the platform is asked by number."""
    return timedelta(minutes=float(account.get("report_lookup_minutes", 10)))


class Audience:
    """The recipients of one bulk channel's deliveries (see the module docstring)."""

    def __init__(self, sender: BulkSender, sessions: SessionFactory | None, clock: Callable[[], datetime]) -> None:
        self.sender, self.sessions, self.clock = sender, sessions, clock
        self.name = sender.name

    # --- send ---------------------------------------------------------------------------------------

    def delivery_id(self, key: str) -> int:
        with scope(self.sessions) as s:
            found = s.scalar(select(DeliveryRow.id).where(DeliveryRow.idempotency_key == key))
        if found is None:
            raise Permanent(f"{self.name}: no delivery row for this key")
        return int(found)

    def send(self, delivery_id: int, key: str, account: str, request: dict[str, Any], *, size: int,
             concurrency: int, budget: float, expand: Callable[[Session], None], apply_kept: bool = True) -> Receipt:
        """Expand (once), make rows a crash left ``sending`` unknown, fan out, and say what became of it."""
        now = self.clock()
        with scope(self.sessions) as s:
            expand(s)
            rcp.crashed_to_unknown(s, delivery_id, now)
        errors = FanOut(self.sender, self.sessions, self.clock).run(
            delivery_id, account, {**request, "SessionContext": key}, size, concurrency, budget)
        if apply_kept:
            apply_kept_best_effort(self.sessions, self.clock())
        return self.outcome(delivery_id, key, errors)

    def outcome(self, delivery_id: int, key: str, errors: Sequence[ChannelError]) -> Receipt:
        """The receipt when every number has a result, else the typed error the delivery engine acts on."""
        with scope(self.sessions) as s:
            counts = rcp.recipient_counts(s, delivery_id)
            codes = rcp.pending_codes(s, delivery_id) if counts.get(rcp.PENDING) else set()
        summary = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
        for kind in (AuthExpired, Permanent, Ambiguous):
            found = [e for e in errors if type(e) is kind]
            if found:
                raise kind(f"{found[0].message} (recipients: {summary})")
        if counts.get(rcp.PENDING):
            if any(isinstance(e, BudgetSpent) for e in errors) and not any(
                    isinstance(e, RateLimited) for e in errors):
                # numbers were left untried: continue at once (held ones are simply held again)
                raise Retryable(f"{self.name}: the send budget is spent; continuing (recipients: {summary})", 0.0)
            now = self.clock()
            holds = [h for h in (self.sender.hold_seconds(c, now) for c in codes) if h is not None]
            limited = [e for e in errors if isinstance(e, RateLimited)]
            if limited or holds:
                waits = [e.retry_after for e in limited if e.retry_after] + holds
                daily = any(e.daily for e in limited)
                why = (limited[0].message if limited
                       else f"{self.name}: {counts[rcp.PENDING]} number(s) held by a frequency limit")
                if codes & self.sender.daily_codes():
                    why += " (PhoneNumberDailyLimit: the per-phone daily limit; they go after midnight)"
                raise RateLimited(f"{why} (recipients: {summary})", min(waits) if waits else None, daily=daily)
            real = [e for e in errors if not isinstance(e, BudgetSpent)]
            first = real[0].message if real else "numbers left to send"
            raise Retryable(f"{first} (recipients: {summary})")
        sent = sum(counts.get(k, 0) for k in (rcp.SENT, rcp.DELIVERED, rcp.UNDELIVERED, rcp.UNKNOWN))
        if sent == 0 and counts.get(rcp.REJECTED):
            raise Permanent(f"{self.name}: every number was refused (recipients: {summary})")
        return Receipt(provider_ref=key, accepted_at=self.clock(), confirmed=sent == 0,
                       raw={"delivery_id": delivery_id, "recipients": dict(counts)})

    # --- lookup and status ---------------------------------------------------------------------------

    def lookup(self, account_name: str, account: Account, key: str, *, settle_sending: bool = False) -> Receipt | None:
        """A receipt when every number of the delivery has a result; None while any is still pending.

        After an ambiguous send the engine asks this: the numbers of that batch are
        ``unknown`` (never resent), so only genuinely pending numbers make it send again.
        ``settle_sending``: numbers left ``sending`` by a dead attempt are asked about like
        ``unknown`` ones (a one-recipient notice, which no later ``send`` continues).
        """
        from hub.audience.digest import member_lookup

        covered = member_lookup(self.sessions, key, self.clock())  # handed to a digest: found there
        if covered is not None:
            return covered
        with scope(self.sessions) as s:
            delivery_id = s.scalar(select(DeliveryRow.id).where(DeliveryRow.idempotency_key == key))
            if delivery_id is None or rcp.expanded(s, delivery_id) is None:
                return None
            if settle_sending:
                rcp.crashed_to_unknown(s, delivery_id, self.clock())
        self.settle_unknown(account_name, account, delivery_id)
        with scope(self.sessions) as s:
            counts = rcp.recipient_counts(s, delivery_id)
        if counts.get(rcp.PENDING) or counts.get(rcp.SENDING):
            return None
        return Receipt(provider_ref=key, accepted_at=self.clock(), confirmed=False,
                       raw={"delivery_id": delivery_id, "recipients": dict(counts)})

    def settle_unknown(self, account_name: str, account: Account, delivery_id: int) -> None:
        """Ask the platform about the ``unknown`` numbers of a delivery (issue 18, finding 3).

        A report found by number says the message went out (delivered or not). A number
        with no report ``report_lookup_minutes`` after its ambiguous attempt is one the
        platform does not have: it goes back to ``pending`` and is sent again (a number
        refused by its daily limit waits for the reset like any other). Younger unknown
        numbers make the lookup inconclusive: ``Ambiguous``, asked again later, never a
        resend on a guess.
        """
        window = report_window(account)
        with scope(self.sessions) as s:
            rows = rcp.awaiting(s, delivery_id, (rcp.UNKNOWN,), older_than=None, limit=None)
        if not rows:
            return
        self.ask_by_number(account_name, delivery_id, rows)
        now = self.clock()
        with scope(self.sessions) as s:
            left = s.execute(select(SmsRecipientRow.id, SmsRecipientRow.updated_at).where(
                SmsRecipientRow.delivery_id == delivery_id, SmsRecipientRow.state == rcp.UNKNOWN)).all()
            absent = [rid for rid, at in left if at <= now - window]
            if absent:
                s.execute(update(SmsRecipientRow).where(SmsRecipientRow.id.in_(absent),
                                                        SmsRecipientRow.state == rcp.UNKNOWN)
                          .values(state=rcp.PENDING, code="NotAtPlatform", updated_at=now))
        if len(absent) < len(left):
            raise Ambiguous(f"{self.name}: {len(left) - len(absent)} number(s) of an ambiguous send have no report "
                            "yet; asking the platform again later")

    def ask_by_number(self, account_name: str, delivery_id: int, rows: Sequence[tuple[int, bytes, str | None]]) -> int:
        """The platform's reports for each number over the delivery's send time range; applies what it finds.

        Why: the pulled report queue hands each report out once, so a dropped or late
        answer loses it; the by-number query is not consumed and covers that gap.
        """
        with scope(self.sessions) as s:
            started = (rcp.expanded(s, delivery_id) or {}).get("at")
        # the platform's time range is real time (``self.clock`` may be a test's or the quiet-hours clock)
        now = utcnow()
        begin = datetime.fromisoformat(str(started)) if started else now - timedelta(days=1)
        begin_ts = min(max(int(begin.timestamp()) - 60, int(now.timestamp()) - 7 * 86400 + 60),
                       int(now.timestamp()))
        numbers = get_vault().decrypt_many([enc for _, enc, _ in rows])
        reports: list[Report] = []
        for number in dict.fromkeys(numbers):
            reports.extend(self.sender.reports_by_number(account_name, number, begin_ts, int(now.timestamp())))
        return apply_with_retry(self.sessions, reports, clock=self.clock, keep=False) if reports else 0

    def status(self, account_name: str, account: Account, key: str) -> DeliveryStatus:
        """Pull reports (bounded pages), then DELIVERED when every sent number has a final report.

        Partial: ``undelivered`` numbers do not fail the delivery when at least one
        number was delivered (they are counted per number in ``sms_recipients``);
        FAILED only when every sent number came back undelivered. A number with no
        report after ``receipt_timeout_hours`` (account, default 48) stops holding the
        delivery open.
        """
        self.sender.pull_reports(account_name, pages=int(account.get("receipt_pages", 20)))
        apply_kept_best_effort(self.sessions, self.clock())
        timeout = timedelta(hours=float(account.get("receipt_timeout_hours", 48)))
        with scope(self.sessions) as s:
            delivery_id = s.scalar(select(DeliveryRow.id).where(DeliveryRow.idempotency_key == key))
            if delivery_id is None:
                raise Permanent(f"{self.name}: the receipt names no delivery")
            # numbers still without a report after the window: ask the platform by number (bounded per poll)
            window = report_window(account)
            overdue = rcp.awaiting(s, delivery_id, rcp.AWAITING_REPORT, older_than=self.clock() - window,
                                   limit=int(account.get("report_lookups_per_poll", 50)))
        if overdue:
            self.ask_by_number(account_name, delivery_id, overdue)
        now = self.clock()
        with scope(self.sessions) as s:
            counts = rcp.recipient_counts(s, delivery_id)
            recent = SmsRecipientRow.updated_at > now - timeout
            awaiting = (SmsRecipientRow.delivery_id == delivery_id,
                        SmsRecipientRow.state.in_(rcp.AWAITING_REPORT), recent)
            waiting = s.scalar(select(func.count()).select_from(SmsRecipientRow).where(*awaiting)) or 0
            late = s.scalar(select(func.count()).select_from(SmsRecipientRow).where(
                *awaiting, SmsRecipientRow.updated_at <= now - window)) or 0
        if late:
            # not "pending" as if all were well: the confirm step records this and the watchdog flags it
            raise Ambiguous(f"{self.name}: {late} number(s) have no delivery report "
                            f"{window.total_seconds() / 60:.0f} min after sending, even asked by number; "
                            "needs attention")
        if waiting:
            return DeliveryStatus.PENDING
        if counts.get(rcp.DELIVERED):
            return DeliveryStatus.DELIVERED
        if counts.get(rcp.UNDELIVERED):
            return DeliveryStatus.FAILED
        sent = sum(counts.get(k, 0) for k in rcp.AWAITING_REPORT)
        return DeliveryStatus.FAILED if sent else DeliveryStatus.DELIVERED

    def metrics(self, refs: Sequence[str]) -> dict[str, dict[str, int]]:
        """Delivered, failed (undelivered or refused) and opted-out numbers per delivery key, from the ledger."""
        with scope(self.sessions) as s:
            rows = s.execute(select(DeliveryRow.idempotency_key, SmsRecipientRow.state, func.count())
                             .join(SmsRecipientRow, SmsRecipientRow.delivery_id == DeliveryRow.id)
                             .where(DeliveryRow.idempotency_key.in_(list(refs)))
                             .group_by(DeliveryRow.idempotency_key, SmsRecipientRow.state)).all()
        out: dict[str, dict[str, int]] = {ref: {"delivered": 0, "failed": 0, "opted_out": 0} for ref in refs}
        for ref, state, n in rows:
            metric = {rcp.DELIVERED: "delivered", rcp.UNDELIVERED: "failed", rcp.REJECTED: "failed",
                      rcp.SKIPPED: "opted_out"}.get(str(state))
            if metric is not None:
                out[str(ref)][metric] += int(n)
        return out
