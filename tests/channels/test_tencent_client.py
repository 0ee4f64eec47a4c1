"""Our SmsClient's shortcut in the SDK's error-answer check: error answers still raise, success parses once."""

from __future__ import annotations

import pytest
from tencentcloud.common import credential
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile

from hub.vendors.tencent.client import SmsClient, TencentCloudSDKException


def _sms_client() -> SmsClient:
    return SmsClient(credential.Credential("id", "key"), "ap-guangzhou",
                     ClientProfile(httpProfile=HttpProfile(protocol="http", endpoint="127.0.0.1:9")))


class _Answer:
    """An HTTP answer as the SDK's ``_check_error`` reads it (status, headers, body): the logic under test is ours."""

    def __init__(self, body: bytes) -> None:
        self.content, self.headers, self.status_code = body, {"Content-Type": "application/json"}, 200


@pytest.mark.parametrize("body", [
    b'{"Response": {"Error": {"Code": "FailedOperation.OtherError", "Message": "x"}, "RequestId": "r1"}}',
    b'{"Response": {"\\u0045rror": {"Code": "FailedOperation.OtherError", "Message": "x"}, "RequestId": "r1"}}',
])
def test_an_error_answer_still_raises_the_sdk_error_when_the_success_parse_is_skipped(body: bytes) -> None:
    """The SmsClient skips the SDK's extra parse only for bodies that cannot hold ``Error`` (escaped keys too)."""
    with pytest.raises(TencentCloudSDKException) as caught:
        _sms_client()._check_error(_Answer(body))
    assert caught.value.get_code() == "FailedOperation.OtherError" and caught.value.get_request_id() == "r1"

