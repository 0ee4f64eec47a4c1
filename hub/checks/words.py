"""Wrong and sensitive words from ``config/words.toml``, each with its preferred form."""

from __future__ import annotations

from dataclasses import dataclass

from hub.checks.settings import WordEntry


@dataclass(frozen=True, slots=True)
class WordMatch:
    entry: WordEntry
    start: int
    end: int


def _spans(line: str, needle: str) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    start = line.find(needle)
    while start != -1:
        out.append((start, start + len(needle)))
        start = line.find(needle, start + 1)
    return out


def find_words(line: str, entries: tuple[WordEntry, ...]) -> list[WordMatch]:
    """Occurrences of each entry's wrong form that are not inside its preferred form or an exception."""
    found: list[WordMatch] = []
    for entry in entries:
        hits = _spans(line, entry.wrong)
        if not hits:
            continue
        allowed: list[tuple[int, int]] = []
        for ok in (entry.preferred, *entry.except_):
            if ok and entry.wrong in ok:
                allowed.extend(_spans(line, ok))
        for start, end in hits:
            if not any(s <= start and end <= e for s, e in allowed):
                found.append(WordMatch(entry, start, end))
    found.sort(key=lambda m: m.start)
    return found
