"""A small TV station (640×360, short pauses) for tests and benchmarks that render videos.

Why: the county's station renders 1080p; a test or a scale run that only needs *a* valid package
renders one at a sixth of the pixels. One definition, used by tests/video and bench/scale.py.
"""

from __future__ import annotations

from pathlib import Path


def small_station(key: str) -> str:
    """The stations.toml table of a 640×360 station named ``key``."""
    return f"""
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
"""


def use_small_station(config_dir: Path, key: str) -> None:
    """Add the small station to ``config_dir/stations.toml`` and make it the default."""
    stations = config_dir / "stations.toml"
    text = stations.read_text("utf-8").replace('default = "hanyin-tv"', f'default = "{key}"')
    stations.write_text(text + small_station(key), "utf-8")
