"""A small TV station (640×360, short pauses) for tests and benchmarks that render videos.

Why: the county's station renders 1080p; a test or a scale run that only needs *a* valid package
renders one at a sixth of the pixels. One definition, used by tests/video, tests/queue and bench/scale.py.
"""

from __future__ import annotations

import re
from pathlib import Path

_DEFAULT = re.compile(r'(?m)^default\s*=.*$')


def use_small_station(config_dir: Path, key: str) -> None:
    """Add a 640×360 station ``key`` to ``config_dir/stations.toml`` and make it the default.

    The ``default =`` line is replaced whatever station it names, and its absence is an error:
    a silent no-op would leave every caller rendering full 1080p without anyone noticing."""
    stations = config_dir / "stations.toml"
    text, found = _DEFAULT.subn(f'default = "{key}"', stations.read_text("utf-8"), count=1)
    if not found:
        raise ValueError(f"{stations}: no top-level `default = ...` line to point at the small station")
    stations.write_text(text + f"""
[stations.{key}]
name = "{key}"
[stations.{key}.mp4]
width = 640
height = 360
[stations.{key}.timeline]
min_slide_seconds = 1.0
pause_seconds = 0.4
lead_in_seconds = 0.2
end_card_seconds = 1.5
crossfade_frames = 4
tail_frames = 5
""", "utf-8")
