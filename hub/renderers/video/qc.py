"""Quality control of the finished MP4, measured with ffprobe and ffmpeg, each check pass or fail.

What is measured, and how it stays cheap (a full decode of a 1080p file costs a
quarter of its encode, performance.md-style measurements in docs/video.md):

- stream facts (ffprobe): resolution, frame rate, progressive, codec/profile/pixel
  format, AAC-LC 48 kHz stereo, frame count and durations;
- loudness (ffmpeg ``ebur128=peak=true`` on the decoded audio): integrated
  loudness within target ± tolerance, true peak at or below the maximum;
- black frames: ``blackdetect`` on every keyframe; the encoder puts a keyframe at
  each new still (``-force_key_frames``), so the keyframes are exactly the
  distinct pictures and nothing else needs decoding. Intended black: none;
- frozen frames beyond the intended: from the video packets (ffprobe), a frame
  identical to the previous one is coded as a skip frame of a few dozen bytes, a
  new picture as hundreds of kilobytes. The longest run of unchanged frames must
  not exceed the longest still of the timeline (+1 frame), and the picture must
  change at every intended change;
- subtitles: every line fits the subtitle band at the subtitle font size, at most
  ``subtitle_max_lines`` lines a cue.

A package whose report does not pass is not deliverable: ``QCFailed`` names the checks.
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from hub.errors import QCFailed
from hub.renderers.video import ffmpeg
from hub.renderers.video.loudness import parse_ebur128
from hub.renderers.video.profile import StationProfile
from hub.renderers.video.slides import SlideArtist
from hub.renderers.video.timeline import Timeline

#: A video packet at least this large carries a new picture (skip frames are ~70 bytes).
CHANGE_BYTES = 1500


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    ok: bool
    measured: Any
    expected: Any
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        out = {"check": self.name, "pass": self.ok, "measured": self.measured, "expected": self.expected}
        if self.note:
            out["note"] = self.note
        return out


@dataclass(slots=True)
class QCReport:
    checks: list[Check] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return all(c.ok for c in self.checks)

    @property
    def failed(self) -> list[Check]:
        return [c for c in self.checks if not c.ok]

    def add(self, name: str, ok: bool, measured: Any, expected: Any, note: str = "") -> None:
        self.checks.append(Check(name, bool(ok), measured, expected, note))

    def to_json(self) -> dict[str, Any]:
        return {"pass": self.passed, "deliverable": self.passed, "checks": [c.to_json() for c in self.checks],
                "warnings": self.warnings, "measured": self.facts}

    def raise_if_failed(self, what: str = "video") -> None:
        if not self.passed:
            detail = "; ".join(f"{c.name}: measured {c.measured}, expected {c.expected}" for c in self.failed)
            raise QCFailed(f"{what}: QC failed ({', '.join(c.name for c in self.failed)}): {detail}")


_BLACK = re.compile(r"black_start:\s*([\d.]+)\s+black_end:\s*([\d.]+)")


def measure_picture_and_sound(path: Path) -> dict[str, Any]:
    """One ffmpeg pass: keyframes through blackdetect, the audio through ebur128 (true peak)."""
    proc = ffmpeg.run([ffmpeg.ffmpeg_bin(), "-nostdin", "-hide_banner", "-nostats", "-skip_frame", "nokey",
                       "-i", str(path), "-filter_complex",
                       "[0:v]blackdetect=d=0:pic_th=0.98:pix_th=0.10[v];[0:a]ebur128=peak=true:framelog=verbose[a]",
                       "-map", "[v]", "-map", "[a]", "-f", "null", "-"], what="QC measurement")
    err = proc.stderr
    m = parse_ebur128(err)
    return {"integrated_lufs": None if m.silent else m.integrated, "lra_lu": m.lra, "true_peak_dbtp": m.true_peak,
            "black": [[float(a), float(b)] for a, b in _BLACK.findall(err)]}


def _runs(sizes: list[int]) -> tuple[list[int], int]:
    """Frames where the picture changes, and the longest run of unchanged frames (change frame included)."""
    changes = [i for i, s in enumerate(sizes) if s >= CHANGE_BYTES or i == 0]
    bounds = [*changes, len(sizes)]
    longest = max((b - a for a, b in zip(bounds, bounds[1:], strict=False)), default=0)
    return changes, longest


def run_qc(path: Path, *, profile: StationProfile, timeline: Timeline, artist: SlideArtist,
           silent: bool) -> QCReport:
    """Measure ``path`` and judge it against ``profile`` and the intended ``timeline``."""
    spec, ld, fps = profile.mp4, profile.loudness, profile.mp4.fps
    report = QCReport()
    # the stream/packet probe and the keyframe+audio pass are independent: run them side by side
    with ThreadPoolExecutor(max_workers=2) as pool:
        probing = pool.submit(ffmpeg.probe, path, packets=True)
        measuring = pool.submit(measure_picture_and_sound, path)
        info, m = probing.result(), measuring.result()
    streams = info.get("streams", [])
    v: dict[str, Any] = next((s for s in streams if s.get("codec_type") == "video"), {})
    a: dict[str, Any] = next((s for s in streams if s.get("codec_type") == "audio"), {})
    vindex = v.get("index", 0)
    packets = sorted((p for p in info.get("packets", []) if p.get("stream_index") == vindex),
                     key=lambda p: int(p.get("pts", 0)))
    sizes = [int(p["size"]) for p in packets]
    rate = Fraction(v.get("r_frame_rate", "0/1"))
    frames = len(sizes)
    report.facts.update({
        "width": v.get("width"), "height": v.get("height"), "fps": str(rate), "field_order": v.get("field_order"),
        "video_codec": v.get("codec_name"), "video_profile": v.get("profile"), "pix_fmt": v.get("pix_fmt"),
        "audio_codec": a.get("codec_name"), "audio_profile": a.get("profile"),
        "audio_rate": int(a.get("sample_rate", 0) or 0), "audio_channels": a.get("channels"),
        "frames": frames, "duration_s": round(frames / fps, 3),
        "audio_duration_s": round(float(a.get("duration", 0) or 0), 3),
        "bytes": int(info.get("format", {}).get("size", 0) or 0),
        "bit_rate": int(info.get("format", {}).get("bit_rate", 0) or 0),
    })
    f = report.facts
    report.add("resolution", (f["width"], f["height"]) == (spec.width, spec.height),
               f"{f['width']}x{f['height']}", f"{spec.width}x{spec.height}")
    report.add("frame_rate", rate == spec.fps and f["field_order"] in (None, "progressive"),
               f"{rate} {f['field_order'] or 'progressive'}", f"{spec.fps}/1 progressive")
    report.add("video_codec", (f["video_codec"], f["video_profile"], f["pix_fmt"]) == ("h264", spec.profile.title(), "yuv420p"),
               f"{f['video_codec']} {f['video_profile']} {f['pix_fmt']}", f"h264 {spec.profile.title()} yuv420p")
    report.add("audio_codec", (f["audio_codec"], f["audio_profile"], f["audio_rate"], f["audio_channels"])
               == ("aac", "LC", spec.audio_rate, 2),
               f"{f['audio_codec']} {f['audio_profile']} {f['audio_rate']} Hz {f['audio_channels']} ch",
               f"aac LC {spec.audio_rate} Hz 2 ch")
    report.add("duration", frames == timeline.total_frames and abs(f["audio_duration_s"] - frames / fps) <= 1 / fps,
               {"frames": frames, "video_s": f["duration_s"], "audio_s": f["audio_duration_s"]},
               {"frames": timeline.total_frames, "video_s": round(timeline.seconds, 3)},
               "sum of the slides plus the still-frame tail; audio within one frame of the video")

    f.update({k: m[k] for k in ("integrated_lufs", "lra_lu", "true_peak_dbtp")})
    lo, hi = ld.target_i - ld.tolerance_lu, ld.target_i + ld.tolerance_lu
    if silent:
        report.warnings.append("no narration (no TTS engine): the programme is silent; loudness not applicable")
        report.add("loudness", m["integrated_lufs"] is None, m["integrated_lufs"],
                   "silence", "no narrator")
        report.add("true_peak", m["true_peak_dbtp"] is None or m["true_peak_dbtp"] <= ld.true_peak_max,
                   m["true_peak_dbtp"], f"<= {ld.true_peak_max}")
    else:
        i = m["integrated_lufs"]
        report.add("loudness", i is not None and lo <= i <= hi, i, f"{ld.target_i} ± {ld.tolerance_lu} LUFS")
        tp = m["true_peak_dbtp"]
        report.add("true_peak", tp is not None and tp <= ld.true_peak_max, tp, f"<= {ld.true_peak_max} dBTP")
    report.add("black_frames", not m["black"], m["black"], [], "blackdetect on every keyframe (each distinct still)")

    changes, longest = _runs(sizes)
    # every new still must show up as a new picture; the faint first frames of a cross-fade may
    # be coded nearly as skips, so a run may reach into the fade that follows a still
    intended = [s.start for s in timeline.shots if not s.fade]
    missed = [c for c in intended if c < frames and not any(abs(c - x) <= 1 for x in changes)]
    allowed = timeline.longest_still() + max((len([s for s in timeline.shots if s.fade]) and
                                               profile.timeline.crossfade_frames), 0) + 1
    report.add("frozen_frames", longest <= allowed and not missed,
               {"longest_unchanged_frames": longest, "missed_changes": missed[:10]},
               {"longest_unchanged_at_most": allowed, "changes": len(intended)},
               "from packet sizes: skip frames are unchanged pictures")

    too_wide = [line for c in timeline.cues for line in c.lines if not artist.subtitle_width_ok(line)]
    too_many = [c.spoken for c in timeline.cues if len(c.lines) > profile.text.subtitle_max_lines]
    report.add("subtitle_width", not too_wide and not too_many,
               {"too_wide": too_wide[:5], "too_many_lines": too_many[:5]}, "every line inside the subtitle band")
    return report
