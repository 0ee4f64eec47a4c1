"""SMS to subscribers through Tencent Cloud SMS (``tencentcloud-sdk-python-sms``), one delivery = one audience.

How a delivery goes out (reliability F1, F7, F8, F17):

1. ``send(rendition, target, key)`` finds the delivery row by its idempotency
   key, and on the first call expands the target's audience into
   ``sms_recipients`` rows — ONCE per delivery (marker ``sms-audience:<id>`` in
   ``channel_state``), with one ``INSERT … SELECT``.
2. Pending numbers go out in batches of ≤ 200 (``batch_size``) with at most
   ``concurrency`` requests in flight (threads; each has its own SDK client).
   Before a batch is sent its rows become ``sending``; the answer sets each
   number's state from its ``SendStatus.Code``: ``Ok`` → ``sent`` (with
   ``SerialNo``), a per-number refusal → ``rejected``, a frequency limit →
   back to ``pending`` for a later retry. A number that got ``Ok`` is never
   sent again; neither is one whose batch had an ambiguous outcome
   (``unknown``: the delivery reports reconcile it).
3. The outcome of ``send`` is a ``Receipt`` when every number has a result,
   ``RateLimited``/``Retryable`` when some remain pending (the engine calls
   ``send`` again and only those go out), ``Ambiguous`` when a batch may have
   landed, ``Permanent``/``AuthExpired`` when the request itself is refused.
4. ``status`` pulls delivery reports (``PullSmsSendStatus``, a queue shared by
   every delivery of the app, so every pulled report is applied to whichever
   row it belongs to); the callback endpoint ``handle_sms_callback`` does the
   same for pushed reports.

Quiet hours: no non-urgent SMS between ``quiet_hours`` (account, default
22:00–08:00 Asia/Shanghai); ``send`` raises ``RateLimited(retry_after=seconds
until the end)``. A delivery is urgent when its target says ``urgent = true``
(in ``audience`` or the target table) or the record's ``extra.urgent`` is
``"true"``/``"1"``/``"是"``.

Phone numbers never leave this module unmasked except inside the SDK request.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from time import monotonic, sleep
from typing import Any, ClassVar

from pydantic import Field
from sqlalchemy import ColumnElement, Table, bindparam, func, insert, literal, or_, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from tencentcloud.sms.v20210111 import models

from hub import redact
from hub.channels.base import AccountConfig, ChannelBase, LinkUse
from hub.channels.boundary import typed_errors
from hub.channels.sessions import SessionFactory, scope
from hub.channels.subscribers import get_vault, valid_at_send
from hub.config import Account, HubConfig
from hub.deliverables import DeliveryStatus, Receipt, Rendition, Target
from hub.errors import (
    Ambiguous,
    AuthExpired,
    ChannelError,
    ConfigError,
    Permanent,
    RateLimited,
    Retryable,
)
from hub.settings import Settings
from hub.store.models import (
    ChannelStateRow,
    DeliveryRow,
    SmsRecipientRow,
    SubscriberRow,
    UtcDateTime,
)
from hub.timeutil import SHANGHAI, utcnow
from hub.vendors.tencent.client import (
    SmsClient,
    TencentAccount,
    TencentCloudSDKException,
    is_api_error,
    make_client,
    sdk_error_text,
    transport_error,
)

log = logging.getLogger(__name__)

#: the API's limit of numbers per SendSms
MAX_BATCH = 200
#: how long pulled reports wait for a database that refuses them (they cannot be pulled again)
APPLY_RETRY_SECONDS = 60.0
#: PullSmsSendStatus returns at most this many reports per call
PULL_LIMIT = 100
#: SendSms requests in flight at most (threads, one connection each): 16 hide a 50 ms round trip on a
#: 2-core box (bench/sms_fanout.py); far below the API's 3,000 requests/s, and a bound on sockets and threads
MAX_CONCURRENCY = 32

# --- the one table: every Tencent SMS (and common) error code → what it means --------------------


@dataclass(frozen=True, slots=True)
class Rule:
    """What a code means. ``kind``:

    ok — sent; reject — this number can never get it (per number) / the request is wrong;
    hold — this number is rate-limited for ``retry_after`` s; daily — a daily quota, until midnight;
    quiet — marketing time window, until 08:00; rate — the API asks us to slow down;
    retry — transient, nothing applied; auth — the account needs a person (credentials, balance,
    whitelist); permanent — the request or content is refused for good; ambiguous — may have applied.
    """

    kind: str
    retry_after: float | None = None


_R, _P, _A, _T = Rule("reject"), Rule("permanent"), Rule("auth"), Rule("retry")
_D = Rule("daily")

CODES: dict[str, Rule] = {
    "Ok": Rule("ok"),
    # FailedOperation.*
    "FailedOperation.ContainSensitiveWord": _P,
    "FailedOperation.FailResolvePacket": _P,
    "FailedOperation.ForbidAddMarketingTemplates": _P,
    "FailedOperation.InsufficientBalanceInSmsPackage": _A,
    "FailedOperation.JsonParseFail": _P,
    "FailedOperation.MarketingSendTimeConstraint": Rule("quiet"),
    "FailedOperation.MissingSignature": _P,
    "FailedOperation.MissingSignatureList": _P,
    "FailedOperation.MissingSignatureToModify": _P,
    "FailedOperation.MissingTemplateList": _P,
    "FailedOperation.MissingTemplateToModify": _P,
    "FailedOperation.NotEnterpriseCertification": _A,
    "FailedOperation.OtherError": _T,
    "FailedOperation.ParametersOtherError": _P,
    "FailedOperation.PhoneNumberInBlacklist": _R,
    "FailedOperation.PhoneNumberParseFail": _R,
    "FailedOperation.ProhibitSubAccountUse": _A,
    "FailedOperation.QualificationIdNotApproved": _A,
    "FailedOperation.SignIdNotExist": _P,
    "FailedOperation.SignNumberLimit": _P,
    "FailedOperation.SignatureIncorrectOrUnapproved": _P,
    "FailedOperation.TemplateAlreadyPassedCheck": _P,
    "FailedOperation.TemplateIdNotExist": _P,
    "FailedOperation.TemplateIncorrectOrUnapproved": _P,
    "FailedOperation.TemplateNumberLimit": _P,
    "FailedOperation.TemplateParamSetNotMatchApprovedTemplate": _P,
    "FailedOperation.TemplateUnapprovedOrNotExist": _P,
    # InternalError.*
    "InternalError": _T,
    "InternalError.JsonParseFail": _T,
    "InternalError.OtherError": _T,
    "InternalError.ParseBackendResponseFail": _T,
    "InternalError.RequestTimeException": _A,  # our clock is off: a person must fix it
    "InternalError.RestApiInterfaceNotExist": _P,
    "InternalError.SendAndRecvFail": _T,
    "InternalError.SigFieldMissing": _A,
    "InternalError.SigVerificationFail": _A,
    "InternalError.Timeout": _T,
    "InternalError.UnknownError": _T,
    # InvalidParameter* (the request is wrong: fixing it needs a person or a new rendition)
    "InvalidParameter": _P,
    "InvalidParameter.AppidAndBizId": _P,
    "InvalidParameter.DirtyWordFound": _P,
    "InvalidParameter.InvalidParameters": _P,
    "InvalidParameterValue.BeginTimeVerifyFail": _P,
    "InvalidParameterValue.ContentLengthLimit": _P,
    "InvalidParameterValue.EndTimeVerifyFail": _P,
    "InvalidParameterValue.ImageInvalid": _P,
    "InvalidParameterValue.IncorrectPhoneNumber": _R,
    "InvalidParameterValue.InvalidDocumentType": _P,
    "InvalidParameterValue.InvalidInternational": _R,
    "InvalidParameterValue.InvalidSignPurpose": _P,
    "InvalidParameterValue.InvalidSmsType": _P,
    "InvalidParameterValue.InvalidStartTime": _P,
    "InvalidParameterValue.InvalidTemplateFormat": _P,
    "InvalidParameterValue.InvalidUsedMethod": _P,
    "InvalidParameterValue.LimitVerifyFail": _P,
    "InvalidParameterValue.MarketingTemplateWithoutUnsubscribe": _P,
    "InvalidParameterValue.MultiSmsInfoSetEmpty": _P,
    "InvalidParameterValue.OffsetVerifyFail": _P,
    "InvalidParameterValue.ParameterLengthLimit": _P,
    "InvalidParameterValue.ProhibitedUseUrlInTemplateParameter": _P,
    "InvalidParameterValue.QualificationIdNotFound": _P,
    "InvalidParameterValue.SdkAppIdNotExist": _A,
    "InvalidParameterValue.SignAlreadyPassedCheck": _P,
    "InvalidParameterValue.SignExistAndUnapproved": _P,
    "InvalidParameterValue.SignNameLengthTooLong": _P,
    "InvalidParameterValue.TemplateParameterFormatError": _P,
    "InvalidParameterValue.TemplateParameterLengthLimit": _P,
    "InvalidParameterValue.TemplateWithDirtyWords": _P,
    "InvalidParameterValue.UnsupportedTemplateVariable": _P,
    # LimitExceeded.*
    "LimitExceeded.AppCountryOrRegionDailyLimit": _D,
    "LimitExceeded.AppCountryOrRegionInBlacklist": _R,
    "LimitExceeded.AppDailyLimit": _D,
    "LimitExceeded.AppGlobalDailyLimit": _D,
    "LimitExceeded.AppMainlandChinaDailyLimit": _D,
    "LimitExceeded.DailyLimit": _D,
    "LimitExceeded.DeliveryFrequencyLimit": Rule("hold", 60),
    "LimitExceeded.GlobalSmsSendingRateLimit": Rule("rate", 1),
    "LimitExceeded.PhoneNumberCountLimit": _P,  # > 200 numbers: our bug, never a retry
    "LimitExceeded.PhoneNumberDailyLimit": Rule("hold", None),  # until midnight (computed)
    "LimitExceeded.PhoneNumberOneHourLimit": Rule("hold", 3600),
    "LimitExceeded.PhoneNumberSameContentDailyLimit": Rule("hold", None),
    "LimitExceeded.PhoneNumberThirtySecondLimit": Rule("hold", 30),
    # MissingParameter*
    "MissingParameter": _P,
    "MissingParameter.EmptyPhoneNumberSet": _P,
    # UnauthorizedOperation.* (the account, not the content)
    "UnauthorizedOperation.IndividualUserMarketingSmsPermissionDeny": _P,
    "UnauthorizedOperation.RequestIpNotInWhitelist": _A,
    "UnauthorizedOperation.RequestPermissionDeny": _A,
    "UnauthorizedOperation.SdkAppIdIsDisabled": _A,
    "UnauthorizedOperation.ServiceSuspendDueToArrears": _A,
    "UnauthorizedOperation.SmsSdkAppIdVerifyFail": _A,
    # UnsupportedOperation*
    "UnsupportedOperation": _P,
    "UnsupportedOperation.ChineseMainlandTemplateToGlobalPhone": _R,
    "UnsupportedOperation.ContainDomesticAndInternationalPhoneNumber": _P,
    "UnsupportedOperation.ContainDomesticPhoneNumber": _R,
    "UnsupportedOperation.GlobalTemplateToChineseMainlandPhone": _R,
    "UnsupportedOperation.UnsupportedRegion": _P,
    # common codes of every Tencent Cloud API
    "AuthFailure.SignatureFailure": _A,
    "AuthFailure.SignatureExpire": _A,  # clock skew > 5 min: a person must fix the clock
    "AuthFailure.SecretIdNotFound": _A,
    "AuthFailure.InvalidSecretId": _A,
    "AuthFailure.InvalidAuthorization": _A,
    "AuthFailure.MFAFailure": _A,
    "AuthFailure.TokenFailure": _A,
    "AuthFailure.UnauthorizedOperation": _A,
    "RequestLimitExceeded": Rule("rate", 1),
    "RequestLimitExceeded.IPLimitExceeded": Rule("rate", 1),
    "RequestLimitExceeded.UinLimitExceeded": Rule("rate", 1),
    "RequestLimitExceeded.GlobalRegionUinLimitExceeded": Rule("rate", 1),
    "ResourceUnavailable": _T,
    "ServiceUnavailable": _T,
    "InvalidAction": _P,
    "NoSuchVersion": _P,
    "InvalidRequest": _P,
    "UnsupportedProtocol": _P,
    "ClientParamsError": _P,
    "ClientError": _P,
}

_PREFIX_FALLBACK = (
    ("RequestLimitExceeded", Rule("rate", 1)),
    ("LimitExceeded.", Rule("rate", 60)),
    ("InternalError", _T),
    ("AuthFailure", _A),
    ("UnauthorizedOperation", _A),
    ("ResourceUnavailable", _T),
)


def rule_for(code: str) -> Rule:
    """The rule of ``code``; unknown codes fall back by prefix, else ``permanent`` (never a blind retry loop)."""
    found = CODES.get(code)
    if found is not None:
        return found
    for prefix, rule in _PREFIX_FALLBACK:
        if code.startswith(prefix):
            return rule
    return _P


def _seconds_until(now: datetime, hour: int, minute: int = 0) -> float:
    local = now.astimezone(SHANGHAI)
    end = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if end <= local:
        end += timedelta(days=1)
    return max(1.0, (end - local).total_seconds())


def request_error(code: str, text: str, now: datetime) -> ChannelError:
    """The typed error for an API error answer (the whole request refused)."""
    rule = rule_for(code)
    msg = f"sms: {text}"
    if rule.kind in ("hold", "rate"):
        return RateLimited(msg, rule.retry_after or _seconds_until(now, 0))
    if rule.kind == "daily":
        return RateLimited(msg, _seconds_until(now, 0), daily=True)
    if rule.kind == "quiet":
        return RateLimited(msg, _seconds_until(now, 8))
    if rule.kind == "retry":
        return Retryable(msg)
    if rule.kind == "auth":
        return AuthExpired(msg)
    if rule.kind == "ambiguous":
        return Ambiguous(msg)
    return Permanent(msg)


# --- quiet hours -------------------------------------------------------------------------------------


def parse_quiet_hours(value: str | None, *, key: str) -> tuple[time, time] | None:
    """``"22:00-08:00"`` → (22:00, 08:00); empty/``"off"`` → None."""
    if not value or str(value).strip().lower() in ("off", "none", ""):
        return None
    try:
        start_s, end_s = str(value).split("-")
        start, end = time.fromisoformat(start_s.strip()), time.fromisoformat(end_s.strip())
    except ValueError:
        raise ConfigError(f"channels.toml: {key} must look like \"22:00-08:00\"") from None
    return start, end


def quiet_wait(now: datetime, window: tuple[time, time] | None) -> float | None:
    """Seconds until the quiet window ends, or None when ``now`` is outside it (Asia/Shanghai)."""
    if window is None:
        return None
    start, end = window
    local = now.astimezone(SHANGHAI)
    t = local.time()
    inside = (start <= t < end) if start < end else (t >= start or t < end)
    if not inside:
        return None
    return _seconds_until(now, end.hour, end.minute)


def _truthy(value: Any) -> bool:
    return str(value).strip().lower() in ("true", "1", "yes", "是") if value is not None else False


# --- the adapter ----------------------------------------------------------------------------------------

#: recipient states: final ones never go out again
PENDING, SENDING, SENT, UNKNOWN = "pending", "sending", "sent", "unknown"
DELIVERED, UNDELIVERED, REJECTED, SKIPPED = "delivered", "undelivered", "rejected", "skipped"
_AWAITING_REPORT = (SENT, UNKNOWN, SENDING)


class _BudgetSpent(Retryable):
    """Internal marker: the per-call time budget ran out (not a platform error)."""


@dataclass
class _Batch:
    """Up to 200 recipient rows, still encrypted: the coordinating thread decrypts and re-validates them."""

    rows: list[tuple[int, bytes]]  # (sms_recipients.id, phone_enc)
    numbers: dict[str, int] = field(default_factory=dict)  # E.164 → row id, filled by ``_open``
    invalid: list[int] = field(default_factory=list)  # rows whose number failed re-validation


@dataclass
class _BatchResult:
    batch: _Batch
    statuses: list[dict[str, Any]] | None = None  # the answer's SendStatusSet, as the API's JSON objects
    error: ChannelError | None = None


#: one per-number result: (state, code, serial_no, sms_recipients.id), the ``_write_results`` parameter order
_Result = tuple[str, str, str | None, int]

_T_RECIPIENTS: Table = SmsRecipientRow.__table__  # type: ignore[assignment]

# The fan-out's three per-wave statements, built once (Core, bound parameters): building them
# anew each wave cost more CPU than SQLite spent running them.
#: the next ``n`` pending rows of delivery ``did`` after row ``after``, with the opt-out as a flag
#: (no datetime to convert per row); PostgreSQL: two senders of one delivery never claim the
#: same rows (SQLite: BEGIN IMMEDIATE holds the write lock)
_CLAIM = (select(SmsRecipientRow.id, SubscriberRow.phone_enc, SubscriberRow.opted_out_at.is_not(None))
          .join(SubscriberRow, SubscriberRow.id == SmsRecipientRow.subscriber_id)
          .where(SmsRecipientRow.delivery_id == bindparam("did"), SmsRecipientRow.state == PENDING,
                 SmsRecipientRow.id > bindparam("after"))
          .order_by(SmsRecipientRow.id).limit(bindparam("n"))
          .with_for_update(skip_locked=True, of=SmsRecipientRow))
#: an opted-out subscriber's row (executemany over ``rid``)
_SKIP = (update(_T_RECIPIENTS).where(_T_RECIPIENTS.c.id == bindparam("rid"))
         .values(state=SKIPPED, code="OptedOut", updated_at=bindparam("now")))
#: the claimed rows: the pending ones of delivery ``did`` in (``first``, ``after``]
_MARK_SENDING = (update(_T_RECIPIENTS)
                 .where(_T_RECIPIENTS.c.delivery_id == bindparam("did"), _T_RECIPIENTS.c.state == PENDING,
                        _T_RECIPIENTS.c.id > bindparam("first"), _T_RECIPIENTS.c.id <= bindparam("after"))
                 .values(state=SENDING, updated_at=bindparam("now")))


def _write_results(s: Session, values: list[_Result], now: datetime) -> None:
    """Per-number results as one DBAPI ``executemany`` by primary key, all stamped ``now``, only on ``sending`` rows.

    The fan-out's hottest write: SQLAlchemy's per-row parameter processing cost more
    than SQLite itself, so the timestamp is bound once through the column's own type
    and the rows go to the driver as plain tuples (SQLite ``?`` / psycopg ``%s``).
    """
    if not values:
        return
    conn = s.connection()
    dialect = conn.dialect
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    proc = _T_RECIPIENTS.c.updated_at.type.dialect_impl(dialect).bind_processor(dialect)
    stamp = proc(now) if proc else now
    # conditional on the row still being ``sending`` (issue 18): a delivery report pulled by another
    # delivery's poll may have marked the number delivered while this write waited for the database;
    # an unconditional write would put it back to ``sent`` and the report, handed out once, is gone
    conn.exec_driver_sql(f"UPDATE sms_recipients SET state={mark}, code={mark}, serial_no={mark}, "  # noqa: S608
                         f"updated_at={mark} WHERE id={mark} AND state='{SENDING}'",
                         [(st, cd, sn, stamp, rid) for st, cd, sn, rid in values])


class SmsAccount(TencentAccount):
    """``[accounts.*]`` of the Tencent Cloud SMS application."""

    sdk_app_id: str = Field(pattern=r"^[0-9]+$")
    batch_size: int = Field(default=MAX_BATCH, ge=1, le=MAX_BATCH)
    concurrency: int = Field(default=4, ge=1)
    quiet_hours: str = Field(default="22:00-08:00", pattern=r"^\d{2}:\d{2}-\d{2}:\d{2}$")
    send_budget_seconds: float = Field(default=120, gt=0)
    receipt_pages: int = Field(default=20, ge=1)
    receipt_timeout_hours: float = Field(default=48, gt=0)
    #: records to the same subscribers within this window go as one digest SMS (hub.audience.digest)
    digest_window: str = Field(default="30m", pattern=r"^\s*(?i:off|0|\d+(\.\d+)?\s*[smh]?)\s*$")


class SmsChannel(ChannelBase):
    """The ``sms`` channel (see the module docstring)."""

    name: ClassVar[str] = "sms"
    idempotent_upsert: ClassVar[bool] = False
    can_lookup: ClassVar[bool] = True
    rendition_kind: ClassVar[str] = "sms"
    label: ClassVar[str] = "短信"
    links: ClassVar[LinkUse] = LinkUse.TEMPLATE
    account_model: ClassVar[type[AccountConfig]] = SmsAccount
    sandbox: ClassVar[str | None] = "hub.sandbox.tencent"
    overridable: ClassVar[bool] = True
    callbacks: ClassVar[bool] = True  # pushed delivery reports (handle_sms_callback)

    def __init__(self, config: HubConfig, settings: Settings, *, session_factory: SessionFactory | None = None,
                 clock: Any = None) -> None:
        self.config, self.settings = config, settings
        self._sessions = session_factory
        self.clock = clock or utcnow
        self._local = threading.local()

    # --- configuration ------------------------------------------------------------------------------

    def _account(self, name: str) -> Account:
        account = self.config.accounts.get(name)
        if account is None or account.channel != "sms":
            raise ConfigError(f"channels.toml: no sms account {name!r}")
        return account

    def _client(self, account_name: str) -> Any:
        clients: dict[str, Any] = self._local.__dict__.setdefault("clients", {})
        if account_name not in clients:
            clients[account_name] = make_client(SmsClient, self._account(account_name), account_name)
        return clients[account_name]

    def _audience(self, target: Target) -> dict[str, Any]:
        audience = target.params.get("audience")
        if audience is None and target.name in self.config.targets:
            audience = self.config.targets[target.name].audience
        return dict(audience or {})

    # --- send -----------------------------------------------------------------------------------------

    @typed_errors("sms")
    def send(self, rendition: Rendition, target: Target, key: str) -> Receipt:
        account = self._account(target.account)
        batch_size = int(account.get("batch_size", MAX_BATCH))
        if not 1 <= batch_size <= MAX_BATCH:
            raise ConfigError(f"channels.toml: accounts.{target.account}.batch_size must be 1..{MAX_BATCH}")
        concurrency = int(account.get("concurrency", 4))
        if not 1 <= concurrency <= MAX_CONCURRENCY:
            raise ConfigError(f"channels.toml: accounts.{target.account}.concurrency must be 1..{MAX_CONCURRENCY}")
        params = [str(p) for p in rendition.facts.get("params", [])]
        sign = str(rendition.facts.get("sign_name") or self.config.render.sms.signature)
        template_id = str(rendition.facts.get("template_id") or self.config.render.sms.template_id)
        if not params:
            raise Permanent("sms: the rendition carries no template parameters (facts.params)")
        audience = self._audience(target)
        now = self.clock()
        with scope(self._sessions) as s:
            delivery = s.scalar(select(DeliveryRow).where(DeliveryRow.idempotency_key == key))
            if delivery is None:
                raise Permanent("sms: no delivery row for this key")
            delivery_id = delivery.id
            correcting = delivery.purpose == "correct"
            publishing = delivery.purpose == "publish"
            region, urgent_record = self._record_facts(s, rendition)
        sms_cfg = self.config.render.sms
        if correcting and sms_cfg.correct_template_id:
            # 更正: the same parameters (office, short link) in the approved correction notice, so a
            # citizen reads that a notice they had was corrected, not that something new was published
            template_id = sms_cfg.correct_template_id
        urgent = _truthy(audience.get("urgent")) or _truthy(target.params.get("urgent")) or urgent_record
        if not urgent:
            window = parse_quiet_hours(account.get("quiet_hours", "22:00-08:00"),
                                       key=f"accounts.{target.account}.quiet_hours")
            wait_s = quiet_wait(now, window)
            if wait_s is not None:
                raise RateLimited(f"sms: quiet hours ({account.get('quiet_hours', '22:00-08:00')} Asia/Shanghai); "
                                  "non-urgent SMS wait until they end", wait_s)
        if publishing and not urgent:  # 汇总短信: covered by a digest of the same audience, or alone
            from hub.audience import digest

            handed = digest.hand_off(self._sessions, delivery_id, account=target.account, now=now)
            if handed is not None:
                return handed
        with scope(self._sessions) as s:
            self._expand(s, delivery_id, target, audience, region, now)
            # rows left ``sending`` by a crashed attempt may have gone out: never resend them blindly
            s.execute(update(SmsRecipientRow).where(SmsRecipientRow.delivery_id == delivery_id,
                                                    SmsRecipientRow.state == SENDING)
                      .values(state=UNKNOWN, code="CrashedWhileSending", updated_at=now))
        request = {"SmsSdkAppId": str(account.get("sdk_app_id", "")), "SignName": sign,
                   "TemplateId": template_id, "TemplateParamSet": params, "SessionContext": key}
        budget = float(account.get("send_budget_seconds", 120))
        errors = self._fan_out(delivery_id, target.account, request, batch_size, concurrency, budget)
        self._apply_kept()
        return self._outcome(delivery_id, key, errors)

    @typed_errors("sms")
    def send_digest(self, target: Target, key: str) -> Receipt:
        """Send a digest delivery (``purpose="digest"``: several records as one SMS; ``hub.audience.digest``)."""
        from hub.audience import digest

        return digest.send(self, target, key)

    @typed_errors("sms")
    def withdraw(self, receipt: Receipt, target: Target, key: str) -> Receipt:
        """The withdrawal notice (its own approved template) to exactly the numbers that got the record.

        An SMS cannot be recalled. The recipients are the publication's numbers whose result was
        sent, delivered or unknown (they may have it); opt-outs since then are skipped by the
        same rules as any send. The per-recipient ledger of this step makes a re-run after an
        unknown outcome send to nobody twice. No quiet hours: a withdrawal corrects what people
        already read, like an urgent record.
        """
        from hub.channels.notices import withdrawal_notice
        from hub.renderers.service import get_rendition
        from hub.timeutil import to_local

        account = self._account(target.account)
        batch_size = int(account.get("batch_size", MAX_BATCH))
        concurrency = int(account.get("concurrency", 4))
        if not 1 <= batch_size <= MAX_BATCH or not 1 <= concurrency <= MAX_CONCURRENCY:
            raise ConfigError(f"channels.toml: accounts.{target.account}: batch_size/concurrency out of range")
        sms = self.config.render.sms
        if not sms.withdraw_template_id:
            raise ConfigError("channels.toml: render.sms.withdraw_template_id (the approved withdrawal notice) is not set")
        notice = withdrawal_notice(self._sessions, key)
        now = self.clock()
        with scope(self._sessions) as s:
            published = get_rendition(s, notice.version, "sms")
            marker = f"sms-audience:{notice.delivery_id}"
            if s.get(ChannelStateRow, marker) is None and notice.origin_id is not None:
                from hub.audience.digest import recipients_of  # a record that went out in a digest

                got = select(literal(notice.delivery_id), SmsRecipientRow.subscriber_id, literal(PENDING),
                             literal(now, type_=UtcDateTime())).where(
                    SmsRecipientRow.delivery_id == recipients_of(s, notice.origin_id),
                    SmsRecipientRow.state.in_([SENT, DELIVERED, UNKNOWN])).order_by(SmsRecipientRow.subscriber_id)
                s.execute(insert(SmsRecipientRow).from_select(
                    ["delivery_id", "subscriber_id", "state", "updated_at"], got))
                count = s.scalar(select(func.count()).select_from(SmsRecipientRow)
                                 .where(SmsRecipientRow.delivery_id == notice.delivery_id)) or 0
                s.add(ChannelStateRow(key=marker, value={"recipients": int(count), "target": target.name,
                                                         "withdraws": notice.origin_id, "at": now.isoformat()},
                                      expires_at=None, updated_at=now))
            s.execute(update(SmsRecipientRow).where(SmsRecipientRow.delivery_id == notice.delivery_id,
                                                    SmsRecipientRow.state == SENDING)
                      .values(state=UNKNOWN, code="CrashedWhileSending", updated_at=now))
        sent_on = receipt.accepted_at if receipt.accepted_at else notice.at
        day = to_local(sent_on)
        params = [str((published.facts.get("params") or [""])[0]), f"{day.month}月{day.day}日"]
        request = {"SmsSdkAppId": str(account.get("sdk_app_id", "")),
                   "SignName": str(published.facts.get("sign_name") or sms.signature),
                   "TemplateId": sms.withdraw_template_id, "TemplateParamSet": params, "SessionContext": key}
        budget = float(account.get("send_budget_seconds", 120))
        errors = self._fan_out(notice.delivery_id, target.account, request, batch_size, concurrency, budget)
        return self._outcome(notice.delivery_id, key, errors)

    def _record_facts(self, s: Session, rendition: Rendition) -> tuple[str | None, bool]:
        """The record's region (for ``same_region`` audiences) and its urgent flag."""
        from hub.store import repo

        row, record = repo.get_version(s, rendition.version)
        return (record.region or row.region), _truthy(record.extra.get("urgent"))

    def _expand(self, s: Session, delivery_id: int, target: Target, audience: dict[str, Any],
                region: str | None, now: datetime) -> None:
        """Turn the audience into pending recipient rows, once per delivery (later subscribers wait for the next)."""
        marker = f"sms-audience:{delivery_id}"
        if s.get(ChannelStateRow, marker) is not None:
            return
        cond: list[ColumnElement[bool]] = [SubscriberRow.opted_out_at.is_(None)]
        wanted = audience.get("region")
        if _truthy(audience.get("same_region")):
            if not region:
                raise Permanent(f"sms: target {target.name} sends to the record's region, but the record has none")
            wanted = region
        if wanted:
            cond.append(or_(SubscriberRow.region == wanted, SubscriberRow.region.like(f"{wanted}/%")))
        level = audience.get("level")
        if level == "village":
            cond.append(SubscriberRow.level == "village")
        topics = {str(t) for t in audience.get("topics", [])}
        if not topics:
            stmt = insert(SmsRecipientRow).from_select(
                ["delivery_id", "subscriber_id", "state", "updated_at"],
                select(literal(delivery_id), SubscriberRow.id, literal(PENDING),
                       literal(now, type_=UtcDateTime())).where(*cond).order_by(SubscriberRow.id))
            s.execute(stmt)
        else:
            last = 0
            while True:
                chunk = s.execute(select(SubscriberRow.id, SubscriberRow.topics).where(*cond, SubscriberRow.id > last)
                                  .order_by(SubscriberRow.id).limit(5000)).all()
                if not chunk:
                    break
                last = chunk[-1][0]
                ids = [sid for sid, subs in chunk if not subs or topics & set(subs)]
                if ids:
                    s.execute(insert(SmsRecipientRow), [
                        {"delivery_id": delivery_id, "subscriber_id": sid, "state": PENDING, "updated_at": now}
                        for sid in ids])
        count = s.scalar(select(func.count()).select_from(SmsRecipientRow)
                         .where(SmsRecipientRow.delivery_id == delivery_id)) or 0
        s.add(ChannelStateRow(key=marker, value={"recipients": int(count), "target": target.name,
                                                 "at": now.isoformat()}, expires_at=None, updated_at=now))

    def _step(self, delivery_id: int, done: list[_BatchResult], after: int, size: int,
              want: int) -> tuple[list[_Batch], int]:
        """One short transaction: record finished batches, then take up to ``want`` new batches of ≤ ``size``.

        New rows are those still ``pending`` after row id ``after`` (so a number put back
        to pending by a frequency limit waits for the next ``send``); they become
        ``sending`` before any request leaves; opted-out subscribers become ``skipped``.
        """
        now = self.clock()
        values = [v for result in done for v in self._result_values(result)]
        with scope(self._sessions) as s:
            if values:
                _write_results(s, values, now)
            if want <= 0:
                return [], after
            conn = s.connection()
            rows = conn.execute(_CLAIM, {"did": delivery_id, "after": after, "n": size * want}).tuples().all()
            if not rows:
                return [], after
            first, after = after, rows[-1][0]
            skipped = [rid for rid, _, opted_out in rows if opted_out]
            live = [(rid, enc) for rid, enc, opted_out in rows if not opted_out]
            if skipped:
                conn.execute(_SKIP, [{"rid": rid, "now": now} for rid in skipped])
            # exactly the rows just read: the pending ones of this delivery in (first, after] (the claim
            # holds the write lock / row locks, so nothing changed in between)
            conn.execute(_MARK_SENDING, {"did": delivery_id, "first": first, "after": after, "now": now})
        return [_Batch(live[i:i + size]) for i in range(0, len(live), size)], after

    @staticmethod
    def _open(batches: Sequence[_Batch]) -> None:
        """Decrypt and re-validate the numbers of a wave of batches (F18), in the calling thread.

        Done by the coordinating thread on purpose: it holds the GIL while it works,
        whereas CPU work in the pool threads makes every database call of the
        coordinator wait for the GIL again and again (a convoy that halved throughput).
        For the same reason the whole wave is decrypted in one ``decrypt_many``: every
        call into AES lets go of the GIL, and getting it back from busy pool threads
        can take a switch interval (5 ms) each time. All or nothing: a ``ConfigError``
        (wrong key) leaves every batch of the wave unopened.
        """
        refused: list[str] = []
        plain = iter(get_vault().decrypt_many([enc for batch in batches for _, enc in batch.rows]))
        for batch in batches:
            for rid, _ in batch.rows:
                e164 = next(plain)
                if valid_at_send(e164) and e164 not in batch.numbers:
                    batch.numbers[e164] = rid
                else:
                    batch.invalid.append(rid)
                    refused.append(redact.mask_phone(e164))
        if refused:
            log.warning("sms: %d number(s) failed re-validation at send and are not sent: %s",
                        len(refused), ", ".join(refused[:20]))

    def _call(self, account_name: str, request: dict[str, Any], batch: _Batch) -> _BatchResult:
        """Send one opened batch (runs in a pool thread); never raises.

        Through the SDK client's ``call_json`` (the same TC3 signing, HTTP session,
        status and error-answer checks as ``SendSms``) rather than the generated
        models: building 200 ``SendStatus`` objects per answer, each checking its
        fields for unknown keys, was about a fifth of the call's CPU, and the
        statuses are read as the API's JSON objects anyway.
        """
        try:
            if not batch.numbers:
                return _BatchResult(batch, statuses=[])
            answer = self._client(account_name).call_json("SendSms", {**request,
                                                                      "PhoneNumberSet": list(batch.numbers)})
            body = answer.get("Response") if isinstance(answer, dict) else None
            raw = body.get("SendStatusSet") if isinstance(body, dict) else None
            if not isinstance(raw, list) or not all(isinstance(st, dict) for st in raw):
                # F12: a body without the success marker
                return _BatchResult(batch, error=Ambiguous("sms: an answer without SendStatusSet"))
            return _BatchResult(batch, statuses=raw)
        except TencentCloudSDKException as exc:
            if not is_api_error(exc):
                return _BatchResult(batch, error=transport_error("sms", exc, what="SendSms"))
            return _BatchResult(batch, error=request_error(str(exc.get_code()), sdk_error_text(exc), self.clock()))
        except ConfigError as exc:  # a secret or the phone key is missing: the account needs a person
            return _BatchResult(batch, error=AuthExpired(f"sms: configuration needs a person: {exc}"))
        except Exception as exc:  # requests errors while reading the body, unparsable JSON: F1/F12
            return _BatchResult(batch, error=transport_error("sms", exc, what="SendSms"))

    def _fan_out(self, delivery_id: int, account_name: str, request: dict[str, Any], size: int,
                 concurrency: int, budget: float = 120.0) -> list[ChannelError]:
        """Send every pending number, at most ``concurrency`` batches in flight, for at most ``budget`` seconds.

        The budget keeps one ``send`` shorter than the engine's lease and actor time
        limit: what is left stays ``pending`` and ``send`` raises ``Retryable(retry_after=0)``
        so the engine continues at once (a fan-out is a series of bounded calls).
        """
        errors: list[ChannelError] = []
        deadline = monotonic() + budget
        stop = False
        after = 0
        exhausted = False
        with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="sms") as pool:
            running: set[Future[_BatchResult]] = set()
            finished: list[_BatchResult] = []
            while True:
                if not stop and monotonic() >= deadline:
                    stop = True
                    errors.append(_BudgetSpent("sms: the send budget is spent; continuing in the next call", 0.0))
                want = 0 if (stop or exhausted) else concurrency - len(running)
                if finished or want > 0:
                    batches, after = self._step(delivery_id, finished, after, size, want)
                    finished = []
                    if want > 0 and not batches:
                        exhausted = True
                    try:
                        if batches:
                            self._open(batches)
                    except ConfigError as exc:  # the phone key is missing or wrong: a person must fix it
                        failed = [_BatchResult(b, error=AuthExpired(f"sms: configuration needs a person: {exc}"))
                                  for b in batches]
                        finished.extend(failed)
                        errors.extend(r.error for r in failed if r.error is not None)
                        stop = True
                        batches = []
                    for b in batches:
                        running.add(pool.submit(self._call, account_name, request, b))
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

    @staticmethod
    def _result_values(result: _BatchResult) -> list[_Result]:
        """The per-number results of one finished batch, for ``_write_results`` (plain tuples: 100,000 a run)."""
        batch = result.batch
        values: list[_Result] = [(REJECTED, "InvalidAtSend", None, rid) for rid in batch.invalid]
        if result.statuses is None:
            err = result.error
            if batch.numbers:
                targets = list(batch.numbers.values())
            else:  # failed before decryption finished: nothing can have gone out
                done = set(batch.invalid)
                targets = [rid for rid, _ in batch.rows if rid not in done]
            state = UNKNOWN if isinstance(err, Ambiguous) else PENDING
            code = type(err).__name__ if err is not None else "NoAnswer"
            values.extend((state, code, None, rid) for rid in targets)
            return values
        numbers = batch.numbers
        seen: set[int] = set()
        for st in result.statuses:
            number = st.get("PhoneNumber")
            # the API echoes the E.164 numbers it was sent; anything else goes through _e164
            rid = numbers.get(number) if isinstance(number, str) else None
            if rid is None:
                rid = numbers.get(_e164(str(number)))
            if rid is None or rid in seen:
                continue
            seen.add(rid)
            code = str(st.get("Code") or "")
            if code == "Ok":  # the common case, without the table's lookup chain
                values.append((SENT, code, str(st.get("SerialNo") or "") or None, rid))
                continue
            kind = rule_for(code).kind
            if kind == "ok":
                state, serial = SENT, str(st.get("SerialNo") or "") or None
            elif kind in ("reject", "permanent", "auth"):
                state, serial = REJECTED, None
            elif kind == "ambiguous":
                state, serial = UNKNOWN, None
            else:
                state, serial = PENDING, None
            values.append((state, code[:100], serial, rid))
        # a number the answer does not mention may or may not have gone out
        values.extend((UNKNOWN, "MissingFromAnswer", None, rid) for rid in numbers.values() if rid not in seen)
        return values

    def _outcome(self, delivery_id: int, key: str, errors: Sequence[ChannelError]) -> Receipt:
        counts = self._counts(delivery_id)
        summary = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
        for kind in (AuthExpired, Permanent, Ambiguous):
            found = [e for e in errors if type(e) is kind]
            if found:
                raise kind(f"{found[0].message} (recipients: {summary})")
        if counts.get(PENDING):
            if any(isinstance(e, _BudgetSpent) for e in errors) and not any(
                    isinstance(e, RateLimited) for e in errors):
                # numbers were left untried: continue at once (held ones are simply held again)
                raise Retryable(f"sms: the send budget is spent; continuing (recipients: {summary})", 0.0)
            holds = self._pending_holds(delivery_id)
            limited = [e for e in errors if isinstance(e, RateLimited)]
            if limited or holds:
                waits = [e.retry_after for e in limited if e.retry_after] + holds
                daily = any(e.daily for e in limited)
                why = limited[0].message if limited else f"sms: {counts[PENDING]} number(s) held by a frequency limit"
                if self._pending_codes(delivery_id) & DAILY_PER_PHONE:
                    why += " (PhoneNumberDailyLimit: the per-phone daily limit; they go after midnight)"
                raise RateLimited(f"{why} (recipients: {summary})", min(waits) if waits else None, daily=daily)
            real = [e for e in errors if not isinstance(e, _BudgetSpent)]
            first = real[0].message if real else "numbers left to send"
            raise Retryable(f"{first} (recipients: {summary})")
        sent = sum(counts.get(k, 0) for k in (SENT, DELIVERED, UNDELIVERED, UNKNOWN))
        if sent == 0 and counts.get(REJECTED):
            raise Permanent(f"sms: every number was refused (recipients: {summary})")
        return Receipt(provider_ref=key, accepted_at=self.clock(), confirmed=sent == 0,
                       raw={"delivery_id": delivery_id, "recipients": dict(counts)})

    def _pending_codes(self, delivery_id: int) -> set[str]:
        with scope(self._sessions) as s:
            return {str(c) for c in s.scalars(select(SmsRecipientRow.code).where(
                SmsRecipientRow.delivery_id == delivery_id, SmsRecipientRow.state == PENDING).distinct()) if c}

    def _pending_holds(self, delivery_id: int) -> list[float]:
        """retry_after of the frequency limits that left numbers pending (codes are kept on the rows)."""
        with scope(self._sessions) as s:
            codes = s.scalars(select(SmsRecipientRow.code).where(SmsRecipientRow.delivery_id == delivery_id,
                                                                 SmsRecipientRow.state == PENDING)
                              .distinct()).all()
        now = self.clock()
        out: list[float] = []
        for code in codes:
            if code and rule_for(code).kind == "hold":
                out.append(rule_for(code).retry_after or _seconds_until(now, 0))
        return out

    def _counts(self, delivery_id: int) -> Counter[str]:
        with scope(self._sessions) as s:
            return recipient_counts(s, delivery_id)

    # --- lookup and status ---------------------------------------------------------------------------

    @typed_errors("sms")
    def lookup(self, target: Target, key: str) -> Receipt | None:
        """A receipt when every number of the delivery has a result; None while any is still pending.

        After an ambiguous batch the engine asks this: the numbers of that batch are
        ``unknown`` (never resent), so only genuinely pending numbers make it send again.
        """
        from hub.audience.digest import member_lookup

        covered = member_lookup(self._sessions, key, self.clock())  # handed to a digest: found there
        if covered is not None:
            return covered
        with scope(self._sessions) as s:
            delivery_id = s.scalar(select(DeliveryRow.id).where(DeliveryRow.idempotency_key == key))
            if delivery_id is None:
                return None
            if s.get(ChannelStateRow, f"sms-audience:{delivery_id}") is None:
                return None
        self._settle_unknown(target.account, delivery_id, key)
        with scope(self._sessions) as s:
            counts = recipient_counts(s, delivery_id)
        if counts.get(PENDING) or counts.get(SENDING):
            return None
        return Receipt(provider_ref=key, accepted_at=self.clock(), confirmed=False,
                       raw={"delivery_id": delivery_id, "recipients": dict(counts)})

    def _report_window(self, account: Account) -> timedelta:
        """How long after a send a number may go without a report before the platform is asked by number."""
        return timedelta(minutes=float(account.get("report_lookup_minutes", 10)))

    def _settle_unknown(self, account_name: str, delivery_id: int, key: str) -> None:
        """Ask the platform about the ``unknown`` numbers of a delivery (issue 18, finding 3).

        A report found by number says the SMS went out (delivered or not). A number
        with no report ``report_lookup_minutes`` after its ambiguous attempt is one
        the platform does not have: it goes back to ``pending`` and is sent again (a
        number refused by its daily limit waits for the reset like any other). Younger
        unknown numbers make the lookup inconclusive: ``Ambiguous``, asked again later,
        never a resend on a guess.
        """
        account = self._account(account_name)
        window = self._report_window(account)
        rows = self._awaiting(delivery_id, (UNKNOWN,), older_than=None, limit=None)
        if not rows:
            return
        self._ask_by_number(account_name, delivery_id, rows)
        now = self.clock()
        with scope(self._sessions) as s:
            left = s.execute(select(SmsRecipientRow.id, SmsRecipientRow.updated_at).where(
                SmsRecipientRow.delivery_id == delivery_id, SmsRecipientRow.state == UNKNOWN)).all()
            absent = [rid for rid, at in left if at <= now - window]
            if absent:
                s.execute(update(SmsRecipientRow).where(SmsRecipientRow.id.in_(absent),
                                                        SmsRecipientRow.state == UNKNOWN)
                          .values(state=PENDING, code="NotAtPlatform", updated_at=now))
        if len(absent) < len(left):
            raise Ambiguous(f"sms: {len(left) - len(absent)} number(s) of an ambiguous send have no report yet; "
                            "asking the platform again later")

    def _awaiting(self, delivery_id: int, states: tuple[str, ...], *, older_than: datetime | None,
                  limit: int | None) -> list[tuple[int, bytes, str | None]]:
        """(row id, encrypted number, serial) of the delivery's rows in ``states`` (oldest first)."""
        with scope(self._sessions) as s:
            q = (select(SmsRecipientRow.id, SubscriberRow.phone_enc, SmsRecipientRow.serial_no)
                 .join(SubscriberRow, SubscriberRow.id == SmsRecipientRow.subscriber_id)
                 .where(SmsRecipientRow.delivery_id == delivery_id, SmsRecipientRow.state.in_(states))
                 .order_by(SmsRecipientRow.updated_at, SmsRecipientRow.id))
            if older_than is not None:
                q = q.where(SmsRecipientRow.updated_at <= older_than)
            if limit is not None:
                q = q.limit(limit)
            return [(int(rid), bytes(enc), serial) for rid, enc, serial in s.execute(q).all()]

    def _ask_by_number(self, account_name: str, delivery_id: int, rows: Sequence[tuple[int, bytes, str | None]]) -> int:
        """PullSmsSendStatusByPhoneNumber for each number, over the delivery's send time range; applies what it finds.

        Why: PullSmsSendStatus hands each report out once, so a dropped or late
        answer loses it; this query is not consumed and covers that gap.
        """
        account = self._account(account_name)
        with scope(self._sessions) as s:
            marker = s.get(ChannelStateRow, f"sms-audience:{delivery_id}")
            started = (marker.value or {}).get("at") if marker is not None else None
        # the platform's time range is real time (``self.clock`` may be a test's or the quiet-hours clock)
        now = utcnow()
        begin = datetime.fromisoformat(str(started)) if started else now - timedelta(days=1)
        begin_ts = min(max(int(begin.timestamp()) - 60, int(now.timestamp()) - 7 * 86400 + 60),
                       int(now.timestamp()))
        numbers = get_vault().decrypt_many([enc for _, enc, _ in rows])
        reports: list[Report] = []
        for number in dict.fromkeys(numbers):
            req = models.PullSmsSendStatusByPhoneNumberRequest()
            req._deserialize({"BeginTime": begin_ts, "EndTime": int(now.timestamp()), "Offset": 0,
                              "Limit": PULL_LIMIT, "PhoneNumber": number,
                              "SmsSdkAppId": str(account.get("sdk_app_id", ""))})
            try:
                resp = self._client(account_name).PullSmsSendStatusByPhoneNumber(req)
            except TencentCloudSDKException as exc:
                if not is_api_error(exc):
                    err = transport_error("sms", exc, what="PullSmsSendStatusByPhoneNumber")
                    raise (Retryable(err.message) if isinstance(err, Ambiguous) else err) from None
                raise request_error(str(exc.get_code()), sdk_error_text(exc), self.clock()) from None
            except Exception as exc:
                raise Retryable(f"sms: PullSmsSendStatusByPhoneNumber: unreadable answer ({type(exc).__name__})") \
                    from None
            reports.extend(_report_of(it) for it in resp.PullSmsSendStatusSet or [])
        return self._apply_pulled(reports, keep=False) if reports else 0

    def _apply_kept(self) -> int:
        """Apply reports kept because their row had no serial yet (best effort: a later poll tries again)."""
        try:
            with scope(self._sessions) as s:
                return apply_kept_reports(s, now=self.clock())
        except OperationalError:
            return 0

    def metrics(self, receipts: Sequence[Receipt], target: Target, *, now: datetime) -> dict[str, dict[str, int]]:
        """Delivered, failed (undelivered or refused) and opted-out numbers, from the per-number rows.

        ``provider_ref`` is the delivery's key; no platform call (the reports already came in).
        """
        refs = [r.provider_ref for r in receipts]
        with scope(self._sessions) as s:
            rows = s.execute(select(DeliveryRow.idempotency_key, SmsRecipientRow.state, func.count())
                             .join(SmsRecipientRow, SmsRecipientRow.delivery_id == DeliveryRow.id)
                             .where(DeliveryRow.idempotency_key.in_(refs))
                             .group_by(DeliveryRow.idempotency_key, SmsRecipientRow.state)).all()
        out: dict[str, dict[str, int]] = {ref: {"delivered": 0, "failed": 0, "opted_out": 0} for ref in refs}
        for ref, state, n in rows:
            metric = {"delivered": "delivered", "undelivered": "failed", "rejected": "failed",
                      "skipped": "opted_out"}.get(str(state))
            if metric is not None:
                out[str(ref)][metric] += int(n)
        return out

    @typed_errors("sms")
    def status(self, receipt: Receipt, target: Target) -> DeliveryStatus:
        """Pull reports (bounded pages), then DELIVERED when every sent number has a final report.

        Partial: ``undelivered`` numbers do not fail the delivery when at least one
        number was delivered (they are counted per number in ``sms_recipients``);
        FAILED only when every sent number came back undelivered. A number with no
        report after ``receipt_timeout_hours`` (account, default 48) stops holding the
        delivery open.
        """
        from hub.audience import digest

        if digest.is_member_receipt(receipt):  # a record covered by a digest SMS follows the digest
            return digest.member_status(self, receipt, target)
        account = self._account(target.account)
        self.pull_reports(target.account, pages=int(account.get("receipt_pages", 20)))
        self._apply_kept()
        timeout = timedelta(hours=float(account.get("receipt_timeout_hours", 48)))
        with scope(self._sessions) as s:
            delivery_id = s.scalar(select(DeliveryRow.id).where(DeliveryRow.idempotency_key == receipt.provider_ref))
            if delivery_id is None:
                raise Permanent("sms: the receipt names no delivery")
        # numbers still without a report after the window: ask the platform by number (bounded per poll)
        window = self._report_window(account)
        overdue = self._awaiting(delivery_id, _AWAITING_REPORT, older_than=self.clock() - window,
                                 limit=int(account.get("report_lookups_per_poll", 50)))
        if overdue:
            self._ask_by_number(target.account, delivery_id, overdue)
        now = self.clock()
        with scope(self._sessions) as s:
            counts = recipient_counts(s, delivery_id)
            recent = SmsRecipientRow.updated_at > now - timeout
            waiting = s.scalar(select(func.count()).select_from(SmsRecipientRow).where(
                SmsRecipientRow.delivery_id == delivery_id, SmsRecipientRow.state.in_(_AWAITING_REPORT),
                recent)) or 0
            late = s.scalar(select(func.count()).select_from(SmsRecipientRow).where(
                SmsRecipientRow.delivery_id == delivery_id, SmsRecipientRow.state.in_(_AWAITING_REPORT),
                recent, SmsRecipientRow.updated_at <= now - window)) or 0
        if late:
            # not "pending" as if all were well: the confirm step records this and the watchdog flags it
            raise Ambiguous(f"sms: {late} number(s) have no delivery report {window.total_seconds() / 60:.0f} min "
                            "after sending, even asked by number; needs attention")
        if waiting:
            return DeliveryStatus.PENDING
        if counts.get(DELIVERED):
            return DeliveryStatus.DELIVERED
        if counts.get(UNDELIVERED):
            return DeliveryStatus.FAILED
        sent = sum(counts.get(k, 0) for k in _AWAITING_REPORT)
        return DeliveryStatus.FAILED if sent else DeliveryStatus.DELIVERED

    def _apply_pulled(self, reports: list[Report], *, keep: bool = True) -> int:
        """Record reports just pulled, retrying while the database refuses (bounded: a minute).

        The platform hands each report out once (PullSmsSendStatus removes what it returns),
        so raising here would lose them and leave the delivery ``submitted`` until
        ``receipt_timeout_hours``; a locked or restarting database is waited out instead.
        """
        deadline, pause = monotonic() + APPLY_RETRY_SECONDS, 0.05
        while True:
            try:
                with scope(self._sessions) as s:
                    return apply_reports(s, reports, now=self.clock(), keep=keep)
            except OperationalError:
                if monotonic() >= deadline:
                    log.error("sms: %d pulled delivery reports could not be recorded (database unavailable); "
                              "their numbers stay awaiting a report until receipt_timeout_hours", len(reports))
                    raise
                sleep(pause)
                pause = min(pause * 2, 1.0)

    def pull_reports(self, account_name: str, *, pages: int = 20) -> int:
        """Pull up to ``pages`` × 100 delivery reports and apply them; returns how many matched a row."""
        account = self._account(account_name)
        applied = 0
        for _ in range(max(1, pages)):
            req = models.PullSmsSendStatusRequest()
            req._deserialize({"Limit": PULL_LIMIT, "SmsSdkAppId": str(account.get("sdk_app_id", ""))})
            try:
                resp = self._client(account_name).PullSmsSendStatus(req)
            except TencentCloudSDKException as exc:
                if not is_api_error(exc):
                    err = transport_error("sms", exc, what="PullSmsSendStatus")
                    # pulling reports changes nothing we sent: a lost answer is simply asked again
                    raise (Retryable(err.message) if isinstance(err, Ambiguous) else err) from None
                raise request_error(str(exc.get_code()), sdk_error_text(exc), self.clock()) from None
            except Exception as exc:
                raise Retryable(f"sms: PullSmsSendStatus: unreadable answer ({type(exc).__name__})") from None
            items = resp.PullSmsSendStatusSet or []
            applied += self._apply_pulled([_report_of(it) for it in items])
            if len(items) < PULL_LIMIT:
                break
        return applied


#: the codes of Tencent's per-phone daily limits (10 SMS a number a day by default)
DAILY_PER_PHONE = frozenset({"LimitExceeded.PhoneNumberDailyLimit", "LimitExceeded.PhoneNumberSameContentDailyLimit"})


def configured_daily_limit() -> int:
    """The smallest per-phone daily limit of the configured SMS accounts (Tencent's default: 10)."""
    from hub.config import get_config

    limits = [int(a.get("daily_limit_per_phone", 10)) for a in get_config().accounts.values()
              if a.channel == SmsChannel.name]
    return min(limits) if limits else 10


def numbers_at_daily_limit(session: Session, *, limit: int = 10, now: datetime | None = None) -> int:
    """How many subscribers already got ``limit`` SMS today (Beijing day): a new SMS waits for midnight for them.

    Counted from the hub's own sends (``sms_recipients`` sent/delivered/undelivered/unknown
    today), so the office can see it before publishing; Tencent's default is 10 a day.
    """
    now = now or utcnow()
    local = now.astimezone(SHANGHAI)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    per = (select(SmsRecipientRow.subscriber_id)
           .where(SmsRecipientRow.state.in_((SENT, DELIVERED, UNDELIVERED, UNKNOWN)),
                  SmsRecipientRow.updated_at >= midnight)
           .group_by(SmsRecipientRow.subscriber_id).having(func.count() >= limit).subquery())
    return int(session.scalar(select(func.count()).select_from(per)) or 0)


# --- reports (pull and callback) ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Report:
    serial_no: str
    ok: bool
    description: str
    phone: str = ""
    session_context: str = ""


def _e164(number: str) -> str:
    n = number.strip()
    if n.startswith("+"):
        return n
    if n.startswith("86") and len(n) == 13:
        return "+" + n
    return "+86" + n if len(n) == 11 else n


def _report_of(item: Any) -> Report:
    """A ``PullSmsSendStatus`` model (either pull API) as a ``Report``."""
    return Report(serial_no=str(item.SerialNo or ""), ok=(item.ReportStatus == "SUCCESS"),
                  description=str(item.Description or item.ReportStatus or ""),
                  phone=str(item.PhoneNumber or ""), session_context=str(item.SessionContext or ""))


#: channel_state prefix of a report that arrived before its row knew its serial number
KEPT_PREFIX = "sms-report:"
#: how long such a report is kept (the by-number query reaches 7 days back; nothing older matters)
KEPT_DAYS = 7


def apply_reports(session: Session, reports: Iterable[Report], *, now: datetime | None = None,
                  keep: bool = True) -> int:
    """Set ``delivered``/``undelivered`` on the rows the reports name; returns how many rows changed.

    Joined on ``SerialNo``; a report for a number whose batch was ambiguous (no
    serial known) is joined on its SessionContext (the delivery key) and the
    number's HMAC, which is how an ``unknown`` row learns it did go out. A report
    that matches no row yet (its send's result write has not committed: the
    report queue is shared by every delivery) is kept in ``channel_state`` under
    ``sms-report:<serial>`` and applied by ``apply_kept_reports`` once the row
    has its serial (issue 18): the platform hands each report out only once.
    """
    now = now or utcnow()
    reports = [r for r in reports if r.serial_no or (r.session_context and r.phone)]
    if not reports:
        return 0
    changed = 0
    by_serial = {r.serial_no: r for r in reports if r.serial_no}
    open_states = (SENT, UNKNOWN, SENDING, PENDING)
    matched: set[str] = set()
    serials = list(by_serial)
    for i in range(0, len(serials), 500):
        rows = session.scalars(select(SmsRecipientRow).where(SmsRecipientRow.serial_no.in_(serials[i:i + 500]))).all()
        for row in rows:
            rep = by_serial[row.serial_no or ""]
            matched.add(rep.serial_no)
            if row.state in open_states:
                row.state, row.code, row.updated_at = (DELIVERED if rep.ok else UNDELIVERED), rep.description[:100], now
                changed += 1
    rest = [r for r in reports if r.serial_no not in matched and r.session_context and r.phone]
    if rest:
        vault = get_vault()
        for rep in rest:
            found = session.scalar(
                select(SmsRecipientRow)
                .join(DeliveryRow, DeliveryRow.id == SmsRecipientRow.delivery_id)
                .join(SubscriberRow, SubscriberRow.id == SmsRecipientRow.subscriber_id)
                .where(DeliveryRow.idempotency_key == rep.session_context,
                       SubscriberRow.phone_hash == vault.hash(_e164(rep.phone)),
                       SmsRecipientRow.state.in_(open_states)))
            if found is not None:
                found.state, found.code = (DELIVERED if rep.ok else UNDELIVERED), rep.description[:100]
                found.updated_at, found.serial_no = now, rep.serial_no or found.serial_no
                changed += 1
                matched.add(rep.serial_no)
    if keep:
        for rep in reports:
            if rep.serial_no and rep.serial_no not in matched:
                key = f"{KEPT_PREFIX}{rep.serial_no}"[:200]
                if session.get(ChannelStateRow, key) is None:
                    session.add(ChannelStateRow(key=key, value={"ok": rep.ok, "description": rep.description[:100]},
                                                expires_at=now + timedelta(days=KEPT_DAYS), updated_at=now))
    return changed


def apply_kept_reports(session: Session, *, now: datetime | None = None, limit: int = 5000) -> int:
    """Apply kept reports whose rows now carry their serial; drop those applied or expired."""
    now = now or utcnow()
    kept = session.scalars(select(ChannelStateRow).where(ChannelStateRow.key.like(f"{KEPT_PREFIX}%"))
                           .limit(limit)).all()
    if not kept:
        return 0
    by_serial = {row.key[len(KEPT_PREFIX):]: row for row in kept}
    changed = 0
    serials = list(by_serial)
    for i in range(0, len(serials), 500):
        rows = session.scalars(select(SmsRecipientRow).where(SmsRecipientRow.serial_no.in_(serials[i:i + 500]))).all()
        for row in rows:
            note = by_serial.pop(row.serial_no or "")
            value = dict(note.value or {})
            if row.state in (SENT, UNKNOWN, SENDING, PENDING):
                row.state = DELIVERED if value.get("ok") else UNDELIVERED
                row.code, row.updated_at = str(value.get("description") or "")[:100], now
                changed += 1
            session.delete(note)
    for note in by_serial.values():
        if note.expires_at is not None and note.expires_at <= now:
            session.delete(note)
    return changed


def handle_sms_callback(session: Session, payload: Any) -> int:
    """Apply a pushed delivery-report array (``[{"sid", "report_status", "errmsg", "mobile", ...}]``).

    For the web layer's callback route; the documented callback carries no
    signature, so the route must be a secret path and the data is advisory
    (a report only moves a row forward, never back). Reply ``{"result":0,"errmsg":"OK"}``.
    """
    if not isinstance(payload, list):
        return 0
    reports = []
    for item in payload:
        if not isinstance(item, dict) or not item.get("sid"):
            continue
        reports.append(Report(serial_no=str(item["sid"]), ok=str(item.get("report_status")) == "SUCCESS",
                              description=str(item.get("errmsg") or item.get("report_status") or ""),
                              phone=str(item.get("mobile") or "")))
    return apply_reports(session, reports)


def recipient_counts(session: Session, delivery_id: int) -> Counter[str]:
    """How many numbers of a delivery are in each state (for status pages and receipts)."""
    rows = session.execute(select(SmsRecipientRow.state, func.count()).where(SmsRecipientRow.delivery_id == delivery_id)
                           .group_by(SmsRecipientRow.state)).all()
    return Counter({state: int(n) for state, n in rows})


def mask(number: str) -> str:
    """``+86*******1234`` (the one masking rule lives in ``hub.redact``)."""
    return redact.mask_phone(number)
