"""Running ffmpeg and ffprobe: which binaries, progress (``hub.progress``), errors that say what failed.

Which ffmpeg: Debian's ``/usr/bin/ffmpeg`` + ``/usr/bin/ffprobe`` (installed by
scripts/setup.sh), not imageio-ffmpeg's bundled binary, because the package is
measured with ffprobe and the bundle has no ffprobe: encoder and meter come from
one build. ``HUB_FFMPEG`` / ``HUB_FFPROBE`` point elsewhere (e.g. a newer static
build). The version string goes into the manifest, because byte-identical output
is only promised for one ffmpeg build.
"""

from __future__ import annotations

import ctypes
import json
import os
import shutil
import signal
import subprocess
import threading
import time
from functools import lru_cache
from pathlib import Path
from typing import Any

from hub.errors import ConfigError, RenderFailed
from hub.progress import Bar

#: Options that make ffmpeg's own output reproducible (no encoder version strings, no creation time).
#: (The video codec's ``-flags:v +bitexact`` is set with each command's own codec flags: a second
#: ``-flags`` option would replace, not add to, e.g. MPEG-2's interlace flags.)
BITEXACT = ["-fflags", "+bitexact", "-flags:a", "+bitexact", "-map_metadata", "-1", "-map_chapters", "-1"]


def _tool(env: str, name: str) -> str:
    path = os.environ.get(env) or (f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").exists() else shutil.which(name))
    if not path:
        raise ConfigError(f"video: {name} not found (apt-get install ffmpeg, or set {env})")
    return path


def ffmpeg_bin() -> str:
    return _tool("HUB_FFMPEG", "ffmpeg")


def ffprobe_bin() -> str:
    return _tool("HUB_FFPROBE", "ffprobe")


@lru_cache(maxsize=4)
def version(binary: str) -> str:
    out = subprocess.run([binary, "-version"], capture_output=True, text=True, timeout=30, check=False)
    first = out.stdout.splitlines()[0] if out.stdout else binary
    return first.split(" Copyright")[0]


def _prctl() -> Any:
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


#: libc's prctl, looked up in the parent: the child between fork and exec may only call it.
_PRCTL = _prctl()


def die_with_parent() -> None:
    """``preexec_fn`` for ffmpeg: the kernel kills it when the render's process dies (Linux
    ``PR_SET_PDEATHSIG``), so a killed render leaves no encoder writing into a swept folder.
    Only a C call here: no import and no lock between fork and exec."""
    if _PRCTL is not None:
        _PRCTL(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG


def run(args: list[str], *, what: str, timeout: float = 1800) -> subprocess.CompletedProcess[str]:
    """Run ffmpeg/ffprobe quietly; a non-zero exit is a RenderFailed naming ``what`` and ffmpeg's last words."""
    try:
        proc = subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=False,
                              preexec_fn=die_with_parent)  # noqa: PLW1509 -- async-signal-safe prctl only
    except subprocess.TimeoutExpired as exc:
        raise RenderFailed(f"video: {what} took longer than {timeout:.0f} s") from exc
    if proc.returncode != 0:
        tail = " | ".join(proc.stderr.strip().splitlines()[-3:])
        raise RenderFailed(f"video: {what} failed (ffmpeg exit {proc.returncode}): {tail}")
    return proc


def run_with_progress(args: list[str], *, what: str, total_seconds: float, progress: bool | None = None,
                      timeout: float = 1800) -> None:
    """Run an ffmpeg encode with ``-progress pipe:1`` feeding the bar; errors as in ``run``."""
    bar = Bar(what, total_seconds, enabled=progress)
    cmd = [args[0], "-progress", "pipe:1", "-nostats", *args[1:]]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=die_with_parent)  # noqa: PLW1509 -- async-signal-safe prctl only
    err: list[str] = []
    reader = threading.Thread(target=lambda: err.extend(proc.stderr.readlines() if proc.stderr else []),
                              daemon=True)
    reader.start()
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    for line in proc.stdout:
        if line.startswith("out_time_us="):
            value = line.split("=", 1)[1].strip()
            if value.lstrip("-").isdigit():
                bar.update(int(value) / 1e6)
        if time.monotonic() > deadline:
            proc.kill()
            break
    code = proc.wait()
    reader.join(timeout=5)
    if code == 0:
        bar.update(total_seconds)
    bar.close()
    if time.monotonic() > deadline:
        raise RenderFailed(f"video: {what} took longer than {timeout:.0f} s")
    if code != 0:
        tail = " | ".join(line.strip() for line in err[-3:])
        raise RenderFailed(f"video: {what} failed (ffmpeg exit {code}): {tail}")


def probe(path: Path, *, packets: bool = False) -> dict[str, Any]:
    """ffprobe's JSON for ``path``: format and streams, and the video packets' times, sizes and flags."""
    args = [ffprobe_bin(), "-v", "error", "-of", "json", "-show_format", "-show_streams"]
    if packets:
        args += ["-show_entries", "packet=stream_index,pts,size,flags:stream:format", "-show_packets"]
    out = run([*args, str(path)], what=f"ffprobe {path.name}")
    data: dict[str, Any] = json.loads(out.stdout)
    return data
