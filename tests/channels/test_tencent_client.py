"""What we rely on in the Tencent Cloud SDK (its public surface only), pinned through real HTTP to the sandbox.

The SDK is pinned in pyproject.toml; these tests say which of its behaviours our typed
errors depend on, so an upgrade that changes one fails here instead of mapping a
vendor's answer to the wrong outcome.
"""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from tencentcloud.tts.v20190823 import models

from hub.config import get_config
from hub.errors import Ambiguous, AuthExpired, RateLimited, Retryable
from hub.vendors.tencent import tts
from hub.vendors.tencent.client import (
    HttpStatusError,
    HubConnection,
    TencentCloudSDKException,
    TtsClient,
    is_api_error,
    make_client,
    transport_error,
)


def _tts_client() -> Any:
    names = [n for n, a in get_config().accounts.items() if a.channel == "tts"]
    return make_client(TtsClient, get_config().accounts[names[0]], names[0])


def _voice_request(text: str = "测试。") -> Any:
    req = models.TextToVoiceRequest()
    req.from_json_string(f'{{"Text": "{text}", "SessionId": "{hashlib.sha256(text.encode()).hexdigest()[:32]}", '
                         '"Codec": "wav", "SampleRate": 16000}')
    return req


def test_the_sdk_sends_every_call_through_the_connection_we_install(sandbox: Any) -> None:
    """``make_client`` replaces the SDK's connection; a call answered by the sandbox went through ours."""
    client = _tts_client()
    assert isinstance(client.request.conn, HubConnection)
    assert not client.request.conn.session.trust_env  # no ~/.netrc or proxy look-up per request
    seen: list[str] = []
    client.request.conn.session.hooks["response"].append(lambda r, *a, **k: seen.append(r.url))
    resp = client.TextToVoice(_voice_request())
    assert resp.Audio and seen == [f"http://{client.request.host}/"]


@pytest.mark.parametrize(("status", "retry_after", "expected"), [
    (429, 7, RateLimited), (503, 0, Retryable), (504, 0, Ambiguous),
])
def test_a_non_200_answer_reaches_us_with_its_status_as_the_sdks_network_error(
        sandbox: Any, status: int, retry_after: int, expected: type[Exception]) -> None:
    """The SDK wraps what our connection raises into ``ClientNetworkError`` and keeps it as ``__context__``."""
    sandbox.set_faults("tts", error_5xx_rate=1.0, error_status=status, retry_after=retry_after)
    with pytest.raises(TencentCloudSDKException) as caught:
        _tts_client().TextToVoice(_voice_request())
    exc = caught.value
    assert exc.get_code() == "ClientNetworkError" and not is_api_error(exc)
    assert isinstance(exc.__context__, HttpStatusError) and exc.__context__.status == status
    outcome = transport_error("tts", exc)
    assert type(outcome) is expected
    if retry_after:
        assert isinstance(outcome, RateLimited) and outcome.retry_after == retry_after


def test_an_api_error_answer_is_the_sdks_public_exception_with_code_and_request_id(sandbox: Any) -> None:
    """An error answer (HTTP 200, ``Response.Error``) raises with its code and RequestId: our typed error follows."""
    sandbox.set_faults("tts", token_expired=1)
    with pytest.raises(TencentCloudSDKException) as caught:
        _tts_client().TextToVoice(_voice_request())
    exc = caught.value
    assert is_api_error(exc) and str(exc.get_code()).startswith("AuthFailure") and exc.get_request_id()
    sandbox.set_faults("tts", token_expired=1)
    with pytest.raises(AuthExpired):
        tts.TtsService().voice("测试。", sample_rate=16000)


def test_the_sdks_own_status_less_server_error_is_ambiguous() -> None:
    """Were a client built without our connection, the SDK's bare ``ServerNetworkError`` may have been applied."""
    exc = TencentCloudSDKException("ServerNetworkError", b"<html>502 Bad Gateway</html>")
    assert type(transport_error("sms", exc)) is Ambiguous
