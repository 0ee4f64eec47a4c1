"""Subtitle cues: narration cut into screenfuls, and the sidecar SRT.

A cue is at most ``max_lines`` lines of ``chars_per_line`` characters (TV practice:
one line, at most two, 14–18 characters). Cuts fall at sentence ends first, then
at clauses (，、), and only inside a clause when one clause alone is longer than a
screenful. Each cue is then spoken on its own, so its time on screen is exactly
its audio (``timeline``), not an estimate from character counts.

The displayed text drops a cue's final comma or full stop (Chinese TV subtitles
do not end in punctuation); the narration keeps it so the voice still pauses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from hub.renderers.text import clauses, sentences
from hub.renderers.video.linebreak import break_subtitle, char_width, word_units

_TRAILING = "，,、；;：:。"


@dataclass(frozen=True, slots=True)
class Cue:
    """One subtitle: what is spoken, what is shown, and when (frames from the programme start)."""

    spoken: str
    lines: list[str]
    start: int = 0
    end: int = 0


def _fits(text: str, chars: int, max_lines: int) -> bool:
    return len(break_subtitle(display(text), chars, max_lines)) <= max_lines


def display(text: str) -> str:
    return text.strip().rstrip(_TRAILING).strip()


def chunk(narration: str, chars_per_line: int, max_lines: int) -> list[str]:
    """The spoken chunks of ``narration``, each fitting one subtitle screen."""
    pieces: list[str] = []
    for sentence in sentences(narration):
        if _fits(sentence, chars_per_line, max_lines):
            pieces.append(sentence)
            continue
        for clause in clauses(sentence):
            if _fits(clause, chars_per_line, max_lines):
                pieces.append(clause)
            else:  # one clause longer than a screen: cut it by screenfuls, at word boundaries
                pieces.extend(_screenfuls(clause, chars_per_line, max_lines))
    chunks: list[str] = []
    for piece in pieces:  # greedily join short pieces back together (same sentence or not)
        if chunks and not chunks[-1].endswith(("。", "！", "？")) and _fits(chunks[-1] + piece, chars_per_line, max_lines):
            chunks[-1] += piece
        else:
            chunks.append(piece)
    return [c for c in chunks if display(c)]


def _screenfuls(clause: str, chars_per_line: int, max_lines: int) -> list[str]:
    """A clause longer than one subtitle screen, cut between jieba words into screens of even
    length (never a screen of one or two characters left over)."""
    words = word_units(clause)
    total = char_width(clause)
    screens = max(1, -(-int(total) // (chars_per_line * max_lines)))
    while True:
        target = total / screens
        out: list[str] = []
        cur = ""
        for w in words:
            if cur and (char_width(cur + w) > target + 1 or not _fits(cur + w, chars_per_line, max_lines)):
                out.append(cur)
                cur = ""
            cur += w
        if cur:
            out.append(cur)
        if all(_fits(o, chars_per_line, max_lines) for o in out) and len(out) <= screens + 1:
            return out
        screens += 1


def cue_lines(spoken: str, chars_per_line: int, max_lines: int = 2) -> list[str]:
    """The subtitle lines of a cue: broken between words, evenly, ≤ ``max_lines``."""
    return break_subtitle(display(spoken), chars_per_line, max_lines)


def _ts(frame: int, fps: int) -> str:
    ms = round(frame * 1000 / fps)
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d},{ms:03d}"


def to_srt(cues: list[Cue], fps: int) -> str:
    """SubRip text (UTF-8, CRLF-free, numbered from 1)."""
    blocks = [f"{i}\n{_ts(c.start, fps)} --> {_ts(c.end, fps)}\n" + "\n".join(c.lines)
              for i, c in enumerate(cues, 1)]
    return "\n\n".join(blocks) + "\n"


_SRT_TIME = re.compile(r"(\d\d):(\d\d):(\d\d),(\d\d\d) --> (\d\d):(\d\d):(\d\d),(\d\d\d)")


def parse_srt(text: str) -> list[tuple[float, float, list[str]]]:
    """``(start s, end s, lines)`` per cue; raises ValueError on a malformed file."""
    out: list[tuple[float, float, list[str]]] = []
    for n, block in enumerate(re.split(r"\n\s*\n", text.strip()), 1):
        rows = block.splitlines()
        if len(rows) < 3 or rows[0].strip() != str(n):
            raise ValueError(f"srt: cue {n} is malformed: {block[:40]!r}")
        m = _SRT_TIME.fullmatch(rows[1].strip())
        if not m:
            raise ValueError(f"srt: cue {n} has a bad time line {rows[1]!r}")
        g = [int(x) for x in m.groups()]
        start = g[0] * 3600 + g[1] * 60 + g[2] + g[3] / 1000
        end = g[4] * 3600 + g[5] * 60 + g[6] + g[7] / 1000
        if end <= start:
            raise ValueError(f"srt: cue {n} ends before it starts")
        out.append((start, end, rows[2:]))
    return out


def widest(cues: list[Cue]) -> float:
    return max((char_width(line) for c in cues for line in c.lines), default=0.0)
