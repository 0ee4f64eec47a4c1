"""Narration: text → speech, behind one small protocol, with espeak-ng offline and Tencent TTS in production.

The package asks for speech one subtitle cue at a time (a clause or two, never
more than ~36 characters), so each subtitle is timed to its own audio exactly and
no chunk comes near Tencent's 150-character limit per ``TextToVoice`` call.

Which engine: ``HUB_TTS`` (``tencent`` | ``espeak`` | ``none``) wins over the station
profile's ``narration.engine``; ``auto`` means Tencent when its account is configured
and its adapter is present, else espeak-ng, else none. With none, the package
still renders, with silence, and the QC report carries a warning.
"""

from __future__ import annotations

import io
import logging
import os
import shutil
import subprocess
import time
import wave
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from hub.errors import ConfigError, RenderFailed
from hub.renderers.video.profile import NarrationSpec

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Speech:
    """Mono 16-bit PCM samples at ``rate``."""

    samples: np.ndarray
    rate: int

    @property
    def seconds(self) -> float:
        return len(self.samples) / self.rate


@runtime_checkable
class Narrator(Protocol):
    """Anything that reads Chinese text aloud.

    ``name`` goes into the manifest (which voice read this); ``synthesize`` returns
    a WAV file's bytes (mono or stereo, 16-bit PCM, any rate: the header says).
    """

    name: str

    def synthesize(self, text: str) -> bytes: ...


def decode_wav(data: bytes) -> Speech:
    """WAV bytes → mono int16 samples (stereo is averaged)."""
    try:
        with wave.open(io.BytesIO(data)) as wav:
            rate, channels, width = wav.getframerate(), wav.getnchannels(), wav.getsampwidth()
            raw = wav.readframes(wav.getnframes())
    except (wave.Error, EOFError) as exc:
        raise RenderFailed(f"video: narration is not a PCM WAV: {exc}") from exc
    if width != 2:
        raise RenderFailed(f"video: narration WAV has {8 * width}-bit samples, expected 16")
    samples = np.frombuffer(raw, dtype="<i2")
    if channels > 1:
        samples = samples.reshape(-1, channels).mean(axis=1).astype(np.int16)
    return Speech(samples.copy(), rate)


def resample(speech: Speech, rate: int) -> Speech:
    """Linear-interpolation resampling; only used when two engines' rates differ inside one track
    (never in practice: one package has one narrator). The final 48 kHz conversion is ffmpeg's."""
    if speech.rate == rate or len(speech.samples) == 0:
        return Speech(speech.samples, rate)
    n = round(len(speech.samples) * rate / speech.rate)
    x = np.linspace(0, len(speech.samples) - 1, n)
    return Speech(np.interp(x, np.arange(len(speech.samples)), speech.samples).astype(np.int16), rate)


class EspeakNarrator:
    """Debian's espeak-ng, Mandarin voice: robotic but offline, free and deterministic.

    The voice must be ``cmn-latn-pinyin``: espeak-ng 1.51's ``cmn`` voice reads every character
    missing from its small dictionary as English-spelled pinyin with tone digits (扫码 →
    "sao three ma three"); ``hub.renderers.video.mandarin`` fails such a narration in QC.
    """

    def __init__(self, voice: str = "cmn-latn-pinyin", speed: int = 210, binary: str = "espeak-ng") -> None:
        self.voice, self.speed, self.binary = voice, speed, binary
        self.name = f"espeak-ng:{voice}:{speed}"

    def synthesize(self, text: str) -> bytes:
        try:
            out = subprocess.run([self.binary, "-v", self.voice, "-s", str(self.speed), "--stdout", text],
                                 capture_output=True, check=True, timeout=60)
        except (OSError, subprocess.SubprocessError) as exc:
            raise RenderFailed(f"video: espeak-ng failed: {exc}") from exc
        return out.stdout


class TencentNarrator:
    """Tencent Cloud TTS through the vendor module (``hub.vendors.tencent.tts.TtsService``), which owns
    credentials, signing, the error table and the 150-character split.

    The adapter retries nothing ("the caller decides"): a cue is asked again up to
    ``ATTEMPTS`` times on ``Retryable``/``RateLimited`` (synthesis publishes nothing, so
    asking twice is harmless); any other channel error fails the render as a RenderFailed.
    """

    ATTEMPTS = 3

    def __init__(self, account: str, sample_rate: int = 16000, *, sleep: Callable[[float], None] = time.sleep) -> None:
        try:
            from hub.vendors.tencent.tts import TtsService
        except ImportError as exc:
            raise ConfigError("video: narration engine 'tencent' needs hub.vendors.tencent.tts") from exc
        self.service = TtsService(account=account)
        self.sample_rate, self.sleep = sample_rate, sleep
        self.name = f"tencent-tts:{account}:{self.service.account.get('voice_type', '')}:{sample_rate}"

    def synthesize(self, text: str) -> bytes:
        from hub.errors import ChannelError, Retryable

        for attempt in range(1, self.ATTEMPTS + 1):
            try:
                return self.service.synthesize(text, sample_rate=self.sample_rate)
            except Retryable as exc:
                if attempt == self.ATTEMPTS:
                    raise RenderFailed(f"video: Tencent TTS still failing after {attempt} attempts: {exc.message}") from None
                self.sleep(min(exc.retry_after or float(attempt), 10.0))
            except ChannelError as exc:
                raise RenderFailed(f"video: Tencent TTS refused the narration: {exc.message}") from None
        raise AssertionError("unreachable")


def _tencent_available(spec: NarrationSpec) -> bool:
    try:
        from hub.config import get_config

        account = get_config().accounts.get(spec.tencent_account)
        return account is not None and bool(os.environ.get(str(account.get("secret_id_env", ""))))
    except ConfigError:
        return False


def select_narrator(spec: NarrationSpec) -> Narrator | None:
    """The narrator the environment and the profile ask for; None means silence (a QC warning)."""
    engine = os.environ.get("HUB_TTS") or spec.engine
    if engine not in ("auto", "tencent", "espeak", "none"):
        raise ConfigError(f"HUB_TTS: unknown narration engine {engine!r} (tencent | espeak | none)")
    if engine == "none":
        return None
    if engine == "tencent" or (engine == "auto" and _tencent_available(spec)):
        return TencentNarrator(spec.tencent_account, spec.tencent_sample_rate)
    if shutil.which("espeak-ng") is None:
        if engine == "espeak":
            raise ConfigError("HUB_TTS=espeak but espeak-ng is not installed (apt-get install espeak-ng)")
        log.warning("video: no TTS engine available; the package will be silent")
        return None
    return EspeakNarrator(spec.espeak_voice, spec.espeak_speed)
