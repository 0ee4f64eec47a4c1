"""Benchmark: the sample's TV package against the direct-ffmpeg floor, in the same process.

    .venv/bin/python bench/video.py [--rounds N] [--keep DIR]

1. *pipeline*: ``build_package`` on the sample record (storyboard, TTS, Pillow stills,
   loudness pass 1, encode with loudnorm pass 2, QC, manifest, zip), as the hub runs it;
2. *floor*: the same still images (the pipeline's shot list, cross-fade frames included)
   and the same narration WAV encoded straight by ffmpeg in one process with the same
   preset (concat demuxer, format before fps, x264 veryfast stillimage crf 23, AAC 192k) and
   nothing else: no drawing, no speech, no loudness, no QC, no packaging. Its inputs are
   made by an untimed first build that keeps its stills (``work_dir``).

Rounds alternate floor and pipeline so that drift on a shared machine hits both.
Prints wall and CPU seconds (this process + children), the ratio pipeline/floor, the
realtime factor (programme seconds per wall second) and the peak memory of the render:
the sum of the proportional resident memory (PSS: shared pages counted once) of this
process and all its children plus the size of its scratch folders, sampled every 20 ms. Targets: ratio ≤ 1.2, realtime ≥ 4×, peak ≤ 500 MB.
On a machine shared with other people's work the wall figures are noisy; the ratio
(both measured in the same process, alternating) is the figure to trust.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hub.ingest import ingest_path  # noqa: E402
from hub.renderers.context import build_context  # noqa: E402
from hub.renderers.video import Package, build_package  # noqa: E402
from hub.renderers.video.ffmpeg import ffmpeg_bin  # noqa: E402
from hub.renderers.video.package import _scratch, scratch_parents, scratch_prefix  # noqa: E402
from hub.renderers.video.profile import get_profile  # noqa: E402

SAMPLE = ROOT / "samples" / "hanyin-2017-168-wugongkai.txt"


def cpu_seconds() -> float:
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def timed(fn: Callable[[], object]) -> tuple[float, float]:
    c0, t0 = cpu_seconds(), time.perf_counter()
    fn()
    return time.perf_counter() - t0, cpu_seconds() - c0


def _children(pid: int) -> list[int]:
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            out += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return out


def _rss_kb(pid: int) -> int:
    """Proportional set size (kB): each shared page (ffmpeg's libraries in several processes, the
    Python interpreter) counted once across the processes that share it, as the machine pays for it."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _tree_rss_mb() -> float:
    todo, seen, total = [os.getpid()], set(), 0
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        total += _rss_kb(pid)
        todo += _children(pid)
    return total / 1024


def _scratch_mb(parents: list[Path], before: set[Path]) -> float:
    total = 0
    for parent in parents:
        for d in parent.glob(f"{scratch_prefix()}*"):  # this process's scratch only (others render too)
            if d in before:
                continue
            for f in d.rglob("*"):
                try:
                    total += f.stat().st_size if f.is_file() else 0
                except OSError:
                    pass
    return total / 1024**2


class PeakMemory:
    """Peak of (RSS of this process and all its children + scratch folders made meanwhile), MB."""

    def __init__(self) -> None:
        self.baseline = _tree_rss_mb()  # this process before the render: interpreter, jieba, hub modules
        self.parents = scratch_parents()
        self.before = {d for p in self.parents for d in p.glob("hub-video-*")}
        self.peak = self.peak_rss = self.peak_scratch = 0.0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stop.wait(0.02):
            rss, scratch = _tree_rss_mb(), _scratch_mb(self.parents, self.before)
            self.peak_rss, self.peak_scratch = max(self.peak_rss, rss), max(self.peak_scratch, scratch)
            self.peak = max(self.peak, rss + scratch)

    def __enter__(self) -> PeakMemory:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()


def floor_encode(shots: Path, wav: Path, out: Path) -> None:
    spec = get_profile().mp4
    subprocess.run([
        ffmpeg_bin(), "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
        "-f", "concat", "-safe", "0", "-i", str(shots), "-i", str(wav),
        "-vf", f"format=yuv420p,fps={spec.fps}",
        "-c:v", "libx264", "-preset", spec.preset, "-tune", "stillimage", "-crf", str(spec.crf),
        "-profile:v", spec.profile, "-c:a", "aac", "-b:a", spec.audio_bitrate, "-ar", str(spec.audio_rate),
        "-ac", "2", "-shortest", str(out)], check=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--keep", type=Path, help="keep the package and intermediates here")
    args = ap.parse_args()
    base = args.keep or Path(tempfile.mkdtemp(prefix="hub-bench-video-"))
    base.mkdir(parents=True, exist_ok=True)
    record = ingest_path(SAMPLE)[0].record
    ctx = build_context(record, record.version_hash())
    # the stills go where the hub puts them (RAM when /dev/shm has room); both runs read them there
    work = Path(tempfile.mkdtemp(prefix="hub-bench-video-", dir=_scratch()))
    results: dict[str, list[tuple[float, float]]] = {"pipeline": [], "floor": []}
    seconds = 0.0
    timings: dict[str, float] = {}
    cpu: dict[str, float] = {}
    peaks: list[PeakMemory] = []
    try:
        # untimed: the floor's inputs (the pipeline's own stills and narration, kept)
        build_package(record, ctx, base / "prep", work_dir=work, progress=False)
        for r in range(args.rounds):
            pkgs: list[Package] = []

            def pipeline(pkgs: list[Package] = pkgs) -> None:
                with PeakMemory() as peak:
                    pkgs.append(build_package(record, ctx, base / "out", progress=False))
                peaks.append(peak)

            def floor() -> None:
                floor_encode(work / "shots.ffconcat", work / "narration.wav", base / "floor.mp4")

            order = [("pipeline", pipeline), ("floor", floor)] if r % 2 == 0 else [("floor", floor), ("pipeline", pipeline)]
            for name, fn in order:
                results[name].append(timed(fn))
                print(f"round {r + 1} {name:8s} wall {results[name][-1][0]:6.2f} s  cpu {results[name][-1][1]:6.2f} s",
                      file=sys.stderr)
            seconds = pkgs[-1].timeline.seconds
            timings, cpu = pkgs[-1].timings, pkgs[-1].cpu
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if args.keep is None:
            shutil.rmtree(base, ignore_errors=True)

    def med(name: str, i: int) -> float:
        return statistics.median(x[i] for x in results[name])

    pw, pc, fw, fc = med("pipeline", 0), med("pipeline", 1), med("floor", 0), med("floor", 1)
    print(f"programme: {seconds:.2f} s of 1920x1080 25p video ({args.rounds} round(s), medians)")
    print(f"floor    (direct ffmpeg): wall {fw:6.2f} s  cpu {fc:6.2f} s  realtime {seconds / fw:5.2f}x")
    print(f"pipeline (hub package)  : wall {pw:6.2f} s  cpu {pc:6.2f} s  realtime {seconds / pw:5.2f}x")
    print(f"ratio pipeline/floor    : wall {pw / fw:5.3f}   cpu {pc / fc:5.3f}   (target <= 1.2)")
    peak = max(peaks, key=lambda p: p.peak)
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of the Python process (all rounds): {own:.1f} MB")
    print(f"peak memory of a render : {peak.peak:6.1f} MB (processes {peak.peak_rss:.1f} MB at their peak, "
          f"scratch {peak.peak_scratch:.1f} MB at its peak; target <= 500); "
          f"above the process's own {peak.baseline:.1f} MB before the render: {peak.peak - peak.baseline:.1f} MB")
    print("pipeline stages (last round, wall/cpu s): "
          + ", ".join(f"{k} {v:.2f}/{cpu.get(k, 0):.2f}" for k, v in timings.items()))


if __name__ == "__main__":
    main()
