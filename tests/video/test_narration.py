"""Choosing and using a narrator: espeak-ng offline, Tencent TTS (real SDK, sandbox), or silence."""

from __future__ import annotations

from typing import Any

import pytest

from hub.errors import ConfigError, RenderFailed
from hub.renderers.video.narration import EspeakNarrator, TencentNarrator, decode_wav, select_narrator
from hub.renderers.video.profile import NarrationSpec


def test_hub_tts_none_means_silence(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUB_TTS", "none")
    assert select_narrator(NarrationSpec()) is None


def test_without_tencent_credentials_auto_falls_back_to_espeak(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HUB_TTS", raising=False)
    monkeypatch.delenv("HUB_TENCENT_SECRET_ID", raising=False)
    assert isinstance(select_narrator(NarrationSpec()), EspeakNarrator)


def test_an_unknown_engine_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUB_TTS", "festival")
    with pytest.raises(ConfigError, match="festival"):
        select_narrator(NarrationSpec())


def test_espeak_reads_mandarin_into_a_wav() -> None:
    speech = decode_wav(EspeakNarrator().synthesize("扫码查看全文。"))
    assert speech.rate == 22050 and 0.5 < speech.seconds < 5
    assert abs(speech.samples).max() > 1000


def test_auto_picks_tencent_when_its_account_has_credentials(sandbox: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HUB_TTS", raising=False)
    narrator = select_narrator(NarrationSpec())
    assert isinstance(narrator, TencentNarrator)
    speech = decode_wav(narrator.synthesize("汉阴县人民政府办公室发布通知。"))
    assert speech.rate == 16000 and speech.seconds > 0.5
    assert [m["content"]["text"] for m in sandbox.messages("tts")] == ["汉阴县人民政府办公室发布通知。"]


def test_tencent_server_errors_are_asked_again_then_fail_the_render(sandbox: Any) -> None:
    sandbox.set_faults("tts", error_5xx_rate=1.0)
    waits: list[float] = []
    narrator = TencentNarrator("tencent-tts", sleep=waits.append)
    with pytest.raises(RenderFailed, match="after 3 attempts"):
        narrator.synthesize("测试。")
    assert len(waits) == 2


def test_expired_tencent_credentials_fail_the_render_at_once(sandbox: Any) -> None:
    sandbox.set_faults("tts", token_expired=1)
    waits: list[float] = []
    with pytest.raises(RenderFailed, match="refused"):
        TencentNarrator("tencent-tts", sleep=waits.append).synthesize("测试。")
    assert waits == []


def test_the_progress_bar_draws_only_on_a_terminal() -> None:
    import io

    from rich.console import Console

    from hub.progress import Bar

    quiet = io.StringIO()
    bar = Bar("video", 10.0, console=Console(file=quiet))  # a StringIO is not a TTY
    bar.update(5.0)
    bar.close()
    assert quiet.getvalue() == ""
    shown = io.StringIO()
    bar = Bar("video", 10.0, console=Console(file=shown, force_terminal=True, width=100))
    bar.update(5.0)
    bar.update(10.0)
    bar.close()
    text = shown.getvalue()
    assert "video" in text and "100%" in text and "\n" in text  # drawn, finished, the line ended
