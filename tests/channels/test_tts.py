"""TTS through the real SDK against the sandbox: splitting, concatenation, typed errors."""

from __future__ import annotations

import io
import wave
from typing import Any

import pytest

from hub.errors import AuthExpired, Permanent, RateLimited, Retryable
from hub.vendors.tencent import tts

NARRATION = ("汉阴县人民政府办公室发布《关于进一步做好政务公开工作的通知》。" * 6) + "请广大群众关注！谢谢。"


@pytest.mark.parametrize(("text", "limit"), [
    ("一二三。四五六。七八九。", 150), ("甲" * 400, 150), ("这是一句话，" * 40 + "结束。", 150), ("短句。", 150),
])
def test_split_text_keeps_every_character_in_pieces_under_the_limit(text: str, limit: int) -> None:
    pieces = tts.split_text(text, limit)
    assert all(0 < len(p) <= limit for p in pieces)
    assert "".join(pieces) == text.strip()


def test_pieces_end_at_sentence_ends_when_they_can() -> None:
    pieces = tts.split_text(NARRATION)
    assert len(pieces) > 1 and all(p.endswith(("。", "！")) for p in pieces)


def test_synthesize_concatenates_one_call_per_piece_into_one_wav(sandbox: Any) -> None:
    wav = tts.synthesize(NARRATION, sample_rate=16000)
    with wave.open(io.BytesIO(wav)) as w:
        assert w.getframerate() == 16000 and w.getnchannels() == 1
        seconds = w.getnframes() / 16000
    calls = sandbox.messages("tts")
    assert len(calls) == len(tts.split_text(NARRATION)) >= 2
    assert all(len(m["content"]["text"]) <= 150 for m in calls)
    assert seconds > 5


@pytest.mark.parametrize(("faults", "expected"), [
    ({"error_5xx_rate": 1.0}, Retryable), ({"rate_limit_rate": 1.0}, RateLimited),
    ({"token_expired": 1}, AuthExpired), ({"drop_rate": 1.0}, Retryable), ({"garbage_rate": 1.0}, Retryable),
])
def test_faults_become_typed_errors(sandbox: Any, faults: dict[str, Any], expected: type[Exception]) -> None:
    sandbox.set_faults("tts", **faults)
    with pytest.raises(expected) as caught:
        tts.synthesize("测试。", sample_rate=8000)
    assert type(caught.value) is expected


def test_bad_sample_rate_and_empty_text_are_permanent() -> None:
    with pytest.raises(Permanent):
        tts.TtsService().synthesize("测试", sample_rate=44100)
    with pytest.raises(Permanent):
        tts.TtsService().synthesize("   ", sample_rate=16000)


def test_a_too_long_piece_refused_by_the_service_is_permanent(sandbox: Any) -> None:
    service = tts.TtsService()
    with pytest.raises(Permanent, match="TextTooLong"):
        service.voice("字" * 151, sample_rate=16000)


def test_every_tts_sdk_error_code_is_mapped() -> None:
    from tencentcloud.tts.v20190823 import errorcodes

    codes = {v for k, v in vars(errorcodes).items() if k.isupper() and isinstance(v, str)}
    assert codes <= set(tts.TTS_CODES)
