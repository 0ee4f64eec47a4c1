"""Pre-publish checks: personal data, wrong and sensitive words, links.

``run_checks(record, source_text=...)`` is the one entry point: ``hub check``,
every ``hub ingest`` and the web editor call it, and the store keeps what it
returns with the version. Personal data is always blocking (a reviewer must
waive each finding explicitly); words and links block as configured.
"""

from __future__ import annotations

from hub.checks.findings import KINDS, PERSONAL_DATA, Finding
from hub.checks.links import find_links, url_spans
from hub.checks.personal import Match, find_personal_data, mask_line
from hub.checks.settings import CheckConfig, load_check_config
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


def check_lines(lines: list[str], record: Record, config: CheckConfig) -> list[Finding]:
    """Run every check over ``lines`` (1-based line numbers in the findings)."""
    findings: list[Finding] = []
    allowed = (*config.links.allowed_hosts, _own_host())
    for n, line in enumerate(lines, start=1):
        own = protected_spans(line, record) + url_spans(line)
        pii = find_personal_data(line, bank_prefixes=config.personal_data.bank_prefixes, skip=own)
        masked = mask_line(line, pii) if pii else line
        for m in pii:
            s = _shift(pii, m.start)
            findings.append(Finding(m.kind, n, m.start + 1, excerpt(masked, s, s + len(m.masked)), m.masked, True))
        for w in find_words(line, config.words):
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
    return findings


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
