"""SMS to subscribers through Tencent Cloud SMS (``tencentcloud-sdk-python-sms``): the channel and its vendor.

What lives here: the channel's declaration and account settings, the one-batch
``SendSms`` call, the vendor's answers read into recipient states (the code table
is ``hub.vendors.tencent.sms_codes``), and the report APIs (``PullSmsSendStatus``,
``PullSmsSendStatusByPhoneNumber``, the pushed callback). Everything about the
recipients — expansion once per delivery, the per-number ledger and its states,
the fan-out with its claims and budget, quiet hours, reports applied, the outcome
the delivery engine acts on — is ``hub.audience`` (``engine.Audience``), which a
second bulk channel reuses unchanged.

The template: the rendition's ``facts`` (``params``, ``template_id``,
``sign_name``); a correction uses ``render.sms.correct_template_id``, a withdrawal
``render.sms.withdraw_template_id``. Quiet hours: no non-urgent SMS between
``quiet_hours`` (account, default 22:00–08:00 Asia/Shanghai); a delivery is urgent
when its target says ``urgent = true`` (in ``audience`` or the target table) or the
record's ``extra.urgent`` is ``"true"``/``"1"``/``"是"``. Numbers leave the audience only inside the SDK request.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from datetime import datetime
from typing import Any, ClassVar

from pydantic import Field
from sqlalchemy import select
from sqlalchemy.orm import Session
from tencentcloud.sms.v20210111 import models

from hub.audience import digest
from hub.audience import recipients as rcp
from hub.audience.engine import Audience
from hub.audience.expand import audience_of, expand, expand_from, record_facts
from hub.audience.fanout import NumberResult, limits_of
from hub.audience.quiet import hold_if_quiet, truthy
from hub.audience.reports import Report, apply_reports, apply_with_retry
from hub.channels.base import AccountConfig, ChannelBase, LinkUse
from hub.channels.boundary import typed_errors
from hub.channels.sessions import SessionFactory, scope
from hub.config import Account, HubConfig
from hub.deliverables import DeliveryStatus, Receipt, Rendition, Target
from hub.errors import Ambiguous, ConfigError, Permanent, Retryable
from hub.settings import Settings
from hub.store.models import DeliveryRow
from hub.timeutil import utcnow
from hub.vendors.tencent import sms_codes
from hub.vendors.tencent.client import (
    SmsClient,
    TencentAccount,
    TencentCloudSDKException,
    is_api_error,
    make_client,
    sdk_error_text,
    transport_error,
)
from hub.vendors.tencent.sms_codes import CODES, request_error, rule_for

__all__ = ["CODES", "SmsAccount", "SmsChannel", "handle_sms_callback", "rule_for"]

#: the API's limit of numbers per SendSms
MAX_BATCH = 200
#: PullSmsSendStatus returns at most this many reports per call
PULL_LIMIT = 100
#: SendSms requests in flight at most (threads, one connection each): 16 hide a 50 ms round trip on a
#: 2-core box (bench/sms_fanout.py); far below the API's 3,000 requests/s, and a bound on sockets and threads
MAX_CONCURRENCY = 32
#: what a per-number code's rule means for the number
_STATE_OF_KIND = {"ok": rcp.SENT, "reject": rcp.REJECTED, "permanent": rcp.REJECTED, "auth": rcp.REJECTED,
                  "ambiguous": rcp.UNKNOWN}


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
    """The ``sms`` channel (see the module docstring); also the audience's ``BulkSender``."""

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
        self.audience = Audience(self, session_factory, lambda: self.clock())

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

    def request(self, account_name: str, sign: str, template_id: str, params: list[str]) -> dict[str, Any]:
        """The ``SendSms`` fields of one template message but the numbers (``SessionContext`` is the delivery key)."""
        return {"SmsSdkAppId": str(self._account(account_name).get("sdk_app_id", "")), "SignName": sign,
                "TemplateId": template_id, "TemplateParamSet": params}

    # --- the channel ----------------------------------------------------------------------------------

    @typed_errors("sms")
    def send(self, rendition: Rendition, target: Target, key: str) -> Receipt:
        account = self._account(target.account)
        limits = limits_of(self._account(target.account), target.account, MAX_BATCH, MAX_CONCURRENCY)
        params = [str(p) for p in rendition.facts.get("params", [])]
        sms = self.config.render.sms
        sign = str(rendition.facts.get("sign_name") or sms.signature)
        template_id = str(rendition.facts.get("template_id") or sms.template_id)
        if not params:
            raise Permanent("sms: the rendition carries no template parameters (facts.params)")
        audience = audience_of(self.config, target)
        now = self.clock()
        with scope(self._sessions) as s:
            delivery = s.scalar(select(DeliveryRow).where(DeliveryRow.idempotency_key == key))
            if delivery is None:
                raise Permanent("sms: no delivery row for this key")
            delivery_id, purpose = delivery.id, delivery.purpose
            region, urgent_record = record_facts(s, rendition.version)
        if purpose == "correct" and sms.correct_template_id:
            # 更正: the same parameters (office, short link) in the approved correction notice, so a
            # citizen reads that a notice they had was corrected, not that something new was published
            template_id = sms.correct_template_id
        if not (truthy(audience.get("urgent")) or truthy(target.params.get("urgent")) or urgent_record):
            hold_if_quiet(now, str(account.get("quiet_hours", "22:00-08:00")),
                          key=f"accounts.{target.account}.quiet_hours", channel=self.name)
            handed = digest.hand_off(self._sessions, delivery_id, account=target.account, now=now) \
                if purpose == "publish" else None
            if handed is not None:
                return handed
        return self.audience.send(delivery_id, key, target.account,
                                  self.request(target.account, sign, template_id, params), **limits,
                                  expand=lambda s: expand(s, delivery_id, target, audience, region, now))

    @typed_errors("sms")
    def send_digest(self, target: Target, key: str) -> Receipt:
        """A digest delivery (``purpose="digest"``): several records as one SMS (``hub.audience.digest``)."""
        return digest.send(self, target, key)

    @typed_errors("sms")
    def withdraw(self, receipt: Receipt, target: Target, key: str) -> Receipt:
        """The withdrawal notice (its own template) to exactly the numbers that got the record (or its digest).

        An SMS cannot be recalled: numbers sent, delivered or unknown may have it (``expand_from``);
        this step's own per-recipient ledger sends to nobody twice; no quiet hours (like an urgent record).
        """
        from hub.channels.notices import withdrawal_notice
        from hub.renderers.service import get_rendition
        from hub.timeutil import to_local

        limits = limits_of(self._account(target.account), target.account, MAX_BATCH, MAX_CONCURRENCY)
        sms = self.config.render.sms
        if not sms.withdraw_template_id:
            raise ConfigError("channels.toml: render.sms.withdraw_template_id (the approved withdrawal notice) is not set")
        notice = withdrawal_notice(self._sessions, key)
        now = self.clock()
        with scope(self._sessions) as s:
            published = get_rendition(s, notice.version, "sms")
        day = to_local(receipt.accepted_at if receipt.accepted_at else notice.at)
        params = [str((published.facts.get("params") or [""])[0]), f"{day.month}月{day.day}日"]
        request = self.request(target.account, str(published.facts.get("sign_name") or sms.signature),
                                sms.withdraw_template_id, params)
        return self.audience.send(notice.delivery_id, key, target.account, request, **limits, apply_kept=False,
                                  expand=lambda s: expand_from(s, notice.delivery_id, notice.origin_id, target, now))

    @typed_errors("sms")
    def lookup(self, target: Target, key: str) -> Receipt | None:
        return self.audience.lookup(target.account, self._account(target.account), key,
                                    settle_sending=bool(target.params.get("direct")))

    @typed_errors("sms")
    def status(self, receipt: Receipt, target: Target) -> DeliveryStatus:
        if digest.is_member_receipt(receipt):  # a record covered by a digest SMS follows the digest
            return digest.member_status(self, receipt, target)
        return self.audience.status(target.account, self._account(target.account), receipt.provider_ref)

    def metrics(self, receipts: Sequence[Receipt], target: Target, *, now: datetime) -> dict[str, dict[str, int]]:
        """Delivered, failed and opted-out numbers per delivery (``provider_ref`` is its key); no platform call."""
        return self.audience.metrics([r.provider_ref for r in receipts])

    # --- the vendor: one batch, its answers, reports (``hub.audience.fanout.BulkSender``) ----------------

    def send_batch(self, account: str, request: dict[str, Any], numbers: list[str]) -> list[dict[str, Any]]:
        """One ``SendSms`` of ≤ 200 numbers (runs in a pool thread); the answer's ``SendStatusSet``.

        Through the SDK client's ``call_json`` (the same TC3 signing, HTTP session,
        status and error-answer checks as ``SendSms``) rather than the generated
        models: building 200 ``SendStatus`` objects per answer was about a fifth of the
        call's CPU, and the statuses are read as the API's JSON objects anyway.
        """
        try:
            answer = self._client(account).call_json("SendSms", {**request, "PhoneNumberSet": numbers})
        except TencentCloudSDKException as exc:
            if not is_api_error(exc):
                raise transport_error("sms", exc, what="SendSms") from None
            raise request_error(str(exc.get_code()), sdk_error_text(exc), self.clock()) from None
        except ConfigError:
            raise
        except Exception as exc:  # requests errors while reading the body, unparsable JSON: F1/F12
            raise transport_error("sms", exc, what="SendSms") from None
        body = answer.get("Response") if isinstance(answer, dict) else None
        raw = body.get("SendStatusSet") if isinstance(body, dict) else None
        if not isinstance(raw, list) or not all(isinstance(st, dict) for st in raw):
            raise Ambiguous("sms: an answer without SendStatusSet")  # F12: a body without the success marker
        return raw

    @staticmethod
    def number_result(status: dict[str, Any]) -> NumberResult:
        """One ``SendStatus``: ``Ok`` → sent (with its SerialNo), a refusal → rejected, a limit → pending."""
        code = str(status.get("Code") or "")
        if code == "Ok":  # the common case, without the table's lookup chain
            return status.get("PhoneNumber"), rcp.SENT, code, str(status.get("SerialNo") or "") or None
        state = _STATE_OF_KIND.get(rule_for(code).kind, rcp.PENDING)
        serial = str(status.get("SerialNo") or "") or None if state == rcp.SENT else None
        return status.get("PhoneNumber"), state, code[:100], serial

    def hold_seconds(self, code: str, now: datetime) -> float | None:
        return sms_codes.hold_seconds(code, now)

    def daily_codes(self) -> frozenset[str]:
        return sms_codes.DAILY_PER_PHONE

    def _pull(self, account_name: str, what: str, request: Any) -> list[Report]:
        """One report API call (nothing it does changes what was sent: a lost answer is simply asked again)."""
        try:
            resp = getattr(self._client(account_name), what)(request)
        except TencentCloudSDKException as exc:
            if not is_api_error(exc):
                err = transport_error("sms", exc, what=what)
                raise (Retryable(err.message) if isinstance(err, Ambiguous) else err) from None
            raise request_error(str(exc.get_code()), sdk_error_text(exc), self.clock()) from None
        except Exception as exc:
            raise Retryable(f"sms: {what}: unreadable answer ({type(exc).__name__})") from None
        return [Report(serial_no=str(it.SerialNo or ""), ok=(it.ReportStatus == "SUCCESS"),
                       description=str(it.Description or it.ReportStatus or ""), phone=str(it.PhoneNumber or ""),
                       session_context=str(it.SessionContext or "")) for it in resp.PullSmsSendStatusSet or []]

    def reports_by_number(self, account: str, number: str, begin: int, end: int) -> list[Report]:
        req = models.PullSmsSendStatusByPhoneNumberRequest()
        app = str(self._account(account).get("sdk_app_id", ""))
        req.from_json_string(json.dumps({"BeginTime": begin, "EndTime": end, "Offset": 0, "Limit": PULL_LIMIT,
                                         "PhoneNumber": number, "SmsSdkAppId": app}))
        return self._pull(account, "PullSmsSendStatusByPhoneNumber", req)

    def pull_reports(self, account: str, *, pages: int = 20) -> int:
        """Pull up to ``pages`` × 100 delivery reports and apply them; returns how many matched a row."""
        applied, app = 0, str(self._account(account).get("sdk_app_id", ""))
        for _ in range(max(1, pages)):
            req = models.PullSmsSendStatusRequest()
            req.from_json_string(json.dumps({"Limit": PULL_LIMIT, "SmsSdkAppId": app}))
            items = self._pull(account, "PullSmsSendStatus", req)
            applied += apply_with_retry(self._sessions, items, clock=self.clock)
            if len(items) < PULL_LIMIT:
                break
        return applied


def handle_sms_callback(session: Session, payload: Any) -> int:
    """Apply a pushed delivery-report array (``[{"sid", "report_status", "errmsg", "mobile", ...}]``).

    For the web layer's callback route; the documented callback carries no
    signature, so the route must be a secret path and the data is advisory
    (a report only moves a row forward, never back). Reply ``{"result":0,"errmsg":"OK"}``.
    """
    if not isinstance(payload, list):
        return 0
    reports = [Report(serial_no=str(item["sid"]), ok=str(item.get("report_status")) == "SUCCESS",
                      description=str(item.get("errmsg") or item.get("report_status") or ""),
                      phone=str(item.get("mobile") or ""))
               for item in payload if isinstance(item, dict) and item.get("sid")]
    return apply_reports(session, reports)
