"""Speech for the TV video's narration through Tencent Cloud TTS (``tencentcloud-sdk-python-tts``).

``synthesize(text, sample_rate=16000) -> bytes`` returns one WAV. ``TextToVoice``
takes at most 150 characters, so the text is cut at sentence ends (。！？；and
line breaks; a longer sentence at commas, then hard) into ≤ 150-character
pieces, each synthesised by one call, and the PCM frames are concatenated.
Errors are the hub's typed ones, mapped in one table (``TTS_CODES``); no call
is retried here (the caller — the video build — decides).

Account ``[accounts.tencent-tts]``: ``endpoint``, ``protocol``, ``region``,
``secret_id_env``/``secret_key_env``, ``voice_type``, optional ``timeout``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import json
import re
import threading
import wave
from typing import Any

from tencentcloud.tts.v20190823 import models

from hub.config import Account, HubConfig, get_config
from hub.errors import Ambiguous, AuthExpired, ChannelError, ConfigError, Permanent, RateLimited, Retryable
from hub.vendors.tencent.client import (
    TencentAccount,
    TencentCloudSDKException,
    TtsClient,
    is_api_error,
    make_client,
    sdk_error_text,
    transport_error,
)


class TtsAccount(TencentAccount):
    """``[accounts.*]`` of Tencent Cloud TTS (``channel = "tts"``: a vendor account, not a delivery channel)."""

    voice_type: int = 101001


#: the ``channel`` value of a TTS account in channels.toml
ACCOUNT_CHANNEL = "tts"


#: TextToVoice's limit per call
MAX_CHARS = 150
SAMPLE_RATES = (8000, 16000, 24000)
_SENTENCE_END = re.compile(r"(?<=[。！？；!?;\n])")
_CLAUSE_END = re.compile(r"(?<=[，、,：:])")

#: TTS error code → outcome kind: permanent, auth, rate, retry
TTS_CODES: dict[str, str] = {
    "AuthFailure.InvalidAuthorization": "auth",
    "AuthFailure.SignatureFailure": "auth",
    "AuthFailure.SignatureExpire": "auth",
    "AuthFailure.SecretIdNotFound": "auth",
    "FailedOperation": "retry",
    "FailedOperation.NoSuchTask": "permanent",
    "InternalError.ErrorGetRoute": "retry",
    "InternalError.ExceedMaxLimit": "rate",
    "InternalError.FailAccessDatabase": "retry",
    "InternalError.FailAccessRedis": "retry",
    "InternalError.InternalError": "retry",
    "InternalError.NoResource": "retry",
    "InternalError": "retry",
    "InvalidParameter.InvalidText": "permanent",
    "InvalidParameter.Status": "permanent",
    "InvalidParameterValue.AppId": "auth",
    "InvalidParameterValue.AppIdNotRegistered": "auth",
    "InvalidParameterValue.CallbackUrl": "permanent",
    "InvalidParameterValue.Codec": "permanent",
    "InvalidParameterValue.ErrorCardinalFormat": "permanent",
    "InvalidParameterValue.InvalidText": "permanent",
    "InvalidParameterValue.MissParameters": "permanent",
    "InvalidParameterValue.ModelType": "permanent",
    "InvalidParameterValue.ParticipleError": "permanent",
    "InvalidParameterValue.PrimaryLanguage": "permanent",
    "InvalidParameterValue.SSMLInvalid": "permanent",
    "InvalidParameterValue.SampleRate": "permanent",
    "InvalidParameterValue.SessionId": "permanent",
    "InvalidParameterValue.Speed": "permanent",
    "InvalidParameterValue.Text": "permanent",
    "InvalidParameterValue.TextEmpty": "permanent",
    "InvalidParameterValue.TextNotUtf8": "permanent",
    "InvalidParameterValue.TextSsmlParseError": "permanent",
    "InvalidParameterValue.TextTooLong": "permanent",
    "InvalidParameterValue.Type": "permanent",
    "InvalidParameterValue.VoiceType": "permanent",
    "InvalidParameterValue.Volume": "permanent",
    "LimitExceeded.AccessLimit": "rate",
    "MissingParameter": "permanent",
    "RequestLimitExceeded": "rate",
    "UnsupportedOperation": "permanent",
    "UnsupportedOperation.AccountArrears": "auth",
    "UnsupportedOperation.AuthorizationExpired": "auth",
    "UnsupportedOperation.AuthorizationFailed": "auth",
    "UnsupportedOperation.ForbiddenUse": "auth",
    "UnsupportedOperation.NoBanlance": "auth",
    "UnsupportedOperation.NoFreeAccount": "auth",
    "UnsupportedOperation.PkgExhausted": "auth",
    "UnsupportedOperation.ServerAlreadyOpen": "permanent",
    "UnsupportedOperation.ServerDestoryed": "auth",
    "UnsupportedOperation.ServerNotOpen": "auth",
    "UnsupportedOperation.ServerStopped": "auth",
    "UnsupportedOperation.TextTooLong": "permanent",
}


def tts_error(code: str, text: str) -> ChannelError:
    kind = TTS_CODES.get(code)
    if kind is None:
        kind = ("auth" if code.startswith(("AuthFailure", "UnauthorizedOperation"))
                else "rate" if "LimitExceeded" in code else "retry" if code.startswith("InternalError")
                else "permanent")
    msg = f"tts: {text}"
    if kind == "auth":
        return AuthExpired(msg)
    if kind == "rate":
        return RateLimited(msg, 1.0)
    if kind == "retry":
        return Retryable(msg)
    return Permanent(msg)


def split_text(text: str, limit: int = MAX_CHARS) -> list[str]:
    """Pieces of ≤ ``limit`` characters, cut after sentence ends where possible, never mid-word first."""
    pieces: list[str] = []
    for sentence in (s for s in _SENTENCE_END.split(text) if s.strip()):
        parts = [sentence] if len(sentence) <= limit else [c for c in _CLAUSE_END.split(sentence) if c]
        for part in parts:
            while len(part) > limit:  # a clause longer than the limit: cut hard
                pieces.append(part[:limit])
                part = part[limit:]
            if pieces and len(pieces[-1]) + len(part) <= limit:
                pieces[-1] += part
            else:
                pieces.append(part)
    return [p.strip() for p in pieces if p.strip()]


class TtsService:
    """Synthesises speech with the ``tts`` account (one SDK client per thread)."""

    def __init__(self, config: HubConfig | None = None, *, account: str | None = None) -> None:
        self.config = config or get_config()
        if account is None:
            names = [n for n, a in self.config.accounts.items() if a.channel == "tts"]
            if not names:
                raise ConfigError("channels.toml: no account with channel = \"tts\"")
            account = names[0]
        self.account_name = account
        self._local = threading.local()

    @property
    def account(self) -> Account:
        found = self.config.accounts.get(self.account_name)
        if found is None or found.channel != "tts":
            raise ConfigError(f"channels.toml: no tts account {self.account_name!r}")
        return found

    def _client(self) -> Any:
        client = getattr(self._local, "client", None)
        if client is None:
            client = self._local.client = make_client(TtsClient, self.account, self.account_name)
        return client

    def voice(self, text: str, *, sample_rate: int) -> bytes:
        """One TextToVoice call: ≤ 150 characters → 16-bit mono PCM frames."""
        req = models.TextToVoiceRequest()
        req.from_json_string(json.dumps({"Text": text, "SessionId": hashlib.sha256(text.encode("utf-8")).hexdigest()[:32],
                          "VoiceType": int(self.account.get("voice_type", 101001)), "Codec": "wav",
                          "SampleRate": sample_rate, "PrimaryLanguage": 1, "ModelType": 1}))
        try:
            resp = self._client().TextToVoice(req)
        except TencentCloudSDKException as exc:
            code = str(exc.get_code() or "")
            if not is_api_error(exc):
                # synthesis publishes nothing: a lost answer is simply asked again
                err = transport_error("tts", exc)
                raise (Retryable(err.message) if isinstance(err, Ambiguous) else err) from None
            raise tts_error(code, sdk_error_text(exc)) from None
        except Exception as exc:
            raise Retryable(f"tts: unreadable answer ({type(exc).__name__})") from None
        if not resp.Audio:
            raise Retryable("tts: an answer without Audio")
        try:
            data = base64.b64decode(resp.Audio, validate=True)
            with wave.open(io.BytesIO(data)) as w:
                if w.getframerate() != sample_rate or w.getsampwidth() != 2 or w.getnchannels() != 1:
                    raise Permanent(f"tts: got {w.getframerate()} Hz/{w.getsampwidth() * 8}-bit/"
                                    f"{w.getnchannels()}ch, asked for {sample_rate} Hz mono 16-bit")
                frames: bytes = w.readframes(w.getnframes())
                return frames
        except (binascii.Error, wave.Error, EOFError) as exc:
            raise Retryable(f"tts: the audio is not a WAV ({type(exc).__name__})") from None

    def synthesize(self, text: str, *, sample_rate: int = 16000) -> bytes:
        """The whole text as one WAV (16-bit mono at ``sample_rate``)."""
        if sample_rate not in SAMPLE_RATES:
            raise Permanent(f"tts: sample_rate must be one of {SAMPLE_RATES}")
        pieces = split_text(text)
        if not pieces:
            raise Permanent("tts: nothing to say (empty text)")
        frames = b"".join(self.voice(p, sample_rate=sample_rate) for p in pieces)
        out = io.BytesIO()
        with wave.open(out, "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(sample_rate)
            w.writeframes(frames)
        return out.getvalue()


_default: TtsService | None = None
_default_lock = threading.Lock()


def synthesize(text: str, *, sample_rate: int = 16000) -> bytes:
    """``TtsService().synthesize`` with the configured ``tts`` account (for the video build)."""
    global _default
    config = get_config()
    with _default_lock:
        if _default is None or _default.config is not config:
            _default = TtsService(config)
        service = _default
    return service.synthesize(text, sample_rate=sample_rate)
