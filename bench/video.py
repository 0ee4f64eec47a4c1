"""Benchmark: the sample's TV package against the direct-ffmpeg floor, alternating, in the same run.

    .venv/bin/python bench/video.py [--rounds N] [--keep DIR] [--quiet-floor X]

1. *pipeline*: ``build_package`` on the sample record (storyboard, TTS, Pillow stills, Mandarin
   QC, loudness pass 1, segment encodes, mux, QC, manifest, zip), as the hub runs it, in a fresh
   Python process (``hub.testing.render_memory``): its wall and CPU seconds are those of
   ``build_package`` (interpreter start excluded), and the peak memory is sampled from outside
   every 20 ms as issue 17 defines it: PSS of the render's process and all its children plus
   the bytes of its scratch folders (/dev/shm is RAM);
2. *floor*: the same still images (the pipeline's shot list, cross-fade frames included) and
   the same narration WAV encoded straight by ffmpeg in one process with the same preset
   (concat demuxer, format before fps, x264 veryfast stillimage crf 23, AAC 192k) and nothing
   else: no drawing, no speech, no loudness, no QC, no packaging, and every frame encoded.
   Its inputs are made by an untimed first build that keeps its stills (``work_dir``).

Prints the realtime factor (programme seconds per wall second) of both, the ratio
pipeline/floor (wall and CPU; target ≤ 1.2), the peak memory of a render (target ≤ 500 MB)
and the render process's own peak RSS. On a machine shared with other people's work the
absolute wall figures are depressed; the ratio (both measured in the same run, alternating)
is the figure to trust, and ``--quiet-floor`` (the floor's realtime factor measured on a quiet
machine) turns it into the pipeline's quiet-machine realtime factor: quiet floor / wall ratio.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hub.ingest import ingest_path  # noqa: E402
from hub.renderers.context import build_context  # noqa: E402
from hub.renderers.video import build_package  # noqa: E402
from hub.renderers.video.ffmpeg import ffmpeg_bin  # noqa: E402
from hub.renderers.video.package import _scratch  # noqa: E402
from hub.renderers.video.profile import get_profile  # noqa: E402
from hub.testing.render_memory import RenderMeasure, measure_render  # noqa: E402

SAMPLE = ROOT / "samples" / "hanyin-2017-168-wugongkai.txt"


def children_cpu() -> float:
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return kids.ru_utime + kids.ru_stime


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
    ap.add_argument("--quiet-floor", type=float, default=4.2,
                    help="the floor's realtime factor on a quiet machine (issue 17: 4.2x)")
    args = ap.parse_args()
    base = args.keep or Path(tempfile.mkdtemp(prefix="hub-bench-video-"))
    base.mkdir(parents=True, exist_ok=True)
    record = ingest_path(SAMPLE)[0].record
    ctx = build_context(record, record.version_hash())
    # the stills go where the hub puts them (RAM when /dev/shm has room); the floor reads them there
    work = Path(tempfile.mkdtemp(prefix="hub-bench-video-", dir=_scratch()))
    floors: list[tuple[float, float]] = []
    renders: list[RenderMeasure] = []
    try:
        prep = build_package(record, ctx, base / "prep", work_dir=work, progress=False)  # untimed: the floor's inputs
        seconds = prep.timeline.seconds

        def floor() -> None:
            c0, t0 = children_cpu(), time.perf_counter()
            floor_encode(work / "shots.ffconcat", work / "narration.wav", base / "floor.mp4")
            floors.append((time.perf_counter() - t0, children_cpu() - c0))
            print(f"round {len(floors)} floor    wall {floors[-1][0]:6.2f} s  cpu {floors[-1][1]:6.2f} s", file=sys.stderr)

        def pipeline() -> None:
            out = base / f"out{len(renders)}"
            renders.append(measure_render(SAMPLE, out))
            m = renders[-1]
            print(f"round {len(renders)} pipeline wall {m.wall_s:6.2f} s  cpu {m.cpu_s:6.2f} s  "
                  f"peak {m.peak_mb:6.1f} MB", file=sys.stderr)
            if args.keep is None:
                shutil.rmtree(out, ignore_errors=True)

        for r in range(args.rounds):
            for fn in ((pipeline, floor) if r % 2 == 0 else (floor, pipeline)):
                fn()
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if args.keep is None:
            shutil.rmtree(base, ignore_errors=True)

    fw, fc = statistics.median(f[0] for f in floors), statistics.median(f[1] for f in floors)
    pw, pc = statistics.median(m.wall_s for m in renders), statistics.median(m.cpu_s for m in renders)
    load = Path("/proc/loadavg").read_text().split()[:3]
    print(f"programme: {seconds:.2f} s of 1920x1080 25p video ({args.rounds} round(s), medians; load average {' '.join(load)})")
    print(f"floor    (direct ffmpeg): wall {fw:6.2f} s  cpu {fc:6.2f} s  realtime {seconds / fw:5.2f}x")
    print(f"pipeline (hub package)  : wall {pw:6.2f} s  cpu {pc:6.2f} s  realtime {seconds / pw:5.2f}x")
    print(f"ratio pipeline/floor    : wall {pw / fw:5.3f}   cpu {pc / fc:5.3f}   (target <= 1.2)")
    print(f"realtime on a quiet machine, from the floor's {args.quiet_floor:.2f}x: / wall ratio "
          f"{args.quiet_floor * fw / pw:5.2f}x, / cpu ratio {args.quiet_floor * fc / pc:5.2f}x   (target >= 4)")
    peak = max(renders, key=lambda m: m.peak_mb)
    print(f"peak memory of a render : {peak.peak_mb:6.1f} MB = processes + scratch (processes {peak.peak_processes_mb:.1f} MB "
          f"at their peak, scratch {peak.peak_scratch_mb:.1f} MB at its peak; {peak.samples} samples; target <= 500)")
    print(f"peak RSS of the render process: {peak.report['maxrss_self_mb']:.1f} MB "
          f"(PSS {peak.report['baseline_mb']:.1f} MB before the render: interpreter, numpy, Pillow, jieba, hub)")
    t, c = peak.report["timings"], peak.report["cpu"]
    print("pipeline stages (wall/cpu s): " + ", ".join(f"{k} {v:.2f}/{c.get(k, 0):.2f}" for k, v in t.items()))


if __name__ == "__main__":
    main()
