"""The TV package: storyboard → speech and stills → timeline → encode → QC → folder, manifest and zip.

Order of work, chosen for a 2-core box (docs/video.md has the measurements):
speech is synthesised in a small thread pool while the main thread draws each
slide once and writes it as a PNG into the scratch folder (no drawn image stays in
the process); then each slide is encoded as a segment, two at once, a held still's
repeated frames copied as skip pictures (stillrun.py), the narration encoded
alongside; one mux copies both; then one QC pass that decodes only the keyframes
and the audio.

The package folder is ``<record id>-<version[:12]>/`` with video.mp4, poster.jpg,
script.txt, subtitles.srt, manifest.json, qc.json (and video.mxf when the station
profile asks for it); the zip holds the same folder. A package that fails QC
keeps its qc.json in the folder for diagnosis but raises ``QCFailed`` and is never
stored as a rendition.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import resource
import shutil
import tempfile
import threading
import time
import wave
import zipfile
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from hub.deliverables import Rendition, sha256_file
from hub.progress import Bar
from hub.record import Record, short_version
from hub.renderers.base import ArtifactStore, RenderContext
from hub.renderers.qr import qr_png
from hub.renderers.video import claim, encode, ffmpeg, loudness, mandarin, stillrun, storyboard, timeline
from hub.renderers.video.narration import Narrator, Speech, decode_wav, resample, select_narrator
from hub.renderers.video.profile import StationProfile, get_profile
from hub.renderers.video.qc import QCReport, run_qc
from hub.renderers.video.slides import SlideArtist, Still
from hub.renderers.video.speech import speech_text
from hub.renderers.video.subtitles import chunk, cue_lines, to_srt

log = logging.getLogger(__name__)

DEFAULT_FONT = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"
#: Fixed zip entry time: the zip's bytes depend on its contents only.
ZIP_TIME = (1980, 1, 1, 0, 0, 0)
MEDIA_TYPES = {".mp4": "video/mp4", ".jpg": "image/jpeg", ".txt": "text/plain; charset=utf-8",
               ".srt": "application/x-subrip", ".json": "application/json", ".mxf": "application/mxf",
               ".zip": "application/zip"}


@dataclass(slots=True)
class Package:
    """A finished, QC-passed package on disk."""

    name: str
    folder: Path
    zip_path: Path
    manifest: dict[str, Any]
    qc: QCReport
    timeline: timeline.Timeline
    stills: dict[str, Path] = field(default_factory=dict)
    wav: Path | None = None
    #: wall and CPU seconds (this process + finished children) per stage
    timings: dict[str, float] = field(default_factory=dict)
    cpu: dict[str, float] = field(default_factory=dict)


class Stopwatch:
    """Wall and CPU time per named stage (CPU includes ffmpeg and espeak children once they exit)."""

    def __init__(self) -> None:
        self.wall: dict[str, float] = {}
        self.cpu: dict[str, float] = {}

    @staticmethod
    def _cpu() -> float:
        own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime

    @contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        w, c = time.perf_counter(), self._cpu()
        try:
            yield
        finally:
            self.wall[stage] = round(time.perf_counter() - w, 3)
            self.cpu[stage] = round(self._cpu() - c, 3)


def _write_stills(tl: timeline.Timeline, stills: dict[str, Still], tmp: Path) -> dict[str, Path]:
    """Each distinct image once, as PPM; cross-fade frames are blended here. Two threads: Pillow
    releases the GIL while blending and writing."""
    jobs: dict[str, Path] = {}
    for shot in tl.shots:
        jobs.setdefault(shot.key, tmp / f"{shot.key}.ppm")

    def write(key: str) -> None:
        if key in tl.fades:
            a, b, alpha = tl.fades[key]
            Image.blend(stills[a].image, stills[b].image, alpha).save(jobs[key])
        else:
            stills[key].image.save(jobs[key])

    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(write, jobs))
    return jobs


def _scratch() -> str | None:
    """Where the intermediate stills go: RAM (/dev/shm) when it has room, since a package writes
    a few hundred MB of raw frames that ffmpeg reads once; else the default temp dir."""
    shm = Path("/dev/shm")  # noqa: S108 -- only a parent for mkdtemp's private 0700 directory
    try:
        if shm.is_dir() and shutil.disk_usage(shm).free > 2 * 1024**3 and os.access(shm, os.W_OK):
            return str(shm)
    except OSError:
        pass
    return None


def scratch_prefix(pid: int | None = None) -> str:
    """``hub-video-<host>-<pid>-`` (this process's, or ``pid``'s): a killed render's scratch is
    recognised (and swept) by its dead pid."""
    host_pid = claim.owner_id().rsplit("-", 1)[0]
    if pid is not None:
        host_pid = f"{host_pid.rsplit('-', 1)[0]}-{pid}"
    return f"hub-video-{host_pid}-"


def scratch_parents() -> list[Path]:
    """Where scratch folders may be: /dev/shm (when used) and the temp dir."""
    return [Path(p) for p in {_scratch() or tempfile.gettempdir(), tempfile.gettempdir()}]


def package_name(record_id: str, version: str) -> str:
    return f"{record_id}-{short_version(version)}"


def _draw(artist: SlideArtist, plan: storyboard.SlidePlan, qr: bytes, lower_third: str | None) -> Still:
    if plan.kind == "title":
        return artist.title_card(plan.text, plan.meta["department"], plan.meta["date"], plan.meta["doc_no"])
    if plan.kind == "point":
        return artist.point_slide(plan.label, plan.text, lower_third)
    if plan.kind == "data":
        assert plan.table is not None
        total = plan.meta.get("total_rows")
        return artist.data_slide(*plan.table, total=int(total) if total else None)
    return artist.end_card(qr, plan.meta["url"], plan.meta["department"])


def _synthesize(narrator: Narrator | None, texts: list[list[str]], pool: ThreadPoolExecutor
                ) -> list[list[Future[bytes]]] | None:
    if narrator is None:
        return None
    return [[pool.submit(narrator.synthesize, t) for t in slide] for slide in texts]


def _write_wav(path: Path, samples: np.ndarray, rate: int) -> None:
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(samples.astype("<i2").tobytes())


def _script(tl: timeline.Timeline, record: Record, said: list[list[str]]) -> str:
    """The announcer's script: per slide its start time and what is *said* (the speech text,
    numbers and dates written out, URLs replaced by the QR phrase), not the screen text."""
    out = [record.title, f"{record.doc_no or ''}  {record.department or ''}".strip(), ""]
    names = {"title": "标题", "point": "要点", "data": "数据", "end": "片尾"}
    for slide, lines in zip(tl.slides, said, strict=True):
        s = slide.start // tl.fps
        out.append(f"[{s // 60:02d}:{s % 60:02d}] {names[slide.plan.kind]} {slide.plan.label}".rstrip())
        out.append("".join(lines))
        out.append("")
    return "\n".join(out)


def script_json(tl: timeline.Timeline, said: list[list[str]]) -> list[dict[str, Any]]:
    """The narration script for qc.json: each cue's screen text, spoken text and time (s)."""
    return [{"slide": i, "start_s": round(c.start / tl.fps, 3), "end_s": round(c.end / tl.fps, 3),
             "screen": "".join(c.lines), "said": text}
            for i, (slide, lines) in enumerate(zip(tl.slides, said, strict=True))
            for c, text in zip(slide.cues, lines, strict=True)]


def narration_check(report: QCReport, said: list[list[str]], speech: list[list[Speech | None]],
                    narrator: Narrator | None) -> None:
    """Add the ``narration_mandarin`` check (mandarin.py): trace, duration and voicing of every cue."""
    if narrator is None:
        return
    voice = mandarin.trace_voice(narrator.name)
    if voice is None:
        report.warnings.append("espeak-ng 未安装：未做普通话音素检查")
    flat_text = [t for slide in said for t in slide]
    flat_speech = [s for slide in speech for s in slide]
    verdicts = mandarin.judge(flat_text, flat_speech, voice)
    bad = [{"text": v.text, "problems": v.problems, "seconds": v.seconds, "syllables": v.syllables}
           for v in verdicts if v.problems]
    per = [v.seconds / v.syllables for v in verdicts if v.syllables]
    report.facts["narration"] = {
        "trace_voice": voice, "lines": len(verdicts),
        "s_per_syllable": [round(min(per), 3), round(max(per), 3)] if per else None,
        "min_voiced": min((v.voiced for v in verdicts if v.syllables), default=None),
        "longest_gap_s": max((v.longest_gap_s for v in verdicts), default=None)}
    report.add("narration_mandarin", not bad, {"bad_lines": bad[:8], "bad": len(bad)},
               {"language_switches": 0,
                "s_per_syllable": [mandarin.MIN_S_PER_SYLLABLE, mandarin.MAX_S_PER_SYLLABLE],
                "voiced_at_least": mandarin.MIN_VOICED, "gap_at_most_s": mandarin.MAX_GAP_S},
               "espeak-ng phoneme trace shows no switch to another language; every line's audio fits its text")


def _zip(folder: Path, out: Path, names: Iterable[str]) -> None:
    with zipfile.ZipFile(out, "w") as zf:
        for name in sorted(names):
            info = zipfile.ZipInfo(f"{folder.name}/{name}", ZIP_TIME)
            info.external_attr = 0o644 << 16
            compressed = name.endswith((".txt", ".srt", ".json"))
            info.compress_type = zipfile.ZIP_DEFLATED if compressed else zipfile.ZIP_STORED
            with (folder / name).open("rb") as src, zf.open(info, "w") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)


def build_package(record: Record, ctx: RenderContext, out_dir: Path, *, profile: StationProfile | None = None,
                  narrator: Narrator | None | str = "auto", progress: bool | None = None,
                  work_dir: Path | None = None) -> Package:
    """Render ``record`` into ``out_dir/<record>-<version>/`` and its zip beside it.

    Parameters:
      profile: the station profile (default: stations.toml's default).
      narrator: a Narrator, None for silence, or "auto" to select from config/env.
      progress: draw a progress bar on stderr (default: only when stderr is a terminal).
      work_dir: where the intermediate stills and WAV go, kept (default: a private scratch folder,
        removed; a killed render's is swept by the next render, claim.sweep).
    Raises ``QCFailed`` when the finished file fails a check.
    """
    watch = Stopwatch()
    profile = profile or get_profile()
    if isinstance(narrator, str):
        narrator = select_narrator(profile.narration)
    render = dict(ctx.settings.get("render") or {})
    font_path = str(render.get("font") or DEFAULT_FONT)
    site_name = str(ctx.settings.get("site_name") or "")
    name = package_name(record.id, ctx.version)
    folder = out_dir / name
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    tmp = Path(tempfile.mkdtemp(prefix=scratch_prefix(), dir=_scratch())) if work_dir is None else work_dir
    tmp.mkdir(parents=True, exist_ok=True)
    try:
        with watch("total"):
            pkg = _build(record, ctx, profile, narrator, progress, font_path, site_name, name, folder, tmp,
                         watch, keep_work=work_dir is not None)
        pkg.timings = watch.wall
        pkg.cpu = watch.cpu
        return pkg
    finally:
        if work_dir is None:
            shutil.rmtree(tmp, ignore_errors=True)


def _single_encode(tl: timeline.Timeline, stills: dict[str, Still], tmp: Path, wav: Path, video: Path, folder: Path,
                   profile: StationProfile, silent: bool, progress: bool | None, name: str,
                   watch: Stopwatch) -> dict[str, Path]:
    """Every still written up front, one encode for the MP4 and one for the MXF master (the MXF
    profile's path: the master needs the whole shot list, and stations that want it have the room)."""
    with ThreadPoolExecutor(max_workers=1) as pool, watch("stills_and_loudness"):
        pass1 = None if silent else pool.submit(loudness.measure, wav)
        paths = _write_stills(tl, stills, tmp)
        shots_file = tmp / "shots.ffconcat"
        shots_file.write_text(encode.concat_list([(paths[s.key], s.frames) for s in tl.shots], tl.fps))
        measured = pass1.result() if pass1 is not None else None
    with watch("encode"):
        ffmpeg.run_with_progress(
            encode.mp4_args(shots_file, wav, video, profile=profile, keyframes=tl.keyframe_times(),
                            measured=measured, total_frames=tl.total_frames),
            what=f"video {name}", total_seconds=tl.seconds, progress=progress)
    with watch("mxf"):
        ffmpeg.run_with_progress(
            encode.mxf_args(shots_file, wav, folder / "video.mxf", profile=profile, measured=measured,
                            total_frames=tl.total_frames),
            what=f"mxf {name}", total_seconds=tl.seconds, progress=progress)
    return paths


def segments(tl: timeline.Timeline) -> list[list[timeline.Shot]]:
    """The shots of each slide (the still-frame tail goes with the last slide)."""
    bounds = [s.start for s in tl.slides]
    out: list[list[timeline.Shot]] = [[] for _ in tl.slides]
    for shot in tl.shots:
        i = max(k for k, b in enumerate(bounds) if b <= shot.start)
        out[i].append(shot)
    return out


def _segmented_encode(tl: timeline.Timeline, bases: dict[str, Path], lines: list[list[list[str]]],
                      artist: SlideArtist, tmp: Path, wav: Path, video: Path, profile: StationProfile,
                      silent: bool, progress: bool | None, name: str, watch: Stopwatch,
                      keep: bool = False) -> dict[str, str]:
    """Each slide encoded on its own, a few at once, then joined and muxed (encode.py says why).

    ``bases`` are the slides' drawn stills as PNG files in the scratch folder (not Pillow images:
    fifteen 1080p slides held in the process were 93 MB of the render's peak). A worker loads its
    slide (and the next, for the cross-fade), draws the subtitle stills and fade frames, writes
    them as PNG, encodes the segment and deletes them, so the scratch holds at most one slide's
    frames per worker (a few MB). Returns each still's sha256 for the manifest.
    ``keep`` (a caller's own work_dir) keeps the stills and writes ``shots.ffconcat`` over all
    of them: the benchmark's direct-ffmpeg floor encodes exactly these.
    """
    parts = segments(tl)
    workers = profile.mp4.parallel_segments or min(4, os.cpu_count() or 1)
    hashes: dict[str, str] = {}
    bar = Bar(f"video {name}", tl.seconds, enabled=progress)
    done_frames = 0
    lock = threading.Lock()

    def one(i: int) -> Path:
        nonlocal done_frames
        shots = parts[i]
        seg_dir = tmp / f"seg{i:02d}"
        seg_dir.mkdir(exist_ok=True)
        loaded: dict[str, Image.Image] = {}

        def base(key: str) -> Image.Image:
            if key not in loaded:
                with Image.open(bases[key]) as im:
                    loaded[key] = im.convert("RGB")
            return loaded[key]

        def image(key: str) -> Image.Image:
            if key in tl.fades:
                a, b, alpha = tl.fades[key]
                return Image.blend(base(a), base(b), alpha)
            if "c" in key:
                slide, cue = int(key[1:3]), int(key[4:6])
                return artist.with_subtitle(Still(base(key[:3])), lines[slide][cue]).image
            return base(key)

        files: dict[str, Path] = {}
        for shot in shots:
            if shot.key not in files:
                # PNG at zlib level 1: ~170 KB a slide instead of a 6 MB PPM, so the scratch stays
                # a few MB (issue 17: ≤ 500 MB for a whole render); ~35 ms more a still
                files[shot.key] = seg_dir / f"{shot.key}.png"
                if shot.key in bases and not keep:
                    files[shot.key] = bases[shot.key]  # already written by the draw phase
                else:
                    image(shot.key).save(files[shot.key], compress_level=1)
        loaded.clear()
        with lock:
            hashes.update({k: sha256_file(p) for k, p in files.items()})
        out = encode_segment(files, [(s.key, s.frames, s.fade) for s in shots], seg_dir, tmp / f"seg{i:02d}.h264",
                             profile, skip, what=f"video {name} slide {i + 1}")
        frames = sum(s.frames for s in shots)
        if not keep:
            shutil.rmtree(seg_dir, ignore_errors=True)
        with lock:
            done_frames += frames
            bar.update(done_frames / tl.fps)
        return out

    def sound() -> Path:
        measured = None if silent else loudness.measure(wav)
        out = tmp / "narration.m4a"
        ffmpeg.run(encode.audio_args(wav, out, profile=profile, measured=measured, total_frames=tl.total_frames),
                   what=f"video {name} audio")
        return out

    try:
        with ThreadPoolExecutor(max_workers=1) as audio_pool, watch("encode"):
            audio = audio_pool.submit(sound)
            skip = _skip_slice(profile, tmp)
            with ThreadPoolExecutor(max_workers=workers) as pool:
                encoded = list(pool.map(one, range(len(parts))))
            joined = tmp / "video.h264"
            with joined.open("wb") as dst:
                for part in encoded:
                    with part.open("rb") as src:
                        shutil.copyfileobj(src, dst, 1 << 20)
                    part.unlink()
            m4a = audio.result()
        with watch("mux"):
            ffmpeg.run(encode.mux_args(joined, m4a, video, profile=profile), what=f"video {name} mux")
    finally:
        bar.close()
    if keep:
        (tmp / "shots.ffconcat").write_text(encode.concat_list(
            [(tmp / f"seg{i:02d}" / f"{s.key}.png", s.frames) for i, part in enumerate(parts) for s in part], tl.fps))
    return hashes


def _skip_slice(profile: StationProfile, tmp: Path) -> stillrun.SkipSlice | None:
    """The profile's all-skip picture for holding stills (None: x264 encodes every frame)."""
    if not profile.mp4.still_refine_frames:
        return None
    try:
        return stillrun.skip_slice(profile, tmp)
    except stillrun.Unsupported as exc:
        log.warning("video: every frame encoded (the skip picture could not be made: %s)", exc)
        return None
    finally:
        for path in tmp.glob("skip-*"):
            path.unlink(missing_ok=True)


def encode_segment(files: dict[str, Path], shots: list[tuple[str, int, bool]], folder: Path, out: Path,
                   profile: StationProfile, skip: stillrun.SkipSlice | None, *, what: str) -> Path:
    """One slide's shots ``(image key, frames, is fade)`` → ``out``, a raw H.264 stream of all their frames.

    With ``skip``, x264 gets each still's first ``still_refine_frames`` frames only and the rest
    are copied skip pictures (stillrun.py says why and what is checked); a stream of a shape
    stillrun does not handle is encoded again with every frame."""
    fps = profile.mp4.fps
    refine = profile.mp4.still_refine_frames if skip is not None else 0
    for attempt in (refine, 0) if refine else (0,):
        pieces = stillrun.plan(shots, attempt)
        entries: list[tuple[Path, int]] = []
        keyframes: list[float] = []
        at = 0
        for piece in pieces:
            if piece.key_first:
                keyframes.append(at / fps)
            entries.append((files[piece.key], piece.encoded))
            at += piece.encoded
        shot_list = folder / "shots.ffconcat"
        shot_list.write_text(encode.concat_list(entries, fps))
        ffmpeg.run(encode.segment_args(shot_list, out, profile=profile, frames=at, keyframes=keyframes), what=what)
        if skip is None or not any(p.pad for p in pieces):
            return out
        try:
            out.write_bytes(stillrun.extend(out.read_bytes(), stillrun.pads_of(pieces), skip))
            return out
        except stillrun.Unsupported as exc:
            log.warning("video: %s: every frame encoded (%s)", what, exc)
    return out


def _build(record: Record, ctx: RenderContext, profile: StationProfile, narrator: Narrator | None,
           progress: bool | None, font_path: str, site_name: str, name: str, folder: Path, tmp: Path,
           watch: Stopwatch, keep_work: bool = False) -> Package:
    tv_url = ctx.short_url("tv")
    plans = storyboard.plan(record, tv_url=tv_url, site_name=site_name)
    tx = profile.text
    chunks = [chunk(p.narration, tx.subtitle_chars_per_line, tx.subtitle_max_lines) for p in plans]
    said = [[speech_text(c) or c for c in cs] for cs in chunks]
    lines = [[cue_lines(c, tx.subtitle_chars_per_line, tx.subtitle_max_lines) for c in cs] for cs in chunks]
    artist = SlideArtist(profile, font_path, site_name)
    qr = qr_png(tv_url, str((ctx.settings.get("render") or {}).get("logo") or ""))

    stills: dict[str, Still] = {}  # the single-encode (MXF) path: every still, in memory
    bases: dict[str, Path] = {}  # the segmented path: each slide's still as a PNG in the scratch folder
    with ThreadPoolExecutor(max_workers=4) as pool, watch("draw_and_narrate"):
        pending = _synthesize(narrator, said, pool)
        content_index = 0
        for i, p in enumerate(plans):
            lower = None
            if p.kind == "point":
                content_index += 1
                if content_index <= profile.timeline.lower_third_slides:
                    lower = plans[0].meta.get("department") or None
            base = _draw(artist, p, qr, lower)
            if profile.mxf.enabled:  # the single-encode path writes every still up front
                stills[f"s{i:02d}"] = base
                for j, cue in enumerate(lines[i]):
                    stills[f"s{i:02d}c{j:02d}"] = artist.with_subtitle(base, cue)
            else:
                bases[f"s{i:02d}"] = tmp / f"s{i:02d}.png"
                base.image.save(bases[f"s{i:02d}"], compress_level=1)
            del base
        speech: list[list[Speech | None]] = [[None] * len(cs) for cs in chunks]
        if pending is not None:
            for i, futures in enumerate(pending):
                speech[i] = [decode_wav(f.result()) for f in futures]
    rates = [s.rate for slide in speech for s in slide if s is not None]
    rate = rates[0] if rates else profile.mp4.audio_rate
    speech = [[resample(s, rate) if s is not None else None for s in slide] for slide in speech]
    silent = narrator is None or not any(len(s.samples) for slide in speech for s in slide if s is not None)

    tl = timeline.build(profile, plans, chunks, lines, speech)
    # the narration is judged before anything is encoded: a voice nobody understands fails fast
    voice_report = QCReport()
    narration_check(voice_report, said, speech, narrator)
    voice_report.facts["script"] = script_json(tl, said)
    if not voice_report.passed:
        (folder / "qc.json").write_text(json.dumps(voice_report.to_json(), ensure_ascii=False, indent=2) + "\n",
                                        encoding="utf-8")
        voice_report.raise_if_failed(f"video {name}")
    wav = tmp / "narration.wav"
    _write_wav(wav, timeline.audio_track(tl, speech, rate), rate)
    video = folder / "video.mp4"
    if profile.mxf.enabled:
        paths = _single_encode(tl, stills, tmp, wav, video, folder, profile, silent, progress, name, watch)
        still_hashes = {k: sha256_file(p) for k, p in paths.items()}
    else:
        still_hashes = _segmented_encode(tl, bases, lines, artist, tmp, wav, video, profile, silent, progress,
                                         name, watch, keep=keep_work)
        paths = {}

    with watch("qc"):
        report = run_qc(video, profile=profile, timeline=tl, artist=artist, silent=silent)
        report.checks.extend(voice_report.checks)
        report.warnings.extend(voice_report.warnings)
        report.facts.update(voice_report.facts)
        if profile.mxf.enabled:
            _mxf_checks(report, folder / "video.mxf", profile, tl)

    if stills:
        stills["s00"].image.save(folder / "poster.jpg", quality=90, optimize=False)
    else:
        with Image.open(bases["s00"]) as first:
            first.convert("RGB").save(folder / "poster.jpg", quality=90, optimize=False)
    (folder / "script.txt").write_text(_script(tl, record, said), encoding="utf-8")
    (folder / "subtitles.srt").write_text(to_srt(tl.cues, tl.fps), encoding="utf-8")
    (folder / "qc.json").write_text(json.dumps(report.to_json(), ensure_ascii=False, indent=2) + "\n",
                                    encoding="utf-8")
    report.raise_if_failed(f"video {name}")

    manifest = _manifest(record, ctx, profile, tl, report, folder, narrator, wav, still_hashes, tv_url, name)
    (folder / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n",
                                          encoding="utf-8")
    zip_path = folder.parent / f"{name}.zip"
    _zip(folder, zip_path, [p.name for p in folder.iterdir()])
    return Package(name, folder, zip_path, manifest, report, tl, paths, wav)


def _mxf_checks(report: QCReport, path: Path, profile: StationProfile, tl: timeline.Timeline) -> None:
    info = ffmpeg.probe(path)
    v: dict[str, Any] = next((s for s in info["streams"] if s.get("codec_type") == "video"), {})
    a: dict[str, Any] = next((s for s in info["streams"] if s.get("codec_type") == "audio"), {})
    field = "tt" if profile.mxf.top_field_first else "bb"
    got = (info["format"].get("format_name"), v.get("codec_name"), v.get("pix_fmt"), v.get("field_order"),
           a.get("codec_name"), int(a.get("sample_rate", 0) or 0))
    want = ("mxf", "mpeg2video", "yuv422p", field, f"pcm_s{profile.mxf.audio_bits}le", profile.mp4.audio_rate)
    report.add("mxf_master", got == want, " ".join(map(str, got)), " ".join(map(str, want)))
    report.facts["mxf_bytes"] = int(info["format"].get("size", 0) or 0)


def _manifest(record: Record, ctx: RenderContext, profile: StationProfile, tl: timeline.Timeline,
              report: QCReport, folder: Path, narrator: Narrator | None, wav: Path, stills: dict[str, str],
              tv_url: str, name: str) -> dict[str, Any]:
    files = {p.name: {"sha256": sha256_file(p), "bytes": p.stat().st_size}
             for p in sorted(folder.iterdir()) if p.name != "manifest.json"}
    stills_hash = hashlib.sha256()
    for key in sorted(stills):
        stills_hash.update(key.encode() + b"\0" + stills[key].encode())
    f = report.facts
    return {
        "package": name,
        "record_id": record.id,
        "version": ctx.version,
        "title": record.title,
        "department": record.department,
        "doc_no": record.doc_no,
        "station": profile.key,
        "portal_url": ctx.page_url,
        "tv_short_url": tv_url,
        "duration_s": round(tl.seconds, 3),
        "frames": tl.total_frames,
        "tail_frames": tl.tail_frames,
        "files": files,
        "technical": {
            "video": {"codec": "h264", "profile": f.get("video_profile"), "pix_fmt": f.get("pix_fmt"),
                      "width": f.get("width"), "height": f.get("height"), "fps": f.get("fps"),
                      "scan": "progressive", "colour": "bt709"},
            "audio": {"codec": "aac", "profile": f.get("audio_profile"), "sample_rate": f.get("audio_rate"),
                      "channels": f.get("audio_channels")},
            "loudness": {"integrated_lufs": f.get("integrated_lufs"), "true_peak_dbtp": f.get("true_peak_dbtp"),
                         "lra_lu": f.get("lra_lu"), "target_lufs": profile.loudness.target_i},
            "mxf": profile.mxf.model_dump() if profile.mxf.enabled else None,
        },
        "slides": [{"kind": s.plan.kind, "start_s": round(s.start / tl.fps, 3), "duration_s": round(s.frames / tl.fps, 3),
                    "label": s.plan.label, "cues": len(s.cues)} for s in tl.slides],
        # ffmpeg output is byte-identical only for one ffmpeg build; these hashes say whether two
        # packages were made from the same content even when the encoder differs
        "inputs": {
            "record_version": ctx.version,
            "narrator": narrator.name if narrator else None,
            "narration_wav_sha256": sha256_file(wav),
            "stills_sha256": stills_hash.hexdigest(),
            "profile_sha256": hashlib.sha256(profile.model_dump_json().encode()).hexdigest(),
            "ffmpeg": ffmpeg.version(ffmpeg.ffmpeg_bin()),
        },
        "qc": {"pass": report.passed, "warnings": report.warnings},
    }


def _usable(folder: str) -> bool:
    """A published package is whole: its zip, manifest and a passing qc.json are there."""
    path = Path(folder)
    try:
        qc = json.loads((path / "qc.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return bool(qc.get("pass")) and (path / "manifest.json").is_file() and path.with_name(f"{path.name}.zip").is_file()


def render_video(record: Record, ctx: RenderContext, store: ArtifactStore) -> Rendition:
    """The ``video`` rendition: the package zip as the main artifact, each file beside it.

    The package folder is kept under ``<artifacts>/video/<record>-<version>/`` for the
    station's pickup; the zip and the files are also stored content-addressed. The render
    runs once per (version, station profile) across all processes (``claim.render_once``):
    a second caller waits for the first and gets the same package.
    """
    out_dir = store.root / "video"
    profile = get_profile()

    def build(staging: Path) -> Path:
        return build_package(record, ctx, staging, profile=profile).folder

    done = claim.render_once(ctx.version, profile.key, out_dir, build, _usable, scratch_parents=scratch_parents())
    folder = done.folder
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    qc = json.loads((folder / "qc.json").read_text(encoding="utf-8"))
    files = {p.name: store.put_file(p, p.suffix, MEDIA_TYPES.get(p.suffix, "application/octet-stream"))
             for p in sorted(folder.iterdir())}
    main = store.put_file(folder.with_name(f"{folder.name}.zip"), ".zip", "application/zip")
    hours = (ctx.settings.get("render") or {}).get("not_after_hours", {}).get("tv")
    f = qc.get("measured", {})
    facts = {"package": manifest["package"], "duration_s": manifest["duration_s"], "frames": manifest["frames"],
             "slides": len(manifest["slides"]), "narrator": manifest["inputs"]["narrator"],
             "loudness_lufs": f.get("integrated_lufs"), "true_peak_dbtp": f.get("true_peak_dbtp"),
             "qc": "pass", "warnings": qc.get("warnings", []), "folder": str(folder),
             "mxf": "video.mxf" in files}
    return Rendition("video", record.id, ctx.version, main, files=files, facts=facts,
                     not_after=ctx.rendered_at + timedelta(hours=int(hours)) if hours else None)
