"""The real-page corpus of issue 11 (``tests/corpus``): loading, scoring and the printed report.

Every page ``tests/corpus/<site>/<name>.txt`` (or ``.xml`` for a feed) has a sidecar
``<name>.expected.toml`` written by a person reading the page: where it came from
(``source_url``, ``found_via``, ``layout``, ``notes``), the fields as the page states them
(``title``, ``index_no``, ``doc_no``, ``department``, ``written_on``, ``published_at``,
``addressees``), where its body is (``body_starts``, optional ``body_ends``: literal snippets
of the page) and its personal data (``[pii] ids / mobiles / bank_cards``: the exact digit
strings; ``not_pii``: number-like strings that must not be flagged). A feed's sidecar holds
one ``[[records]]`` table per entry, in document order, with the same field keys.

How a field is scored (the rules the sidecars are written to):

- An empty expected value (``""`` or ``[]``) means the page does not state the field: the
  record must leave it empty. For ``title`` (a record always carries one) it means the title
  must not be text taken from the page (a placeholder the author replaces is right; the first
  sentence or an addressee line is wrong).
- Strings are compared after Unicode NFKC folding with all whitespace removed; ``department``
  and ``addressees`` also ignore the separators ``、,，;；:：`` so that joint issuers and
  addressee lists compare whatever way they are split. ``department`` may list several
  accepted spellings of one office (the first is the full name).
- ``written_on`` is an ISO date; ``published_at`` an ISO date or local date-time
  (``2024-04-06T16:34``) compared at the precision written.

What the sidecars hold (the reading rules, so that the next page is read the same way):

- ``department`` is the office that issued the document as the page names it: in the header
  (unless the header names a website or a re-posting office), the signature, the organ at the
  start of the title, or a 来源 line naming an office. Never the site owner or a website when
  they differ from the issuer. An office only implied by the prose counts as not stated (the
  author chooses it; the reader must not guess).
- ``written_on`` is the document's date (成文日期, else the signature's date); ``published_at``
  the moment the page says it was put online (发布日期/公开日期/发布时间, or 时间/日期 on a
  re-post; 发文日期 and 生成日期 when they carry the posting time; on a legal database its
  发布日期/颁布日期 field, else the database's posting time). 归档时间, a "today is" line and
  validity dates (生效/废止) are not publication dates.
- ``title`` is the document's title as the page prints it (lines of a broken title joined; a
  bracketed 文号 after it is not part of it); a page whose stored text has no title has an
  empty expected title.
- Pages found in the search tool's ``pages`` corpus are the stored excerpt (the page from its
  beginning, cut after about 1,500 characters); the body region then ends where the text ends.
  Whole documents come from public repositories that keep a page's text (a string in a script,
  a database dump): kept exactly; when the repository holds the page's HTML, the page file is
  its visible text (one line per block element, tags dropped), as each sidecar's ``found_via``
  says. A title the crawler kept in a separate field is not page text (expected title empty).

These scores are the ground truth the ingest reader is measured by; the targets are those of
issue 11.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from difflib import SequenceMatcher
from functools import cache
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import feedparser

from hub.checks import PERSONAL_DATA, run_checks
from hub.checks.personal import mask
from hub.errors import RecordError
from hub.ingest import Ingested, ingest_path
from hub.ingest.issuer import record_issuer
from hub.record import Record
from hub.settings import PROJECT_ROOT
from hub.timeutil import iso_local

CORPUS = PROJECT_ROOT / "tests" / "corpus"
FIELDS = ("title", "index_no", "doc_no", "department", "written_on", "published_at", "addressees")
PAGE_SUFFIXES = (".txt", ".html", ".xml")
_SEPARATORS = re.compile(r"[、,，;；:：]")
_WS = re.compile(r"\s+")
_PII_KINDS = {"ids": "id_number", "mobiles": "mobile", "bank_cards": "bank_card"}


def fold(text: str) -> str:
    """NFKC, no whitespace: how two spellings of one value are compared."""
    return _WS.sub("", unicodedata.normalize("NFKC", text))


def nonspace(text: str) -> str:
    """The non-whitespace characters of ``text`` (NFKC-folded), in order."""
    return fold(text)


@dataclass(frozen=True)
class Expected:
    """One record as the sidecar expects it."""

    fields: dict[str, Any]
    body_starts: str
    body_ends: str | None


@dataclass(frozen=True)
class Case:
    """A page of the corpus with its sidecar."""

    page: Path
    sidecar: Path
    meta: dict[str, Any]
    records: list[Expected]

    @property
    def name(self) -> str:
        return str(self.page.relative_to(CORPUS))

    @property
    def text(self) -> str:
        return self.page.read_text(encoding="utf-8")

    @property
    def is_feed(self) -> bool:
        return self.page.suffix == ".xml"


def _page_of(sidecar: Path) -> Path:
    stem = sidecar.name.removesuffix(".expected.toml")
    pages = [sidecar.with_name(stem + s) for s in PAGE_SUFFIXES if sidecar.with_name(stem + s).exists()]
    if len(pages) != 1:
        raise ValueError(f"{sidecar}: expected exactly one page file named {stem}.txt/.html/.xml, found {len(pages)}")
    return pages[0]


def _expected(table: dict[str, Any]) -> Expected:
    return Expected(fields={k: table.get(k, [] if k == "addressees" else "") for k in FIELDS},
                    body_starts=table.get("body_starts", ""), body_ends=table.get("body_ends"))


@cache
def load_cases() -> tuple[Case, ...]:
    """Every page with its sidecar, sorted by path."""
    cases = []
    for sidecar in sorted(CORPUS.rglob("*.expected.toml")):
        meta = tomllib.loads(sidecar.read_text(encoding="utf-8"))
        tables = meta.get("records") or [meta]
        cases.append(Case(page=_page_of(sidecar), sidecar=sidecar, meta=meta,
                          records=[_expected(t) for t in tables]))
    return tuple(cases)


def orphan_pages() -> list[Path]:
    """Page files with no sidecar (each page must have one)."""
    sidecars = {p.name.removesuffix(".expected.toml") for p in CORPUS.rglob("*.expected.toml")}
    return [p for p in CORPUS.rglob("*") if p.suffix in PAGE_SUFFIXES and p.stem not in sidecars]


# --- sidecar well-formedness ---------------------------------------------------------------

def _iso_ok(value: str, with_time: bool) -> bool:
    if not value:
        return True
    pattern = r"\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2})?)?" if with_time else r"\d{4}-\d{2}-\d{2}"
    if not re.fullmatch(pattern, value):
        return False
    try:
        date.fromisoformat(value[:10])
    except ValueError:
        return False
    return True


def sidecar_problems(case: Case) -> list[str]:
    """What is wrong with a sidecar (empty when it is well-formed)."""
    meta, text = case.meta, case.text
    problems = []
    url = meta.get("source_url", "")
    if not isinstance(url, str) or not re.match(r"https?://\S+$", url):
        problems.append(f"source_url missing or not an http(s) URL: {url!r}")
    for key in ("found_via", "layout"):
        if not isinstance(meta.get(key), str) or not meta[key].strip():
            problems.append(f"{key} missing")
    if case.is_feed and "records" not in meta:
        problems.append("a feed's sidecar needs one [[records]] table per entry")
    for i, exp in enumerate(case.records):
        where = f"record {i + 1}: " if case.is_feed else ""
        f = exp.fields
        for key in ("title", "index_no", "doc_no", "written_on", "published_at"):
            if not isinstance(f[key], str):
                problems.append(f"{where}{key} must be a string")
        dept = f["department"]
        if not (isinstance(dept, str) or (isinstance(dept, list) and dept and all(isinstance(d, str) and d for d in dept))):
            problems.append(f"{where}department must be a string or a non-empty list of spellings")
        if not isinstance(f["addressees"], list) or not all(isinstance(a, str) and a for a in f["addressees"]):
            problems.append(f"{where}addressees must be a list of non-empty strings")
        if not _iso_ok(f["written_on"], with_time=False):
            problems.append(f"{where}written_on is not an ISO date: {f['written_on']!r}")
        if not _iso_ok(f["published_at"], with_time=True):
            problems.append(f"{where}published_at is not an ISO date or date-time: {f['published_at']!r}")
        if not case.is_feed:
            if not exp.body_starts or exp.body_starts not in text:
                problems.append(f"body_starts {exp.body_starts!r} is not in the page")
            elif exp.body_ends is not None and exp.body_ends not in text[text.index(exp.body_starts):]:
                problems.append(f"body_ends {exp.body_ends!r} is not in the page after body_starts")
            for key in ("index_no", "doc_no"):
                if f[key] and f[key] not in text:
                    problems.append(f"{key} {f[key]!r} is not written so in the page")
    pii = meta.get("pii")
    if not isinstance(pii, dict):
        problems.append("[pii] table missing")
        return problems
    digits = re.sub(r"\D", "", text)
    for key in (*_PII_KINDS, "not_pii"):
        values = pii.get(key)
        if not isinstance(values, list) or not all(isinstance(v, str) and v for v in values):
            problems.append(f"pii.{key} must be a list of strings")
            continue
        for v in values:
            if key == "not_pii" and v not in text:
                problems.append(f"pii.not_pii {v!r} is not in the page")
            if key != "not_pii" and (not re.fullmatch(r"\d{10,19}X?", v) or v.rstrip("X") not in digits):
                problems.append(f"pii.{key} {v!r} is not a digit string present in the page")
    return problems


# --- running the reader --------------------------------------------------------------------

@dataclass
class FieldResult:
    name: str
    expected: Any
    found: Any
    ok: bool


@dataclass
class RecordResult:
    """One expected record against what the reader made of it (None: no record)."""

    expected: Expected
    record: Record | None
    fields: list[FieldResult]
    body_chars: int
    kept_chars: int
    misattributed: bool


@dataclass
class PageResult:
    case: Case
    refused: str | None
    records: list[RecordResult]
    warnings: list[str] = field(default_factory=list)
    pii_expected: list[tuple[str, str]] = field(default_factory=list)   # (kind, value)
    pii_caught: list[tuple[str, str]] = field(default_factory=list)
    false_positives: list[tuple[str, str, int | None]] = field(default_factory=list)  # (kind, masked, line)


def _department_options(expected: Any) -> list[str]:
    return [expected] if isinstance(expected, str) else list(expected)


def _fold_list(text: str) -> str:
    return _SEPARATORS.sub("", fold(text))


def score_field(name: str, expected: Any, record: Record | None, page_text: str) -> FieldResult:
    """Compare one field by the rules in the module docstring."""
    if record is None:
        return FieldResult(name, expected, "(no record)", False)
    # the sidecars' ``department`` is the issuer (发布机构 as found), which a record keeps apart from
    # the responsible hub department when they differ (hub.departments)
    found: Any = record_issuer(record) if name == "department" else getattr(record, name)
    if name == "title":
        # an empty title is the placeholder the issue asks for ("" is in every text, so test it first)
        ok = (found == "" or fold(found) not in fold(page_text)) if expected == "" else fold(found) == fold(expected)
    elif name in ("index_no", "doc_no"):
        ok = fold(found or "") == fold(expected)
    elif name == "department":
        options = _department_options(expected)
        ok = (not found) if options == [""] else bool(found) and _fold_list(found) in {_fold_list(o) for o in options}
    elif name == "written_on":
        found = found.isoformat() if found else ""
        ok = found == expected
    elif name == "published_at":
        found = iso_local(found) or ""
        if not expected:
            ok = found == ""
        elif len(expected) == 10:  # a date: the day must match, whatever the time
            ok = found[:10] == expected
        else:  # a local date-time: equal to the precision written
            ok = found.startswith(expected)
    else:  # addressees
        ok = _fold_list("".join(found)) == _fold_list("".join(expected))
    return FieldResult(name, expected, found, ok)


def record_text(record: Record) -> str:
    """Every piece of the document a record carries, in reading order (what can be published)."""
    parts = [record.title, *record.addressees, *record.body_text()]
    if record.signature is not None:
        parts.append(record.signature.office)
        if record.signature.date is not None:
            d = record.signature.date
            parts.append(f"{d.year}年{d.month}月{d.day}日")
    parts.extend(a.name for a in record.attachments)
    parts.extend(record.extra.values())
    return "\n".join(parts)


def kept_characters(source: str, record: Record) -> tuple[int, int]:
    """(body characters, of which kept) — the body-kept measure of issue 11.

    The body region of the source is the page text from the sidecar's ``body_starts`` to its
    ``body_ends`` (or the end of the page): addressees, body, signature and anything after it
    that belongs to the document (attached lists, the rules an 印发 notice issues). Its
    non-whitespace characters (NFKC-folded) are matched, in order, against the
    non-whitespace characters of everything the record carries (``record_text``) with
    ``difflib.SequenceMatcher``; a stretch the in-order match skipped still counts as kept
    when it occurs whole elsewhere in the record (the reader may move a signature or a
    heading). Kept / total is the share of the body's characters kept.
    """
    src, rec = nonspace(source), nonspace(record_text(record))
    matcher = SequenceMatcher(None, src, rec, autojunk=False)
    kept, pos = 0, 0
    for a, _b, size in matcher.get_matching_blocks():
        gap = src[pos:a]
        if gap and gap in rec:
            kept += len(gap)
        kept += size
        pos = a + size
    return len(src), kept


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def _html_text(markup: str) -> str:
    parser = _Text()
    parser.feed(markup)
    parser.close()
    return "\n".join(parser.parts)


def feed_entry_bodies(xml: bytes) -> list[str]:
    """The text of each RSS item / Atom entry's content (content, else description/summary), in order.

    Read with feedparser and the standard HTML parser, not with the hub's reader, so the
    body-kept figure of a feed is not measured against the reader's own output.
    """
    bodies = []
    for entry in feedparser.parse(xml).entries:
        contents = entry.get("content") or []
        markup = contents[0].get("value", "") if contents else entry.get("summary", "")
        bodies.append(_html_text(markup))
    return bodies


def _pii_findings(item: Ingested) -> list[tuple[str, str, int | None]]:
    return [(f.kind, f.suggestion or "", f.line) for f in run_checks(item.record, source_text=item.source_text)
            if f.kind in PERSONAL_DATA]


def run_case(case: Case) -> PageResult:
    """Ingest one page the way ``hub ingest`` does and score it against its sidecar."""
    text = case.text
    pii = case.meta.get("pii", {})
    expected_pii = [(_PII_KINDS[k], v) for k in _PII_KINDS for v in pii.get(k, [])]
    try:
        items = ingest_path(case.page)
    except RecordError as exc:
        results = []
        for exp in case.records:
            body = text[text.index(exp.body_starts):] if exp.body_starts and exp.body_starts in text else ""
            results.append(RecordResult(exp, None, [score_field(n, exp.fields[n], None, text) for n in FIELDS],
                                        len(nonspace(body)), 0, False))
        return PageResult(case, str(exc), results, pii_expected=expected_pii)
    bodies = feed_entry_bodies(case.page.read_bytes()) if case.is_feed else []
    results = []
    for i, exp in enumerate(case.records):
        item = items[i] if i < len(items) else None
        record = item.record if item is not None else None
        fields = [score_field(n, exp.fields[n], record, text) for n in FIELDS]
        if case.is_feed:
            region = bodies[i] if i < len(bodies) else ""
        else:
            start = text.index(exp.body_starts)
            end = text.index(exp.body_ends, start) + len(exp.body_ends) if exp.body_ends else len(text)
            region = text[start:end]
        total, kept = kept_characters(region, record) if record is not None else (len(nonspace(region)), 0)
        dept = fields[FIELDS.index("department")]
        misattributed = record is not None and bool(record_issuer(record)) and not dept.ok
        results.append(RecordResult(exp, record, fields, total, kept, misattributed))
    findings = [f for item in items for f in _pii_findings(item)]
    masks = {(kind, mask(kind, value)): (kind, value) for kind, value in expected_pii}
    found_masks = {(kind, masked) for kind, masked, _line in findings}
    caught = [pair for key, pair in masks.items() if key in found_masks]
    false_positives = [f for f in findings if (f[0], f[1]) not in masks]
    warnings = [w for item in items for w in item.warnings]
    return PageResult(case, None, results, warnings, expected_pii, caught, false_positives)


@cache
def run_corpus() -> tuple[PageResult, ...]:
    """Every page, ingested once per test session."""
    return tuple(run_case(c) for c in load_cases())


# --- figures and the report ----------------------------------------------------------------

@dataclass(frozen=True)
class Figures:
    pages: int
    records: int
    refused: int
    field_right: dict[str, int]
    body_chars: int
    kept_chars: int
    misattributed: int
    pii_expected: int
    pii_caught: int
    false_positives: int

    def accuracy(self, name: str) -> float:
        return 100.0 * self.field_right[name] / self.records if self.records else 100.0

    @property
    def kept_share(self) -> float:
        return 100.0 * self.kept_chars / self.body_chars if self.body_chars else 100.0

    @property
    def caught_share(self) -> float:
        return 100.0 * self.pii_caught / self.pii_expected if self.pii_expected else 100.0


def figures(results: tuple[PageResult, ...]) -> Figures:
    records = [r for p in results for r in p.records]
    return Figures(
        pages=len(results),
        records=len(records),
        refused=sum(1 for p in results if p.refused is not None),
        field_right={n: sum(1 for r in records if r.fields[FIELDS.index(n)].ok) for n in FIELDS},
        body_chars=sum(r.body_chars for r in records),
        kept_chars=sum(r.kept_chars for r in records),
        misattributed=sum(1 for r in records if r.misattributed),
        pii_expected=sum(len(p.pii_expected) for p in results),
        pii_caught=sum(len(p.pii_caught) for p in results),
        false_positives=sum(len(p.false_positives) for p in results),
    )


def _short(value: Any, width: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def report(results: tuple[PageResult, ...]) -> str:
    """The table ``pytest -s`` prints: figures per field, then every failure per page."""
    fig = figures(results)
    sites = {p.case.page.parent.name for p in results}
    lines = [
        f"corpus: {fig.pages} pages, {fig.records} records, {len(sites)} sites",
        f"{'measure':<34}{'figure':>10}  target",
        f"{'pages refused':<34}{fig.refused:>10}  0",
    ]
    for n in FIELDS:
        lines.append(f"{n + ' right':<34}{fig.accuracy(n):>9.1f}%  >= 97%   ({fig.field_right[n]}/{fig.records})")
    lines += [
        f"{'body characters kept':<34}{fig.kept_share:>9.1f}%  >= 98%   ({fig.kept_chars}/{fig.body_chars})",
        f"{'misattributed records':<34}{fig.misattributed:>10}  0",
        f"{'personal numbers caught':<34}{fig.caught_share:>9.1f}%  100%     ({fig.pii_caught}/{fig.pii_expected})",
        f"{'false personal-data findings':<34}{fig.false_positives:>10}  0",
        "",
        "failures per page (field: expected → found):",
    ]
    for p in results:
        problems = []
        if p.refused is not None:
            problems.append(f"  REFUSED: {p.refused}")
        for i, r in enumerate(p.records):
            tag = f"[entry {i + 1}] " if p.case.is_feed else ""
            for f in r.fields:
                if not f.ok:
                    mark = " (MISATTRIBUTED)" if f.name == "department" and r.misattributed else ""
                    problems.append(f"  {tag}{f.name}: {_short(f.expected)} → {_short(f.found)}{mark}")
            if r.body_chars and r.kept_chars < r.body_chars:
                share = 100.0 * r.kept_chars / r.body_chars
                problems.append(f"  {tag}body kept {share:.1f}% ({r.kept_chars}/{r.body_chars})")
        missed = sorted(set(p.pii_expected) - set(p.pii_caught))
        problems += [f"  personal data missed: {kind} {mask(kind, value)}" for kind, value in missed]
        problems += [f"  false finding: {kind} {masked} (line {line})" for kind, masked, line in p.false_positives]
        if problems:
            lines.append(p.case.name)
            lines.extend(problems)
    return "\n".join(lines)
