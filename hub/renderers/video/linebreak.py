"""Chinese line breaking for slides and subtitles (禁则: the rules a typesetter follows).

Why our own: moviepy's TextClip and naive ``textwrap`` break anywhere a line is
full, so lines start with "，" or end with "《", and numbers split ("20|17").
These rules are the ones of GB/T 15834 practice and JIS X 4051 (which Chinese
typesetting shares for punctuation):

- no line starts with closing punctuation (。，、；：？！）》」』】〕〉”’…— and ASCII ,.;:?!)]}%);
- no line ends with opening punctuation (（《「『【〔〈“‘ and ASCII ([{ and currency signs);
- digits and Latin letters stay together ("2017", "37项" may break after 37, "GB/T" never);
- "——" and "……" are never split.

When a line would violate a rule, the last unit of the full line moves down
(追い出し, push-out) rather than letting punctuation hang outside the width, because
on TV the width is the title-safe area and nothing may leave it.

Width is measured by a caller-supplied function, so the same breaker serves
character counts ("≤ 16 characters a line") and Pillow pixel widths.
"""

from __future__ import annotations

import re
from collections.abc import Callable

#: May not start a line.
NO_START = frozenset("。，、；：？！）》」』】〕〉〗”’…—·%‰℃,.;:?!)]}>" + "\u3009\uff09\uff0c\uff0e")
#: May not end a line.
NO_END = frozenset("（《「『【〔〈〖“‘([{<￥$£€#")

#: Units that are never split: Latin/digit runs (with inner . , / - : %), doubled dashes and ellipses.
_UNIT = re.compile(r"——|……|[A-Za-z0-9][A-Za-z0-9.,/:\-_%]*[A-Za-z0-9%]|[A-Za-z0-9]|\s+|.", re.S)


def char_width(text: str) -> float:
    """Width in full-width character cells: CJK and full-width punctuation count 1, ASCII counts ½."""
    return sum(0.5 if ord(ch) < 0x2E80 and ch not in "…—“”‘’·" else 1.0 for ch in text)


def units(text: str) -> list[str]:
    """``text`` cut into the pieces a line break may fall between."""
    return _UNIT.findall(text)


def _starts_bad(unit: str) -> bool:
    return bool(unit) and unit[0] in NO_START


def _ends_bad(unit: str) -> bool:
    return bool(unit) and unit[-1] in NO_END


def break_lines(text: str, max_width: float, width: Callable[[str], float] = char_width) -> list[str]:
    """Break ``text`` into lines no wider than ``max_width`` following the rules above.

    A single unit wider than a line (a very long URL) is split by characters as a
    last resort: overflowing the safe area is worse than a split word.
    """
    out: list[str] = []
    for paragraph in text.split("\n"):
        out.extend(_break_paragraph(paragraph.strip(), max_width, width))
    return out


def _break_paragraph(text: str, max_width: float, width: Callable[[str], float]) -> list[str]:
    pieces: list[str] = []
    for unit in units(text):
        if width(unit) > max_width and len(unit) > 1:
            pieces.extend(unit)  # last resort: a unit longer than a line
        else:
            pieces.append(unit)
    lines: list[list[str]] = []
    line: list[str] = []
    for unit in pieces:
        if not line and unit.isspace():
            continue
        if line and width("".join(line) + unit) > max_width:
            carry: list[str] = []
            # push-out: the next line may not start with closing punctuation,
            # and this line may not end with opening punctuation
            while len(line) > 1 and (_starts_bad(unit if not carry else carry[0]) or _ends_bad(line[-1])):
                carry.insert(0, line.pop())
            while line and line[-1].isspace():
                line.pop()
            lines.append(line)
            while carry and carry[0].isspace():
                carry.pop(0)
            line = carry
        line.append(unit)
    if line:
        lines.append(line)
    return ["".join(units_).strip() for units_ in lines if "".join(units_).strip()]


def violations(lines: list[str]) -> list[str]:
    """The rule breaks in ``lines`` (for tests and the QC report): empty when all is well."""
    bad: list[str] = []
    for i, line in enumerate(lines):
        if i > 0 and line and line[0] in NO_START:
            bad.append(f"line {i + 1} starts with {line[0]!r}")
        if i < len(lines) - 1 and line and line[-1] in NO_END:
            bad.append(f"line {i + 1} ends with {line[-1]!r}")
    return bad


def word_units(text: str) -> list[str]:
    """``units(text)`` with Chinese runs cut into words (jieba, dictionary only: deterministic),
    closing punctuation glued to the word before it, opening punctuation to the word after.
    A subtitle line break between two of these never splits a word ("发表重 / 要讲话")."""
    import jieba

    pieces: list[str] = []
    for unit in units(text):
        if len(unit) == 1 and "\u4e00" <= unit <= "\u9fff" and pieces and _is_cjk_run(pieces[-1]):
            pieces[-1] += unit  # gather a run of Chinese characters, cut below
        else:
            pieces.append(unit)
    words: list[str] = []
    for piece in pieces:
        words.extend(jieba.lcut(piece, HMM=False) if _is_cjk_run(piece) and len(piece) > 1 else [piece])
    glued: list[str] = []
    for w in words:
        if glued and (_starts_bad(w) or _ends_bad(glued[-1])):
            glued[-1] += w
        else:
            glued.append(w)
    return glued


def _is_cjk_run(text: str) -> bool:
    return bool(text) and all("\u4e00" <= ch <= "\u9fff" for ch in text)


def break_subtitle(text: str, max_width: float, max_lines: int = 2,
                   width: Callable[[str], float] = char_width) -> list[str]:
    """Subtitle lines: at word boundaries (``word_units``), and when the text fits in two lines
    the break that makes them most even, so no line is a one-character orphan.

    Text longer than ``max_lines`` lines (the caller's chunking should prevent it) falls back
    to greedy filling at word boundaries.
    """
    text = text.strip()
    if width(text) <= max_width:
        return [text] if text else []
    words = word_units(text)
    best: tuple[float, list[str]] | None = None
    for i in range(1, len(words)):
        a, b = "".join(words[:i]).strip(), "".join(words[i:]).strip()
        if width(a) > max_width or width(b) > max_width or not a or not b:
            continue
        score = abs(width(a) - width(b))
        if best is None or score < best[0]:
            best = (score, [a, b])
    if best is not None and max_lines >= 2:
        return best[1]
    lines: list[str] = []
    line = ""
    for w in words:
        if line and width(line + w) > max_width:
            lines.append(line.strip())
            line = ""
        while width(w) > max_width:  # a word longer than a line: split as a last resort
            cut_at = max(1, int(max_width))
            lines.append(w[:cut_at])
            w = w[cut_at:]
        line += w
    if line.strip():
        lines.append(line.strip())
    if len(lines) >= 2 and len(lines[-1]) == 1 and width(lines[-2][-1:] + lines[-1]) <= max_width:
        lines[-2], lines[-1] = lines[-2][:-1], lines[-2][-1:] + lines[-1]
    return lines
