"""What the SMS and TTS adapters share: building a real Tencent Cloud SDK client, and the transport table.

Why a module of its own: both adapters talk to the same API gateway through the
same SDK (``tencentcloud-sdk-python-common``), so they meet the same traps
(channel-apis.md §3.1, §3.5):

* ``HttpProfile(protocol=...)`` must be given in the constructor;
* the SDK turns any non-200 status into ``ServerNetworkError`` with the body as
  message and no status: our client subclasses keep the status instead;
* the SDK wraps every ``requests`` failure into ``ClientNetworkError`` with the
  original as ``__context__``: connect failures mean nothing was sent
  (``Retryable``), a read timeout or a dropped connection after the request went
  out may have been applied (``Ambiguous``, F1);
* the SDK logs whole requests and responses (phone numbers, the SecretId) at
  DEBUG on ``tencentcloud_sdk_common``: that logger is held at WARNING and
  every record is scrubbed by ``hub.redact``;
* no retryer: retries belong to the delivery engine.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from pydantic import Field
from tencentcloud.common import credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.sms.v20210111 import sms_client
from tencentcloud.tts.v20190823 import tts_client

from hub import redact
from hub.channels import http
from hub.channels.base import AccountConfig
from hub.config import Account
from hub.errors import Ambiguous, ChannelError, ConfigError, Permanent


class TencentAccount(AccountConfig):
    """The keys every Tencent Cloud account has (SMS and TTS extend it): where and as whom to call."""

    endpoint: str = Field(min_length=1)
    protocol: str = Field(default="https", pattern=r"^https?$")
    region: str = "ap-guangzhou"
    secret_id_env: str
    secret_key_env: str
    timeout: int = Field(default=10, gt=0)
    required_env: ClassVar[tuple[str, ...]] = ("secret_id_env", "secret_key_env")


#: seconds for connect and for each read, unless the account sets ``timeout``
DEFAULT_TIMEOUT_S = 10


class _KeepStatus:
    """Mixin: a non-200 answer raises ``ServerNetworkError`` whose message is ``HTTP <status>`` (+ Retry-After)."""

    def _check_status(self, resp: Any) -> None:
        if resp.status_code != 200:
            retry = resp.headers.get("Retry-After")
            suffix = f" retry-after={retry}" if retry else ""
            raise TencentCloudSDKException("ServerNetworkError", f"HTTP {resp.status_code}{suffix}")


class SmsClient(_KeepStatus, sms_client.SmsClient):  # type: ignore[misc]
    """The SDK's SmsClient, keeping the HTTP status of non-200 answers; a success answer is parsed once."""

    def _check_error(self, resp: Any) -> None:
        """The SDK's error-answer check, skipped only when the body cannot hold an error.

        The SDK parses every JSON body here to look for ``Response.Error`` (and a
        deprecation warning), then ``call_json``/``SendSms`` parse it again: for a
        SendSms answer of 200 numbers (~40 KB) the first parse was a fifth of the
        client's CPU. A JSON object can only have those keys as ``"Error"`` /
        ``"DeprecatedWarning"`` or spelled with ``\\u`` escapes, so a body with
        neither is passed as the SDK's check would pass it; every other body gets
        the SDK's own check.
        """
        body = resp.content
        if b'"Error"' in body or b'"DeprecatedWarning"' in body or b"\\u" in body:
            super()._check_error(resp)


class TtsClient(_KeepStatus, tts_client.TtsClient):  # type: ignore[misc]
    """The SDK's TtsClient, keeping the HTTP status of non-200 answers."""


def timeout_of(account: Account) -> int:
    return int(account.get("timeout", DEFAULT_TIMEOUT_S))


def make_client(cls: type[Any], account: Account, name: str) -> Any:
    """A client of ``cls`` for ``[accounts.<name>]``: endpoint, protocol, region, timeout and secrets from config."""
    endpoint = account.get("endpoint")
    if not endpoint:
        raise ConfigError(f"channels.toml: accounts.{name}.endpoint is not set")
    protocol = str(account.get("protocol", "https"))
    if protocol not in ("http", "https"):
        raise ConfigError(f"channels.toml: accounts.{name}.protocol must be http or https")
    secret_id = account.secret("secret_id_env", name)
    secret_key = account.secret("secret_key_env", name)
    redact.register_secret(secret_id.value)
    redact.register_secret(secret_key.value)
    profile = ClientProfile(httpProfile=HttpProfile(protocol=protocol, endpoint=str(endpoint),
                                                    reqTimeout=timeout_of(account)))
    cred = credential.Credential(secret_id.value, secret_key.value)
    client = cls(cred, str(account.get("region", "ap-guangzhou")), profile)
    # the endpoint comes from config only: no proxy or ~/.netrc from the environment (and no
    # per-request look-up of them, which costs more than the request itself on a fan-out)
    session = getattr(getattr(getattr(client, "request", None), "conn", None), "_session", None)
    if session is not None:
        session.trust_env = False
    return client


# --- transport and HTTP status ------------------------------------------------------------------

_STATUS = re.compile(r"HTTP (\d{3})(?: retry-after=(\S+))?")


def transport_error(channel: str, exc: BaseException, *, what: str = "call") -> ChannelError:
    """Map a failure below the API (HTTP status, network, unparsable answer) to a typed outcome.

    The rules are ``hub.channels.http``'s (one place for every adapter): connect
    failures are ``Retryable`` (nothing sent), 429 ``RateLimited``, 500/502/503
    ``Retryable``, 504 and anything after the request went out ``Ambiguous``;
    a 200 whose body is not the API's JSON is ``Ambiguous`` (F12).
    """
    if isinstance(exc, TencentCloudSDKException) and exc.get_code() in ("ClientParamsError", "ClientError"):
        return Permanent(f"{channel} {what}: the SDK refused the request before sending it ({exc.get_code()})")
    if isinstance(exc, TencentCloudSDKException) and exc.get_code() == "ServerNetworkError":
        m = _STATUS.search(str(exc.get_message()))
        if m is None:
            return Ambiguous(f"{channel} {what}: an HTTP error without a status; it may have been applied")
        headers = {"Retry-After": m.group(2)} if m.group(2) else None
        return http.from_status(channel, what, int(m.group(1)), headers)
    cause: BaseException | None = exc
    if isinstance(exc, TencentCloudSDKException):
        cause = exc.__context__ or exc.__cause__
    if isinstance(cause, http.TRANSPORT_ERRORS):
        return http.from_transport(channel, what, cause)
    return Ambiguous(f"{channel} {what}: unreadable answer ({type(exc).__name__}); it may have been applied")


def is_api_error(exc: TencentCloudSDKException) -> bool:
    """True for an error *answer* of the API (it carries a RequestId); False for the SDK's own wrappers.

    The generated clients wrap every other exception — a network error, a body that
    is not JSON, a connection reset while reading — into ``TencentCloudSDKException``
    named after the Python exception, with the original as ``__context__``.
    """
    return bool(exc.get_request_id()) and exc.get_code() not in ("ClientNetworkError", "ServerNetworkError")


def sdk_error_text(exc: TencentCloudSDKException) -> str:
    """``Code: message`` of an API error, scrubbed (a vendor message may echo a number)."""
    return redact.redact(f"{exc.get_code()}: {exc.get_message()}")[:300]


__all__ = ["SmsClient", "TtsClient", "make_client", "transport_error", "sdk_error_text",
           "is_api_error",
           "TencentCloudSDKException", "Permanent"]
