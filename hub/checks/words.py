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


def wrong_form(excerpt: str, suggestion: str, entries: tuple[WordEntry, ...]) -> WordEntry | None:
    """The entry a word finding was about: its preferred form is the suggestion and its wrong form is in the excerpt."""
    for entry in entries:
        if entry.preferred == suggestion and find_words(excerpt.strip("…"), (entry,)):
            return entry
    return None


def replacements(excerpt: str, entry: WordEntry, *, widths: tuple[int, ...] = (16, 6, 3)) -> list[tuple[str, str]]:
    """(old, new) text pairs that replace only the wrong word of a finding, widest context first.

    The finding keeps an excerpt (the word with some text around it, personal data masked); the
    fix must change the word alone, so each candidate is a piece of that excerpt around the word
    with the word replaced. The caller uses the first candidate found in the record; the context
    keeps it to the finding's own place. Pieces containing a mask (``*``) are skipped: that text
    is not in the record as written. The bare word comes last.
    """
    text = excerpt.strip("…")
    hits = find_words(text, (entry,))
    out: list[tuple[str, str]] = []
    for width in widths:
        for m in hits:
            left, right = max(0, m.start - width), min(len(text), m.end + width)
            old = text[left:right]
            new = text[left:m.start] + entry.preferred + text[m.end:right]
            if "*" not in old and (old, new) not in out:
                out.append((old, new))
    out.append((entry.wrong, entry.preferred))
    return out
