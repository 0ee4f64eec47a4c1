"""Loudness: measure with ffmpeg's ``ebur128`` (BS.1770, the meter family of GY/T 262), normalise in two passes.

Pass 1 measures the narration track with ``ebur128=peak=true``: integrated
loudness, its gating threshold, loudness range and true peak.

Pass 2 runs inside the encode's filter graph. When a plain gain reaches the
target without pushing the true peak over the profile's ``normalise_true_peak``,
it is a ``volume`` filter of exactly ``target − measured`` dB: that is what
``loudnorm`` does in its ``linear=true`` mode, without loudnorm's internal 192 kHz
resampling (which cost several CPU seconds per minute of audio here: more than the
whole QC). Otherwise it is ``loudnorm`` given the pass-1 values (its dynamic mode
with a true-peak limiter). Either way the finished file is measured again by QC.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from hub.renderers.video import ffmpeg
from hub.renderers.video.profile import StationProfile

_I = re.compile(r"Integrated loudness:\s*I:\s*(-?[\d.]+|-inf|nan) LUFS\s*Threshold:\s*(-?[\d.]+|-inf|nan) LUFS")
_LRA = re.compile(r"Loudness range:\s*LRA:\s*(-?[\d.]+|nan) LU")
_TP = re.compile(r"True peak:\s*Peak:\s*(-?[\d.]+|-inf|nan) dBFS")
#: ebur128's integrated loudness of digital silence is -70 (the absolute gate).
SILENCE_LUFS = -69.0


@dataclass(frozen=True, slots=True)
class Measured:
    integrated: float | None
    threshold: float | None
    lra: float | None
    true_peak: float | None

    @property
    def silent(self) -> bool:
        return self.integrated is None or self.integrated <= SILENCE_LUFS


def _num(rx: re.Pattern[str], text: str, group: int = 1) -> float | None:
    m = rx.search(text)
    if not m or m.group(group) in ("-inf", "nan"):
        return None
    return float(m.group(group))


def parse_ebur128(stderr: str) -> Measured:
    """The ``Summary:`` block ebur128 prints at the end of a run."""
    summary = stderr[stderr.rfind("Summary:"):]
    return Measured(_num(_I, summary), _num(_I, summary, 2), _num(_LRA, summary), _num(_TP, summary))


def measure(path: Path) -> Measured:
    """Pass 1: the loudness of an audio file (or a file's first audio stream)."""
    proc = ffmpeg.run([ffmpeg.ffmpeg_bin(), "-nostdin", "-hide_banner", "-nostats", "-i", str(path),
                       "-map", "0:a:0", "-af", "ebur128=peak=true:framelog=verbose", "-f", "null", "-"],
                      what="loudness measurement (ebur128)")
    return parse_ebur128(proc.stderr)


def normalise_filter(measured: Measured | None, profile: StationProfile, total_frames: int) -> str:
    """Pass 2, then conversion to the delivery rate in stereo, padded/trimmed to exactly the
    programme's length (the resampler would otherwise end a few AAC frames short)."""
    ld, rate = profile.loudness, profile.mp4.audio_rate
    samples = round(total_frames * rate / profile.mp4.fps)
    tail = (f"aresample={rate},aformat=sample_fmts=fltp:sample_rates={rate}:channel_layouts=stereo,"
            f"apad=whole_len={samples},atrim=end_sample={samples}")
    if measured is None or measured.silent or measured.integrated is None:
        return tail
    gain = ld.target_i - measured.integrated
    peak = measured.true_peak if measured.true_peak is not None else 0.0
    if peak + gain <= ld.normalise_true_peak:
        return f"volume={gain:.2f}dB:precision=double,{tail}"
    return (f"loudnorm=I={ld.target_i}:TP={ld.normalise_true_peak}:LRA={ld.lra}"
            f":measured_I={measured.integrated}:measured_TP={peak}"
            f":measured_LRA={measured.lra or 0}:measured_thresh={measured.threshold or -70}"
            f":linear=true:print_format=none,{tail}")
