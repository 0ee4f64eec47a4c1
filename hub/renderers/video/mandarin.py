"""QC of the narration itself: is it Mandarin a listener understands, and is every line voiced?

Loudness alone passed a narration that read 扫码 as "sao three ma three" (espeak-ng's
``cmn`` voice, which spells unknown characters' pinyin in English). Three measures a
machine can compute catch that and its cousins:

- **language trace**: espeak-ng's phoneme trace (``-q -x``) marks every switch to
  another language as ``(en)`` … ``(cmn)``. The spoken text of every cue is traced
  with the narrator's espeak voice (or, for another engine, with the Mandarin
  ``cmn-latn-pinyin`` voice, which then checks that the *text* has nothing left that
  is not read as Mandarin: URLs, English words). Any switch fails; so does any Latin word
  left in the spoken text (``cmn-latn-pinyin`` reads "www" as pinyin, which no one understands);
- **duration fits the text**: each cue's audio lasts at least ``MIN_S_PER_SYLLABLE`` and at
  most ``MAX_S_PER_SYLLABLE`` a syllable (Chinese character) plus ``LINE_ALLOWANCE_S`` for the
  lead-in and the final pause; measured on the sample,
  ``cmn-latn-pinyin`` at 210 wpm reads 0.22–0.30 s a character, Tencent ~0.2–0.28;
  a truncated or runaway synthesis falls outside;
- **no silence where text was expected**: in each cue at least ``MIN_VOICED`` of the
  20 ms windows are voiced (RMS above ``VOICED_RMS``) and no pause inside it is
  longer than ``MAX_GAP_S``.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from hub.errors import RenderFailed
from hub.renderers.video.narration import Speech

MANDARIN_VOICE = "cmn-latn-pinyin"
MIN_S_PER_SYLLABLE = 0.10
MAX_S_PER_SYLLABLE = 0.45
#: what a line may last beyond its syllables: the voice's lead-in and the sentence-final pause, which
#: weigh on a four-character line ("内容完整。" lasts 1.8 s in Mandarin) and not on a long one
LINE_ALLOWANCE_S = 0.4
VOICED_RMS = 300.0
MIN_VOICED = 0.35
MAX_GAP_S = 1.2
_SWITCH = re.compile(r"\((?!cmn\))([a-z]{2,3}(?:-[a-z0-9]+)?)\)")
_LATIN = re.compile(r"[A-Za-z]{2,}")
_SYLLABLE = re.compile(r"[\u3007\u4e00-\u9fff]")


@dataclass(frozen=True, slots=True)
class LineVerdict:
    """One cue's narration measured: what is wrong with it (empty: fine)."""

    text: str
    seconds: float
    syllables: int
    switched: list[str]
    latin: list[str]
    voiced: float
    longest_gap_s: float

    @property
    def problems(self) -> list[str]:
        out = []
        if self.switched:
            out.append(f"读音切换到其他语言（{','.join(sorted(set(self.switched)))}）")
        if self.latin:
            out.append(f"朗读文本含外文字母（{' '.join(self.latin[:3])}）")
        if self.syllables:
            per = self.seconds / self.syllables
            longest = MAX_S_PER_SYLLABLE * self.syllables + LINE_ALLOWANCE_S
            if not (per >= MIN_S_PER_SYLLABLE and self.seconds <= longest):
                out.append(f"时长与文字不符（每字{per:.2f}秒）")
        if self.syllables and (self.voiced < MIN_VOICED or self.longest_gap_s > MAX_GAP_S):
            out.append(f"有字无声（有声比例{self.voiced:.0%}，最长停顿{self.longest_gap_s:.1f}秒）")
        return out


def language_switches(text: str, voice: str = MANDARIN_VOICE, binary: str = "espeak-ng") -> list[str]:
    """The languages espeak-ng switches to while reading ``text`` with ``voice`` (empty: all Mandarin)."""
    if not text.strip():
        return []
    try:
        out = subprocess.run([binary, "-q", "-x", "-v", voice, text], capture_output=True, text=True,
                             check=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as exc:
        raise RenderFailed(f"video: espeak-ng phoneme trace failed: {exc}") from exc
    return _SWITCH.findall(out.stdout)


def voicing(speech: Speech) -> tuple[float, float]:
    """(share of voiced 20 ms windows, longest unvoiced run in seconds) of ``speech``."""
    win = max(1, speech.rate // 50)
    n = len(speech.samples) // win
    if n == 0:
        return 0.0, 0.0
    frames = speech.samples[: n * win].astype(np.float64).reshape(n, win)
    voiced = np.sqrt((frames**2).mean(axis=1)) > VOICED_RMS
    if not voiced.any():
        return 0.0, n * win / speech.rate
    idx = np.flatnonzero(voiced)
    inner = voiced[idx[0]: idx[-1] + 1]  # leading/trailing silence is the engine's padding
    longest = run = 0
    for v in inner:
        run = 0 if v else run + 1
        longest = max(longest, run)
    return float(voiced.mean()), longest * win / speech.rate


def trace_voice(narrator_name: str | None) -> str | None:
    """The espeak voice to trace with: the narrator's own when it is espeak-ng, else the Mandarin one;
    None when espeak-ng is not installed (the trace check is then skipped with a warning)."""
    if shutil.which("espeak-ng") is None:
        return None
    if narrator_name and narrator_name.startswith("espeak-ng:"):
        return narrator_name.split(":")[1]
    return MANDARIN_VOICE


def judge(texts: list[str], speech: list[Speech | None], voice: str | None) -> list[LineVerdict]:
    """Measure every cue's narration (``texts[i]`` spoken as ``speech[i]``)."""
    def one(i: int) -> LineVerdict:
        text, clip = texts[i], speech[i]
        switched = language_switches(text, voice) if voice else []
        seconds = clip.seconds if clip is not None else 0.0
        voiced, gap = voicing(clip) if clip is not None else (0.0, 0.0)
        return LineVerdict(text, round(seconds, 3), len(_SYLLABLE.findall(text)), switched,
                           _LATIN.findall(text), round(voiced, 3), round(gap, 3))

    with ThreadPoolExecutor(max_workers=2) as pool:
        return list(pool.map(one, range(len(texts))))
