"""What the SMS and TTS adapters share: building a real Tencent Cloud SDK client, and the transport table.

Why a module of its own: both adapters talk to the same API gateway through the
same SDK (``tencentcloud-sdk-python-common``), so they meet the same traps
(channel-apis.md §3.1, §3.5):

* ``HttpProfile(protocol=...)`` must be given in the constructor;
* the SDK turns any non-200 status into ``ServerNetworkError`` with the body as
  message and no status: ``HubConnection`` (the SDK's public ``ProxyConnection``
  with our own session) raises ``HttpStatusError`` with the status first;
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

from typing import Any, ClassVar

import requests
from pydantic import Field
from tencentcloud.common import credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.http.request import ProxyConnection
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


class HttpStatusError(Exception):
    """A non-200 answer, raised by ``HubConnection`` with its status and ``Retry-After`` kept.

    The SDK's own check turns any non-200 into ``ServerNetworkError`` with the body as message
    and no status; this is raised first, inside the SDK's ``send_request``, which wraps it into
    ``ClientNetworkError`` with this exception as ``__context__`` (``transport_error`` reads it).
    """

    def __init__(self, status: int, retry_after: str | None) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status
        self.retry_after = retry_after


class HubConnection(ProxyConnection):  # type: ignore[misc]
    """The SDK's public ``ProxyConnection`` on a ``requests.Session`` of ours (``client.request.conn``).

    Why: the SDK exposes no hook for its HTTP session or for the status of an answer, and
    our retry rules need the status (429 with Retry-After, 503 before anything was applied,
    504 perhaps applied). ``request(method, url, body, headers)`` is the public method the
    SDK's ``ApiRequest.send_request`` calls for every API call; overriding it is the whole
    coupling, pinned by tests/channels/test_tencent_client.py against the pinned SDK. Our own
    session does not read ``~/.netrc`` or proxy variables per request (``trust_env`` off: on
    a fan-out that look-up cost more than the request); a proxy comes only from the profile
    (``HttpProfile(proxy=...)``) or the SDK's own environment rule, as before.
    """

    def __init__(self, host: str, *, timeout: int, is_http: bool, proxy: str | None = None) -> None:
        super().__init__(host, timeout=timeout, proxy=proxy, is_http=is_http)
        self.session = requests.Session()
        self.session.trust_env = False

    def request(self, method: str, url: str, body: Any = None, headers: dict[str, str] | None = None) -> Any:
        headers = {} if headers is None else headers
        headers.setdefault("Host", self.request_host)
        resp = self.session.request(method=method, url=url, data=body, headers=headers, proxies=self.proxy,
                                    verify=self.certification, timeout=self.timeout, stream=True)
        if resp.status_code != 200:
            retry_after = resp.headers.get("Retry-After")
            resp.close()
            raise HttpStatusError(resp.status_code, retry_after)
        return resp


class SmsClient(sms_client.SmsClient):  # type: ignore[misc]
    """The SDK's SmsClient (a class of our own so the adapters and the bench name one thing)."""


class TtsClient(tts_client.TtsClient):  # type: ignore[misc]
    """The SDK's TtsClient."""


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
    http_profile = HttpProfile(protocol=protocol, endpoint=str(endpoint), reqTimeout=timeout_of(account))
    cred = credential.Credential(secret_id.value, secret_key.value)
    client = cls(cred, str(account.get("region", "ap-guangzhou")), ClientProfile(httpProfile=http_profile))
    api = client.request  # the SDK's ApiRequest: built from the profile above, as the SDK builds its own connection
    api.conn = HubConnection(api.host, timeout=api.req_timeout, is_http=api.is_http, proxy=http_profile.proxy)
    return client


# --- transport and HTTP status ------------------------------------------------------------------

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
        # the SDK's own non-200 check: only reached if a client was built without HubConnection
        return Ambiguous(f"{channel} {what}: an HTTP error without a status; it may have been applied")
    cause: BaseException | None = exc
    if isinstance(exc, TencentCloudSDKException):
        cause = exc.__context__ or exc.__cause__
    if isinstance(cause, HttpStatusError):
        headers = {"Retry-After": cause.retry_after} if cause.retry_after else None
        return http.from_status(channel, what, cause.status, headers)
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


__all__ = ["SmsClient", "TtsClient", "HubConnection", "HttpStatusError", "make_client", "transport_error",
           "sdk_error_text",
           "is_api_error",
           "TencentCloudSDKException", "Permanent"]
