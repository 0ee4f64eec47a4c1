"""Station profiles (``config/stations.toml``): the MP4 spec, loudness, timeline, text, narration, MXF.

A profile is data, not code: the station that wants 5 tail frames, an XDCAM
master or 16-character subtitles changes the file. Every field has the default
of our own county station, so a profile lists only what differs.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from hub.config import invalid, read_toml
from hub.errors import ConfigError
from hub.settings import get_settings


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Mp4Spec(_Strict):
    width: int = 1920
    height: int = 1080
    fps: int = 25
    preset: str = "veryfast"
    crf: int = Field(23, ge=0, le=51)
    profile: Literal["high", "main"] = "high"
    audio_bitrate: str = "192k"
    audio_rate: int = 48000
    #: x264 options for slides (encode.STILL_X264): half the CPU of plain veryfast on stills, higher PSNR
    #: (docs/decisions/2026-12-03-tv-narration-and-render-once.md); "" = the preset alone.
    x264_params: str = "bframes=0:rc-lookahead=0:mbtree=0:scenecut=0:subme=0:me=dia:ref=1"
    #: Frames x264 encodes of each still before the rest of the still is filled with copied skip
    #: pictures (hub.renderers.video.stillrun); 0 = x264 encodes every frame.
    still_refine_frames: int = Field(25, ge=0, le=250)
    #: Slide segments encoded at once (each x264 with one thread); 0 = the number of CPUs, at most 4.
    parallel_segments: int = Field(0, ge=0, le=16)


class Loudness(_Strict):
    target_i: float = -24.0
    tolerance_lu: float = 1.0
    true_peak_max: float = -2.0
    normalise_true_peak: float = -3.0
    lra: float = 11.0


class TimelineSpec(_Strict):
    min_slide_seconds: float = 4.0
    lead_in_seconds: float = 0.4
    pause_seconds: float = 1.0
    crossfade_frames: int = Field(8, ge=0, le=25)
    tail_frames: int = Field(5, ge=0)
    end_card_seconds: float = 6.0
    lower_third_slides: int = 2


class TextSpec(_Strict):
    slide_chars_per_line: int = 16
    slide_max_lines: int = 6
    subtitle_chars_per_line: int = 18
    subtitle_max_lines: int = Field(2, ge=1, le=2)
    subtitle_px: int = 54


class NarrationSpec(_Strict):
    engine: Literal["auto", "tencent", "espeak", "none"] = "auto"
    espeak_voice: str = "cmn-latn-pinyin"
    espeak_speed: int = 210
    tencent_account: str = "tencent-tts"
    tencent_sample_rate: Literal[8000, 16000, 24000] = 16000


class MxfSpec(_Strict):
    enabled: bool = False
    video_bitrate: str = "50M"
    gop: int = 12
    top_field_first: bool = True
    audio_bits: Literal[16, 24] = 24


class StationProfile(_Strict):
    """One station's delivery profile.

    Parameters:
      key(str): the profile's name in stations.toml.
      name(str): the station, for people.
      mp4, loudness, timeline, text, narration, mxf: the sections of the file.
    """

    key: str = "default"
    name: str = ""
    mp4: Mp4Spec = Mp4Spec()
    loudness: Loudness = Loudness()
    timeline: TimelineSpec = TimelineSpec()
    text: TextSpec = TextSpec()
    narration: NarrationSpec = NarrationSpec()
    mxf: MxfSpec = MxfSpec()

    @property
    def frame_seconds(self) -> float:
        return 1.0 / self.mp4.fps


def load_profiles(path: Path) -> tuple[str, dict[str, StationProfile]]:
    """``(default key, key → profile)`` from ``path``; one ConfigError naming the key on any problem."""
    data = read_toml(path)
    profiles: dict[str, StationProfile] = {}
    for key, table in (data.get("stations") or {}).items():
        try:
            profiles[key] = StationProfile.model_validate({"key": key, **table})
        except ValidationError as exc:
            raise invalid(path, exc, ("stations", key)) from None
    default = str(data.get("default") or "")
    if default not in profiles:
        raise ConfigError(f"{path.name}: default: no station profile named {default!r}")
    return default, profiles


@lru_cache(maxsize=4)
def _cached(path: str) -> tuple[str, dict[str, StationProfile]]:
    return load_profiles(Path(path))


def get_profile(key: str | None = None) -> StationProfile:
    """The profile ``key`` (or the file's default) from ``config/stations.toml``."""
    default, profiles = _cached(str(get_settings().config_dir / "stations.toml"))
    name = key or default
    if name not in profiles:
        raise ConfigError(f"stations.toml: no station profile named {name!r}")
    return profiles[name]
