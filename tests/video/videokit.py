"""Helpers of the video tests: a small station profile as the config default, ffmpeg behind a logging wrapper.

(Not in conftest.py: test modules import these, and ``import conftest`` is ambiguous across directories.)
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from hub.settings import PROJECT_ROOT
from hub.testing.stations import use_small_station


def small_station_env(tmp_path: Path, hub_home: Path, monkeypatch: pytest.MonkeyPatch,
                      ffmpeg: str = "/usr/bin/ffmpeg") -> dict[str, str]:
    """Config with the 640×360 station as default, ffmpeg behind ``tmp_path/ffmpeg`` (a wrapper that
    logs every call to ``tmp_path/ffmpeg.log`` and runs ``ffmpeg``); returns the environment for
    subprocesses (also set in this process)."""
    config = tmp_path / "config"
    shutil.copytree(PROJECT_ROOT / "config", config)
    use_small_station(config, "test-small")
    set_ffmpeg(tmp_path, ffmpeg)
    values = {"HUB_CONFIG_DIR": str(config), "HUB_FFMPEG": str(tmp_path / "ffmpeg"), "HUB_TTS": "espeak",
              "HUB_VAR": str(hub_home), "PYTHONPATH": str(PROJECT_ROOT)}
    for k, v in values.items():
        monkeypatch.setenv(k, v)
    from hub.testing.caches import clear_caches

    clear_caches()
    return {**os.environ, **values}


def set_ffmpeg(tmp_path: Path, binary: str) -> None:
    """Point the logging wrapper at ``binary`` (e.g. ``/bin/false`` to break every encode)."""
    wrapper = tmp_path / "ffmpeg"
    wrapper.write_text(f'#!/bin/sh\necho "$$ $*" >> {tmp_path / "ffmpeg.log"}\nexec {binary} "$@"\n')
    wrapper.chmod(0o755)


def encodes(tmp_path: Path) -> list[str]:
    """The renders that encoded H.264: the scratch folder of each (a render encodes its slides as
    segments, one x264 call per slide, all into its own scratch folder)."""
    log = tmp_path / "ffmpeg.log"
    if not log.exists():
        return []
    lines = [line for line in log.read_text().splitlines() if "libx264" in line]
    return sorted({Path(line.split()[-1]).parent.name for line in lines})
