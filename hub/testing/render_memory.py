"""A TV render's memory as issue 17 defines it: all its processes and its scratch files together.

Used by ``bench/video.py`` and by the test that holds the render to its bound (≤ 500 MB).
The render runs in a fresh Python process (``python -m hub.testing.render_memory FILE OUT``),
as a worker would run it; a sampler in the caller adds up, every 20 ms,

- the proportional set size (PSS, ``/proc/<pid>/smaps_rollup``) of that process and all its
  descendants (ffmpeg segment encoders, the audio encoder, espeak, the QC's ffprobe): each
  shared page (ffmpeg's libraries in three processes, the interpreter) counted once, as the
  machine pays for it; and
- the bytes in the render's scratch folders (``hub-video-<host>-<pid>-*`` in /dev/shm, which
  is RAM, and in the temp dir),

and keeps the peak of the sum. The child reports its own figures on stdout as JSON: the wall
and CPU seconds of ``build_package`` alone (not the interpreter's start), the programme's
length, and its PSS just before the render (interpreter, numpy, Pillow, jieba, hub).
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


def _children(pid: int) -> list[int]:
    out: list[int] = []
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return out
    for task in tasks:
        try:
            out += [int(c) for c in (task / "children").read_text().split()]
        except OSError:  # the thread or the process ended meanwhile
            pass
    return out


def pss_kb(pid: int) -> int:
    """Proportional set size of one process in kB (0 when it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree_pss_mb(pid: int) -> float:
    """PSS of ``pid`` and all its descendants, MB."""
    todo, seen, total = [pid], set(), 0
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        total += pss_kb(p)
        todo += _children(p)
    return total / 1024


def folder_bytes(folder: Path) -> int:
    """Bytes of the files under ``folder``; files and folders removed while it is walked are skipped."""
    total = 0
    for root, _, files in os.walk(folder, onerror=lambda _e: None):
        for name in files:
            try:
                total += os.stat(os.path.join(root, name), follow_symlinks=False).st_size
            except OSError:
                pass
    return total


@dataclass
class PeakMemory:
    """Samples ``pid``'s process tree and the scratch folders named ``prefix*`` under ``parents``."""

    pid: int
    parents: list[Path]
    prefix: str
    interval: float = 0.02
    peak: float = 0.0
    peak_processes: float = 0.0
    peak_scratch: float = 0.0
    samples: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def sample(self) -> None:
        processes = tree_pss_mb(self.pid)
        scratch = sum(folder_bytes(d) for parent in self.parents for d in parent.glob(f"{self.prefix}*")) / 1024**2
        self.peak_processes = max(self.peak_processes, processes)
        self.peak_scratch = max(self.peak_scratch, scratch)
        self.peak = max(self.peak, processes + scratch)
        self.samples += 1

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def __enter__(self) -> PeakMemory:
        self._thread = threading.Thread(target=self._run, name="peak-memory", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()


@dataclass(frozen=True, slots=True)
class RenderMeasure:
    """One render measured from outside: its own report plus the sampled peaks (MB)."""

    report: dict[str, Any]
    peak_mb: float
    peak_processes_mb: float
    peak_scratch_mb: float
    samples: int
    wall_s: float
    cpu_s: float


def _children_cpu() -> float:
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return kids.ru_utime + kids.ru_stime


def measure_render(source: Path, out_dir: Path, *, env: dict[str, str] | None = None,
                   timeout: float = 900) -> RenderMeasure:
    """Render ``source``'s first record in a fresh process and sample its memory until it exits.

    ``wall_s``/``cpu_s`` are the child's own figures for ``build_package`` (interpreter start and
    imports excluded); the peaks cover the whole child, imports included (they are lower)."""
    from hub.renderers.video.package import scratch_parents, scratch_prefix

    cpu0 = _children_cpu()
    proc = subprocess.Popen([sys.executable, "-m", "hub.testing.render_memory", str(source), str(out_dir)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    with PeakMemory(proc.pid, scratch_parents(), scratch_prefix(proc.pid)) as peak:
        out, err = proc.communicate(timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"render of {source.name} failed (exit {proc.returncode}): {err[-2000:]}")
    report: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    report["child_cpu_s_total"] = round(_children_cpu() - cpu0, 3)
    return RenderMeasure(report, peak.peak, peak.peak_processes, peak.peak_scratch, peak.samples,
                         float(report["wall_s"]), float(report["cpu_s"]))


def _main(argv: list[str]) -> None:
    """The child: ingest, warm up, then time ``build_package`` alone and print JSON."""
    from hub.ingest import ingest_path
    from hub.renderers.context import build_context
    from hub.renderers.video import build_package
    from hub.renderers.video.linebreak import word_units

    source, out_dir = Path(argv[0]), Path(argv[1])
    record = ingest_path(source)[0].record
    ctx = build_context(record, record.version_hash())
    word_units("预热数据")  # jieba's dictionary is loaded once per process, not per render
    baseline = pss_kb(os.getpid()) / 1024

    def cpu() -> float:
        own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime

    c0, t0 = cpu(), time.perf_counter()
    pkg = build_package(record, ctx, out_dir, progress=False)
    wall, used = time.perf_counter() - t0, cpu() - c0
    print(json.dumps({"wall_s": round(wall, 3), "cpu_s": round(used, 3), "seconds": pkg.timeline.seconds,
                      "baseline_mb": round(baseline, 1), "timings": pkg.timings, "cpu": pkg.cpu,
                      "qc_pass": pkg.qc.passed, "folder": str(pkg.folder), "pid": os.getpid(),
                      "maxrss_self_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}))


if __name__ == "__main__":
    _main(sys.argv[1:])
