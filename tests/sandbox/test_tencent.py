"""The Tencent Cloud fake, driven through the real SDK (and raw HTTP where the SDK cannot misbehave)."""

from __future__ import annotations

import base64
import io
import json
import time
import wave
from typing import Any

import httpx
import pytest
from tencentcloud.common import credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.sms.v20210111 import models, sms_client
from tencentcloud.tts.v20190823 import models as tts_models
from tencentcloud.tts.v20190823 import tts_client

from hub.sandbox import tencent
from hub.sandbox.core import Sandbox

SID, SKEY = "AKIDsandboxtest0001", "sandbox-secret-key-0001"
APP = "1400000001"
SIGN = "汉阴县人民政府"


@pytest.fixture
def sb() -> Any:
    sandbox = Sandbox(0, credentials={"tencent": {SID: SKEY}})
    tencent.register(sandbox)
    with sandbox:
        yield sandbox


def profile(sb: Sandbox) -> ClientProfile:
    return ClientProfile(httpProfile=HttpProfile(protocol="http", endpoint=f"127.0.0.1:{sb.port}", reqTimeout=10))


def sms(sb: Sandbox, secret_key: str = SKEY, secret_id: str = SID) -> Any:
    return sms_client.SmsClient(credential.Credential(secret_id, secret_key), "ap-guangzhou", profile(sb))


def send_request(numbers: list[str], params: list[str] | None = None, **over: Any) -> Any:
    req = models.SendSmsRequest()
    body = {"PhoneNumberSet": numbers, "SmsSdkAppId": APP, "SignName": SIGN, "TemplateId": "2017168",
            "TemplateParamSet": params or ["县政府办", "ab12"], "SessionContext": "key-1", **over}
    req.from_json_string(json.dumps(body))
    return req


def code_of(fn: Any) -> str:
    with pytest.raises(TencentCloudSDKException) as caught:
        fn()
    return str(caught.value.get_code())


def test_a_correct_signature_is_accepted_and_answers_per_number(sb: Sandbox) -> None:
    resp = sms(sb).SendSms(send_request(["+8613800000001", "13800000002"]))
    assert [s.Code for s in resp.SendStatusSet] == ["Ok", "Ok"]
    assert all(s.SerialNo and s.Fee == 1 for s in resp.SendStatusSet)
    [first, second] = sb.messages("sms")
    assert first["content"]["text"] == "【汉阴县人民政府】县政府办发布新公开信息，详见hanyin.gov.cn/s/ab12 拒收请回复R"
    assert first["ref"] == "key-1" and first["account"] == APP and second["content"]["phone"] == "+8613800000002"


def test_a_wrong_secret_key_fails_the_tc3_signature_check(sb: Sandbox) -> None:
    assert code_of(lambda: sms(sb, secret_key="wrong").SendSms(send_request(["+8613800000001"]))) \
        == "AuthFailure.SignatureFailure"
    assert sb.messages("sms") == []


def test_an_unknown_secret_id_is_refused(sb: Sandbox) -> None:
    assert code_of(lambda: sms(sb, secret_id="AKIDunknown").SendSms(send_request(["+8613800000001"]))) \
        == "AuthFailure.SecretIdNotFound"


def signed_post(sb: Sandbox, body: dict[str, Any], *, timestamp: int, action: str = "SendSms",
                version: str = "2021-01-11", service: str = "sms") -> httpx.Response:
    data = json.dumps(body).encode()
    host = f"127.0.0.1:{sb.port}"
    date = time.strftime("%Y-%m-%d", time.gmtime(timestamp))
    sig = tencent.tc3_signature(SKEY, date=date, service=service, timestamp=str(timestamp),
                                content_type="application/json", host=host, body=data)
    return httpx.post(f"{sb.url}/", content=data, timeout=10, headers={
        "Content-Type": "application/json", "Host": host, "X-TC-Action": action, "X-TC-Version": version,
        "X-TC-Timestamp": str(timestamp),
        "Authorization": f"TC3-HMAC-SHA256 Credential={SID}/{date}/{service}/tc3_request, "
                         f"SignedHeaders=content-type;host, Signature={sig}"})


def test_a_stale_timestamp_is_signature_expire_and_answers_exactly_application_json(sb: Sandbox) -> None:
    body = {"PhoneNumberSet": ["+8613800000001"], "SmsSdkAppId": APP, "SignName": SIGN, "TemplateId": "2017168",
            "TemplateParamSet": ["a", "b"]}
    fresh = signed_post(sb, body, timestamp=int(time.time()))
    assert fresh.headers["content-type"] == "application/json"
    assert fresh.json()["Response"]["SendStatusSet"][0]["Code"] == "Ok"
    stale = signed_post(sb, body, timestamp=int(time.time()) - 600)
    assert stale.status_code == 200 and stale.headers["content-type"] == "application/json"
    assert stale.json()["Response"]["Error"]["Code"] == "AuthFailure.SignatureExpire"
    assert "RequestId" in stale.json()["Response"]


def test_a_tampered_body_fails_the_signature(sb: Sandbox) -> None:
    ts = int(time.time())
    data = json.dumps({"Limit": 10, "SmsSdkAppId": APP}).encode()
    host = f"127.0.0.1:{sb.port}"
    date = time.strftime("%Y-%m-%d", time.gmtime(ts))
    sig = tencent.tc3_signature(SKEY, date=date, service="sms", timestamp=str(ts), content_type="application/json",
                                host=host, body=data)
    r = httpx.post(f"{sb.url}/", content=data.replace(b"10", b"99"), timeout=10, headers={
        "Content-Type": "application/json", "Host": host, "X-TC-Action": "PullSmsSendStatus",
        "X-TC-Version": "2021-01-11", "X-TC-Timestamp": str(ts),
        "Authorization": f"TC3-HMAC-SHA256 Credential={SID}/{date}/sms/tc3_request, "
                         f"SignedHeaders=content-type;host, Signature={sig}"})
    assert r.json()["Response"]["Error"]["Code"] == "AuthFailure.SignatureFailure"


def test_unknown_actions_and_versions_are_refused(sb: Sandbox) -> None:
    ts = int(time.time())
    assert signed_post(sb, {}, timestamp=ts, action="DeleteEverything").json()["Response"]["Error"]["Code"] \
        == "InvalidAction"
    assert signed_post(sb, {}, timestamp=ts, version="2019-07-11").json()["Response"]["Error"]["Code"] \
        == "NoSuchVersion"


@pytest.mark.parametrize(("over", "code"), [
    ({"PhoneNumberSet": [f"+86138{i:08d}" for i in range(201)]}, "LimitExceeded.PhoneNumberCountLimit"),
    ({"PhoneNumberSet": []}, "MissingParameter.EmptyPhoneNumberSet"),
    ({"SignName": "某某公司"}, "FailedOperation.SignatureIncorrectOrUnapproved"),
    ({"TemplateId": "999"}, "FailedOperation.TemplateIncorrectOrUnapproved"),
    ({"TemplateParamSet": ["一"]}, "FailedOperation.TemplateParamSetNotMatchApprovedTemplate"),
    ({"TemplateParamSet": ["一二三四五六七", "ab"]}, "InvalidParameterValue.TemplateParameterLengthLimit"),
    ({"TemplateParamSet": ["a.com", "ab"]}, "InvalidParameterValue.ProhibitedUseUrlInTemplateParameter"),
    ({"SmsSdkAppId": "1400999999"}, "UnauthorizedOperation.SmsSdkAppIdVerifyFail"),
])
def test_request_level_rules_of_send_sms(sb: Sandbox, over: dict[str, Any], code: str) -> None:
    numbers = over.pop("PhoneNumberSet", ["+8613800000001"])
    assert code_of(lambda: sms(sb).SendSms(send_request(numbers, **over))) == code
    assert sb.messages("sms") == []


def test_200_numbers_are_the_most_one_request_may_carry(sb: Sandbox) -> None:
    resp = sms(sb).SendSms(send_request([f"+86138{i:08d}" for i in range(200)]))
    assert len(resp.SendStatusSet) == 200 and len(sb.messages("sms")) == 200


def test_per_number_codes_invalid_blacklisted_thirty_seconds_and_daily_cap(sb: Sandbox) -> None:
    state = sb.vendor("tencent")
    state["blacklist"] = ["+8613800000002"]
    state["daily_limit"] = 2
    client = sms(sb)
    first = client.SendSms(send_request(["+8613800000001", "+8613800000002", "12345", "+8613800000003"]))
    assert [s.Code for s in first.SendStatusSet] == [
        "Ok", "FailedOperation.PhoneNumberInBlacklist", "InvalidParameterValue.IncorrectPhoneNumber", "Ok"]
    assert first.SendStatusSet[2].SerialNo == "" and first.SendStatusSet[2].Fee == 0
    again = client.SendSms(send_request(["+8613800000001"]))
    assert again.SendStatusSet[0].Code == "LimitExceeded.PhoneNumberThirtySecondLimit"
    other = client.SendSms(send_request(["+8613800000001"], params=["乡镇", "cd34"]))
    assert other.SendStatusSet[0].Code == "Ok"
    third = client.SendSms(send_request(["+8613800000001"], params=["村委", "ef56"]))
    assert third.SendStatusSet[0].Code == "LimitExceeded.PhoneNumberDailyLimit"
    assert len(sb.messages("sms")) == 3


def test_delivery_reports_are_a_queue_each_pulled_once(sb: Sandbox) -> None:
    sb.vendor("tencent")["undeliverable"] = ["+8613800000002"]
    client = sms(sb)
    sent = client.SendSms(send_request(["+8613800000001", "+8613800000002"]))
    req = models.PullSmsSendStatusRequest()
    req.from_json_string(json.dumps({"Limit": 100, "SmsSdkAppId": APP}))
    reports = client.PullSmsSendStatus(req).PullSmsSendStatusSet
    assert {r.SerialNo for r in reports} == {s.SerialNo for s in sent.SendStatusSet}
    assert {r.PhoneNumber: r.ReportStatus for r in reports} == {"+8613800000001": "SUCCESS",
                                                               "+8613800000002": "FAIL"}
    assert {r.SessionContext for r in reports} == {"key-1"}
    assert client.PullSmsSendStatus(req).PullSmsSendStatusSet == []
    too_many = models.PullSmsSendStatusRequest()
    too_many.from_json_string(json.dumps({"Limit": 101, "SmsSdkAppId": APP}))
    assert code_of(lambda: client.PullSmsSendStatus(too_many)) == "InvalidParameterValue.LimitVerifyFail"


@pytest.mark.parametrize(("knob", "code"), [("rate_limit_rate", "RequestLimitExceeded"),
                                            ("token_expired", "AuthFailure.SecretIdNotFound")])
def test_vendor_fault_knobs_answer_in_tencents_format(sb: Sandbox, knob: str, code: str) -> None:
    sb.set_faults("sms", **{knob: 1})
    assert code_of(lambda: sms(sb).SendSms(send_request(["+8613800000001"]))) == code
    assert sb.messages("sms") == []


def test_5xx_fault_is_a_server_network_error_in_the_sdk(sb: Sandbox) -> None:
    sb.set_faults("sms", error_5xx_rate=1.0)
    assert code_of(lambda: sms(sb).SendSms(send_request(["+8613800000001"]))) == "ServerNetworkError"


def tts(sb: Sandbox) -> Any:
    return tts_client.TtsClient(credential.Credential(SID, SKEY), "ap-guangzhou", profile(sb))


def voice(text: str, rate: int = 16000, codec: str = "wav") -> Any:
    req = tts_models.TextToVoiceRequest()
    req.from_json_string(json.dumps({"Text": text, "SessionId": "s-1", "SampleRate": rate, "Codec": codec,
                                     "VoiceType": 101001}))
    return req


@pytest.mark.parametrize("rate", [8000, 16000, 24000])
def test_text_to_voice_returns_real_wav_at_the_requested_rate(sb: Sandbox, rate: int) -> None:
    resp = tts(sb).TextToVoice(voice("汉阴县人民政府发布公开信息。", rate))
    with wave.open(io.BytesIO(base64.b64decode(resp.Audio))) as w:
        assert w.getframerate() == rate and w.getnchannels() == 1 and w.getsampwidth() == 2
        assert 0.5 < w.getnframes() / rate < 20
        frames = w.readframes(w.getnframes())
    assert any(frames) and resp.SessionId == "s-1"


def test_text_to_voice_refuses_more_than_150_characters(sb: Sandbox) -> None:
    assert code_of(lambda: tts(sb).TextToVoice(voice("字" * 151))) == "InvalidParameterValue.TextTooLong"
    assert tts(sb).TextToVoice(voice("字" * 150)).Audio


def test_text_to_voice_makes_a_tone_when_espeak_is_absent(sb: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tencent.shutil, "which", lambda name: None)
    resp = tts(sb).TextToVoice(voice("公开", 8000))
    with wave.open(io.BytesIO(base64.b64decode(resp.Audio))) as w:
        assert w.getframerate() == 8000 and w.getnframes() == int(0.3 * 8000)
