"""The timeline as data: slide and cue timings in whole frames, the shot list, and the audio track.

Everything is counted in frames (25 per second) so that the picture, the SRT,
the narration samples and the QC's expectations agree exactly; a duration in
float seconds would drift by a frame here and there.

A slide lasts ``lead-in + its cues' speech + pause`` (at least ``min_slide_seconds``).
The cross-fade to the next slide sits in the last frames of the pause, so the
programme's length is exactly the sum of its slides plus the still-frame tail,
and no fade ever covers a subtitle or a word.

A *shot* is a run of identical frames (one still image) or one frame of a
cross-fade. ffmpeg encodes the shot list with the concat demuxer: each still is
decoded and colour-converted once and duplicated by the ``fps`` filter
(performance.md §A), which is what keeps the render near the direct-ffmpeg floor.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from hub.renderers.video.narration import Speech
from hub.renderers.video.profile import StationProfile
from hub.renderers.video.storyboard import SlidePlan
from hub.renderers.video.subtitles import Cue

#: Reading speed assumed for subtitles when there is no narrator (characters a second).
SILENT_CHARS_PER_SECOND = 4.5
#: No subtitle is on screen for less than this (a two-character cue spoken in 0.4 s would flash by);
#: its speech starts with it, and the rest of the cue is silence, so sound and text stay in sync.
MIN_CUE_SECONDS = 1.0


@dataclass(slots=True)
class SlideTiming:
    plan: SlidePlan
    start: int
    frames: int
    cues: list[Cue] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Shot:
    """``frames`` frames of one image ``key`` starting at frame ``start``; ``fade`` frames are not stills."""

    key: str
    start: int
    frames: int
    fade: bool = False


@dataclass(slots=True)
class Timeline:
    fps: int
    slides: list[SlideTiming]
    shots: list[Shot]
    tail_frames: int
    #: fade key → (from image key, to image key, alpha)
    fades: dict[str, tuple[str, str, float]]

    @property
    def programme_frames(self) -> int:
        return sum(s.frames for s in self.slides)

    @property
    def total_frames(self) -> int:
        return self.programme_frames + self.tail_frames

    @property
    def seconds(self) -> float:
        return self.total_frames / self.fps

    @property
    def cues(self) -> list[Cue]:
        return [c for s in self.slides for c in s.cues]

    def keyframe_times(self) -> list[float]:
        """Start of every still shot: each new picture begins on a keyframe (QC decodes only those)."""
        return [shot.start / self.fps for shot in self.shots if not shot.fade]

    def longest_still(self) -> int:
        return max((s.frames for s in self.shots if not s.fade), default=0)


def frames_for(seconds: float, fps: int) -> int:
    return max(0, math.ceil(round(seconds * fps, 6)))


def build(profile: StationProfile, plans: list[SlidePlan], chunks: list[list[str]],
          lines: list[list[list[str]]], speech: list[list[Speech | None]]) -> Timeline:
    """Time every slide and cue.

    Parameters:
      plans: the storyboard; chunks[i]: slide i's spoken chunks; lines[i][j]: chunk j's subtitle lines;
      speech[i][j]: its audio (None without a narrator: timed at a reading speed instead).
    """
    fps = profile.mp4.fps
    tl = profile.timeline
    lead, pause = frames_for(tl.lead_in_seconds, fps), frames_for(tl.pause_seconds, fps)
    fade = min(tl.crossfade_frames, pause)
    slides: list[SlideTiming] = []
    shots: list[Shot] = []
    fades: dict[str, tuple[str, str, float]] = {}
    start = 0
    for i, plan in enumerate(plans):
        base = f"s{i:02d}"
        cues: list[Cue] = []
        t = start + lead
        for j, text in enumerate(chunks[i]):
            clip = speech[i][j]
            n = frames_for(clip.seconds if clip is not None else len(text) / SILENT_CHARS_PER_SECOND, fps)
            n = max(n, frames_for(MIN_CUE_SECONDS, fps))
            cues.append(Cue(text, lines[i][j], t, t + n))
            t += n
        minimum = tl.end_card_seconds if plan.kind == "end" else tl.min_slide_seconds
        frames = max(frames_for(minimum, fps), t - start + pause)
        slides.append(SlideTiming(plan, start, frames, cues))
        last = i == len(plans) - 1
        my_fade = 0 if last else fade
        if lead:
            shots.append(Shot(base, start, lead))
        for j, cue in enumerate(cues):
            shots.append(Shot(f"{base}c{j:02d}", cue.start, cue.end - cue.start))
        rest_start = cues[-1].end if cues else start + lead
        rest = start + frames - my_fade - rest_start
        if rest > 0:
            shots.append(Shot(base, rest_start, rest))
        for k in range(my_fade):
            key = f"x{i:02d}f{k:02d}"
            fades[key] = (base, f"s{i + 1:02d}", (k + 1) / (my_fade + 1))
            shots.append(Shot(key, start + frames - my_fade + k, 1, fade=True))
        start += frames
    if tl.tail_frames and shots:
        shots.append(Shot(f"s{len(plans) - 1:02d}", start, tl.tail_frames))
    merged: list[Shot] = []
    for shot in shots:
        if merged and merged[-1].key == shot.key and not shot.fade:
            prev = merged.pop()
            shot = Shot(prev.key, prev.start, prev.frames + shot.frames)
        merged.append(shot)
    return Timeline(fps, slides, merged, tl.tail_frames, fades)


def audio_track(timeline: Timeline, speech: list[list[Speech | None]], rate: int) -> np.ndarray:
    """Mono int16 samples of the whole programme: each cue's speech at its cue's start, silence elsewhere."""
    fps = timeline.fps
    total = round(timeline.total_frames * rate / fps)
    track = np.zeros(total, dtype=np.int16)
    for slide, clips in zip(timeline.slides, speech, strict=True):
        for cue, clip in zip(slide.cues, clips, strict=True):
            if clip is None:
                continue
            at = round(cue.start * rate / fps)
            room = round(cue.end * rate / fps) - at
            data = clip.samples[:room]
            track[at:at + len(data)] = data
    return track
