"""Tencent Cloud SMS's error codes, each with what it means for the hub: one table, read by the SMS channel.

Why a table of its own: the meaning of a code (a per-number refusal, a frequency
limit to wait out, an account a person must fix, a transient fault) decides
whether a number is ever sent again; the SMS channel maps every per-number
``SendStatus.Code`` and every refused request through ``rule_for`` and
``request_error``, and the one-recipient notices (``hub.audience.direct``) use
the same words. The codes are those of ``tencentcloud.sms.v20210111.errorcodes``
plus the common codes of every Tencent Cloud API.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from hub.audience.quiet import seconds_until
from hub.errors import Ambiguous, AuthExpired, ChannelError, Permanent, RateLimited, Retryable

#: the codes of Tencent's per-phone daily limits (10 SMS a number a day by default)
DAILY_PER_PHONE = frozenset({"LimitExceeded.PhoneNumberDailyLimit", "LimitExceeded.PhoneNumberSameContentDailyLimit"})


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



def hold_seconds(code: str, now: datetime) -> float | None:
    """How long a number refused with ``code`` waits (a frequency limit), or None when the code is no hold."""
    rule = rule_for(code)
    if rule.kind != "hold":
        return None
    return rule.retry_after or seconds_until(now, 0)


def request_error(code: str, text: str, now: datetime) -> ChannelError:
    """The typed error for an API error answer (the whole request refused)."""
    rule = rule_for(code)
    msg = f"sms: {text}"
    if rule.kind in ("hold", "rate"):
        return RateLimited(msg, rule.retry_after or seconds_until(now, 0))
    if rule.kind == "daily":
        return RateLimited(msg, seconds_until(now, 0), daily=True)
    if rule.kind == "quiet":
        return RateLimited(msg, seconds_until(now, 8))
    if rule.kind == "retry":
        return Retryable(msg)
    if rule.kind == "auth":
        return AuthExpired(msg)
    if rule.kind == "ambiguous":
        return Ambiguous(msg)
    return Permanent(msg)

