"""Subtitles for the browser: the TV package carries SRT (what stations ingest), browsers play WebVTT."""

from __future__ import annotations

import re

_TIME = re.compile(r"(\d{2}:\d{2}:\d{2}),(\d{3})")


def srt_to_vtt(srt: str) -> str:
    """WebVTT from SubRip: a header, and ``,`` → ``.`` in cue timings (cue text unchanged)."""
    lines = []
    for line in srt.lstrip("\ufeff").replace("\r\n", "\n").split("\n"):
        lines.append(_TIME.sub(r"\1.\2", line) if "-->" in line else line)
    return "WEBVTT\n\n" + "\n".join(lines).strip() + "\n"
