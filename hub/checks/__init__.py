"""Pre-publish checks: personal data, wrong and sensitive words, links.

``run_checks(record, source_text=...)`` is the one entry point: ``hub check``,
every ``hub ingest`` and the web editor call it, and the store keeps what it
returns with the version. Personal data is always blocking (a reviewer must
waive each finding explicitly); words and links block as configured.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from itertools import accumulate

from hub.checks.findings import KINDS, PERSONAL_DATA, Finding
from hub.checks.links import find_links, url_spans
from hub.checks.personal import (
    CANDIDATE_PATTERNS,
    Match,
    find_personal_data,
    mask_line,
    mask_text,
    phone_column_values,
)
from hub.checks.settings import CheckConfig, WordEntry, load_check_config
from hub.checks.text import excerpt, protected_spans, record_lines
from hub.checks.words import find_words
from hub.record import Record
from hub.settings import get_settings

__all__ = ["KINDS", "PERSONAL_DATA", "Finding", "check_lines", "run_checks"]


def _shift(matches: list[Match], position: int) -> int:
    """Where ``position`` of the original line lands in the masked line."""
    delta = 0
    for m in matches:
        if m.end <= position:
            delta += len(m.masked) - (m.end - m.start)
    return position + delta


#: a line that can hold a link has a scheme's colon or "www."
_LINKISH = re.compile(r"(?i):|www\.")


def candidate_lines(lines: list[str], config: CheckConfig) -> tuple[list[int], tuple[WordEntry, ...]]:
    """0-based indexes of the lines any check could flag, and the word entries present at all.

    Why: the checks are per line in Python; a file of a million short lines took over
    20 s (issue 18). Each detector's necessary condition is searched once over the whole
    text in C (the personal-data patterns, a colon, each word), and only the lines that meet one are checked
    in full, so the findings are exactly those of checking every line.
    """
    text = "\n".join(lines)
    starts = list(accumulate((len(line) + 1 for line in lines), initial=0))
    hits: set[int] = set()

    def mark(position: int) -> None:
        hits.add(bisect_right(starts, position) - 1)

    for pattern in CANDIDATE_PATTERNS:  # personal data: the detector's own patterns, over the whole text
        for m in pattern.finditer(text):
            mark(m.start())
    for m in _LINKISH.finditer(text):
        mark(m.start())
    present: list[WordEntry] = []
    for entry in config.words:
        at = text.find(entry.wrong)
        if at == -1:
            continue
        present.append(entry)
        while at != -1:
            mark(at)
            at = text.find(entry.wrong, at + 1)
    return sorted(hits), tuple(present)


def check_lines(lines: list[str], record: Record, config: CheckConfig) -> list[Finding]:
    """Run every check over ``lines`` (1-based line numbers in the findings)."""
    findings: list[Finding] = []
    allowed = (*config.links.allowed_hosts, _own_host())
    phones = phone_column_values(record)
    candidates, words = candidate_lines(lines, config)
    for index in candidates:
        n, line = index + 1, lines[index]
        own = protected_spans(line, record) + url_spans(line)
        pii = find_personal_data(line, bank_prefixes=config.personal_data.bank_prefixes, skip=own, phone_values=phones)
        masked = mask_line(line, pii) if pii else line
        for m in pii:
            s = _shift(pii, m.start)
            findings.append(Finding(m.kind, n, m.start + 1, excerpt(masked, s, s + len(m.masked)), m.masked, True))
        for w in find_words(line, words):
            s = _shift(pii, w.start)
            kind = "sensitive_word" if w.entry.kind == "sensitive" else "wrong_word"
            findings.append(Finding(kind, n, w.start + 1, excerpt(masked, s, s + w.end - w.start),
                                    w.entry.preferred, config.word_blocking(w.entry)))
        for link in find_links(line, allowed):
            s = _shift(pii, link.start)
            blocking = (config.links.blocking_malformed if link.kind == "link_malformed"
                        else config.links.blocking_unknown_host)
            findings.append(Finding(link.kind, n, link.start + 1, excerpt(masked, s, s + link.end - link.start),
                                    link.reason, blocking))
    findings.sort(key=lambda f: (f.line or 0, f.column or 0, f.kind))
    return findings


def _own_host() -> str:
    from urllib.parse import urlsplit

    return urlsplit(get_settings().public_url).hostname or "127.0.0.1"


def run_checks(record: Record, *, source_text: str | None = None) -> list[Finding]:
    """Every finding for ``record``; line/column point into ``source_text`` when it is given."""
    config = load_check_config()
    lines = source_text.split("\n") if source_text is not None else record_lines(record)
    findings = check_lines(lines, record, config)
    if config.links.check_reachable:
        findings = sorted([*findings, *_dead(lines, config, findings)],
                          key=lambda f: (f.line or 0, f.column or 0, f.kind))
    return findings + issuer_findings(record)


#: what the author sees when no issuing office was found (issue 11): blocking until one is chosen
ISSUER_MISSING = "未识别发布机构"


def issuer_findings(record: Record) -> list[Finding]:
    """A blocking ``issuer_missing`` finding for an ingested page or feed entry that names no office.

    Why blocking: the renditions would otherwise have to name *someone* as the issuer, and the
    site owner is not a truthful default (issue 11). The author resolves it by choosing the
    office (公开责任部门) in the editor; the new version is checked again and the finding is gone.
    """
    from hub.ingest.issuer import record_issuer

    if record_issuer(record) or record.source is None or record.source.kind not in ("page", "feed"):
        return []
    return [Finding("issuer_missing", None, None, ISSUER_MISSING,
                    "请在编辑页选择发布机构（公开责任部门）", True)]


def masked_record(record: Record) -> Record:
    """``record`` with every ID, bank-card and mobile number in its text masked (139****1234).

    What ``hub render`` renders while a version still has unresolved blocking personal-data
    findings (decision 2026-12-03-page-reader): previews stay possible, nothing leaks in clear.
    """
    config = load_check_config()
    prefixes = config.personal_data.bank_prefixes
    phones = phone_column_values(record)

    def m(text: str) -> str:
        return mask_text(text, bank_prefixes=prefixes, phone_values=phones)

    data = record.model_dump(mode="python")
    data["title"] = m(data["title"])
    for key in ("addressees",):
        data[key] = [m(x) for x in data[key]]
    for block in data["body"]:
        if "text" in block:
            block["text"] = m(block["text"])
        if "items" in block:
            block["items"] = [m(x) for x in block["items"]]
        if "rows" in block:
            block["rows"] = [[m(c) for c in row] for row in block["rows"]]
            block["header"] = [m(c) for c in block["header"]]
        if block.get("caption"):
            block["caption"] = m(block["caption"])
    for ov in data["overrides"].values():
        for key in ("title", "text", "digest"):
            if ov.get(key):
                ov[key] = m(ov[key])
    data["extra"] = {k: m(v) for k, v in data["extra"].items()}
    return Record.model_validate(data)


def _dead(lines: list[str], config: CheckConfig, found: list[Finding]) -> list[Finding]:
    """``link_dead`` findings for well-formed links whose page does not answer (``hub.checks.reach``)."""
    from hub.checks.reach import ReachSettings, dead_links

    malformed = {(f.line, f.column) for f in found if f.kind == "link_malformed"}
    places: list[tuple[int, int, int, str]] = []
    for n, line in enumerate(lines, start=1):
        for link in find_links(line, ()):  # every link, allowed or not: a dead allowed link is still dead
            if (n, link.start + 1) in malformed or link.kind == "link_malformed":
                continue
            url = link.url if "://" in link.url else "http://" + link.url
            places.append((n, link.start, link.end, url))
    if not places:
        return []
    dead = dead_links([p[3] for p in places], ReachSettings(config.links.reach_timeout_s, config.links.reach_cache_s))
    return [Finding("link_dead", n, start + 1, excerpt(lines[n - 1], start, end), dead[url], config.links.blocking_dead)
            for n, start, end, url in places if url in dead]
