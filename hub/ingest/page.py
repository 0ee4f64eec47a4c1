"""Government page text: the detail page of a 政府信息公开 portal, copied as text.

Shape (see samples/hanyin-2017-168-wugongkai.txt): a title line, a metadata
header, the addressees (主送), the body with its numbered sections, and a
signature block (office, date). Real portals vary every part of it (issue 11):
the header comes before or after the title, as ``key: value`` lines, several
pairs per line, ``label value`` without colons, pipe rows, one field per line or
bullets; the title may be missing or only in the header's 标题/名称; the
addressees may sit below a 文号 line; a 印发 notice signs in the middle and the
rules it issues follow. The reader works by principle:

- labels come from one vocabulary (``hub.ingest.labels``) and lines are split where
  a known label starts; empty values are allowed and never swallow the next label;
- every synonym's value is kept (the first in the field, the others in ``extra``,
  with a warning when they disagree);
- the title is the header's 标题/名称, else the first title-like line of the head;
  an addressee line, a label line, a date or a paragraph is never a title: with
  none, the title stays empty and a warning asks the author to type it;
- no character is dropped silently: what is not a field is body or ``extra``;
  a document on one line is cut into paragraphs at its sentences.

``PageFields.roles`` says which source line became which field (``hub ingest --explain``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime

from hub.errors import RecordError
from hub.ingest.dates import DateError, find_datetime, has_time, parse_date, parse_datetime
from hub.ingest.labels import FIELD_LABELS, SYNONYMS, Pair, field_for, key, label_only, split_pairs, strip_bullet
from hub.ingest.numbering import Numbered, check_sequence, heading_line, split_number
from hub.ingest.tables import aligned_columns, cell_per_line, is_separator, make_table, pipe_cells
from hub.record import Attachment, Block, Disclosure, Heading, Paragraph, Signature

__all__ = ["EXPECTED", "FIELD_LABELS", "SYNONYMS", "PageFields", "field_for", "header_date", "parse_page_text"]

#: the fields a portal page is expected to print; missing ones are warnings
EXPECTED = ("index_no", "catalog", "department", "disclosure", "doc_no", "written_on", "published_at", "validity")

_ORG_END = re.compile(
    r"(政府|机构|部门|单位|委员会|党委|党组|局|办|办公室|所|站|中心|院|校|村|社区|镇|乡|街道|公司|厅|处|科|室|队|委|会|组|"
    r"部|署|行|馆|团|支部|群众|居民|村民|企业|个人|同志们?|学校|指挥部|各有关方面|有关单位|各位)$"
)
_SENT = re.compile(r"[。；;！？!?]")
_NOTE = re.compile(r"^[（(][^（）()]{1,40}[）)]$")
_ATTACH = re.compile(r"^附\s*件\s*\d*\s*[:：]\s*(\S.*)$")
_DOC_NO = re.compile(r"^[\u4e00-\u9fffA-Za-z]{1,20}\s*[〔\[［（(【]\s*\d{4}\s*[〕\]］）)】]\s*第?\s*\d{1,5}\s*号$")
_BREADCRUMB = re.compile(r"(?:[>＞»›]|&gt;)")
#: one-line documents: cut after a sentence end; lines longer than this are cut into paragraphs
_LONG_LINE = 300
_CUT = re.compile(r"(?<=[。！？])(?=[^”’）)」』])")
_TITLE_MAX = 120


@dataclass
class PageFields:
    """What the page text says, before it becomes a Record."""

    title: str | None = None
    title_line: int | None = None
    header: dict[str, tuple[str, int]] = field(default_factory=dict)
    extra: dict[str, str] = field(default_factory=dict)
    addressees: list[str] = field(default_factory=list)
    body: list[Block] = field(default_factory=list)
    body_lines: list[int] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    signature: Signature | None = None
    warnings: list[str] = field(default_factory=list)
    values: dict[str, object] = field(default_factory=dict)
    #: (source line, what it became), in source order: ``hub ingest --explain``
    roles: list[tuple[int, str]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Line:
    no: int  # 1-based source line
    text: str  # stripped
    blank_before: bool = False


def _lines(text: str) -> list[_Line]:
    """Non-empty lines with their source numbers; over-long lines cut at sentence ends (same number)."""
    out: list[_Line] = []
    blank = False
    for n, raw in enumerate(text.split("\n"), start=1):
        line = raw.strip()
        if not line:
            blank = True
            continue
        if len(line) > _LONG_LINE and len(_SENT.findall(line)) >= 2:
            pieces = _paragraphs_of(line)
            out.extend(_Line(n, p, blank and k == 0) for k, p in enumerate(pieces))
        else:
            out.append(_Line(n, line, blank))
        blank = False
    return out


def _paragraphs_of(line: str) -> list[str]:
    """A document copied as one line: paragraphs start at heading numbers, else every ~200 characters."""
    sentences = [s for s in _CUT.split(line) if s]
    out: list[str] = []
    for s in sentences:
        starts_section = split_number(s.strip()) is not None or re.match(r"^第[一二三四五六七八九十百零〇\d]+[条章]", s)
        if out and not starts_section and len(out[-1]) < 200:
            out[-1] += s
        else:
            out.append(s)
    return [p.strip() for p in out if p.strip()]


def _is_addressee_line(line: str) -> list[str] | None:
    """``各镇人民政府,县政府各工作部门、直属机构:`` → the addressees; None if the line is prose."""
    text = line.strip()
    m = re.match(r"^主\s*送\s*[:：]\s*(.+?)[。.]?$", text)
    if m is not None:
        return _split_addressees(m.group(1))
    if not text.endswith((":", "：")) or len(text) > 150 or _SENT.search(text):
        return None
    parts = _split_addressees(text[:-1])
    if parts and all(len(p) <= 40 and _ORG_END.search(p.rstrip("等")) for p in parts):
        return parts
    return None


def _split_addressees(text: str) -> list[str]:
    """Split at ``,``/``，``/``;`` only: ``、`` joins the offices of one group and stays inside."""
    return [p.strip() for p in re.split(r"[,，;；]", text) if p.strip()]


def _date_line(text: str) -> bool:
    try:
        return parse_datetime(strip_bullet(text)) is not None
    except DateError:
        return False


def _title_like(text: str) -> bool:
    """A line that can be a title: short, no sentence, no label, no date, no number, no addressee."""
    t = text.strip()
    if not t or len(t) > _TITLE_MAX or "。" in t or t.endswith((":", "：", "，", ",", "；", ";", "、")):
        return False
    if split_number(t) is not None or _date_line(t) or _DOC_NO.match(t):
        return False
    if re.fullmatch(r"[\W\d_A-Za-z]+", t):
        return False  # no Chinese at all: a URL, a number, a code
    return split_pairs(t) is None and label_only(t) is None and _is_addressee_line(t) is None


def _office_line(text: str) -> bool:
    t = text.strip()
    return (0 < len(t) <= 40 and not _SENT.search(t) and "，" not in t and heading_line(t) is None
            and _ORG_END.search(t) is not None and split_pairs(t) is None)


def _signature_at(lines: list[_Line], k: int) -> Signature | None:
    """An office line at ``k`` followed by a date line (the 落款)."""
    if k + 1 >= len(lines) or not _office_line(lines[k].text):
        return None
    try:
        when = parse_date(lines[k + 1].text)
    except DateError:
        return None
    return Signature(office=lines[k].text, date=when) if when is not None else None


class _Head:
    """Collects header pairs with their source lines."""

    def __init__(self, page: PageFields) -> None:
        self.page = page
        self.pairs: list[tuple[Pair, int]] = []

    def add(self, pairs: list[Pair], no: int) -> None:
        self.pairs.extend((p, no) for p in pairs)
        self.page.roles.append((no, "header " + "; ".join(f"{p.label} → {_target(p)}" for p in pairs)))


def _target(p: Pair) -> str:
    name = field_for(p.label)
    return name if name is not None else f"extra[{p.label}]"


def _head_item(lines: list[_Line], i: int, head: _Head) -> int | None:
    """Consume one metadata item at ``i``; the next index, or None when line ``i`` is no metadata."""
    line = lines[i]
    pairs = split_pairs(line.text)
    if pairs is not None:
        head.add(pairs, line.no)
        return i + 1
    label = label_only(line.text)
    if label is not None:
        # one field per line: the label alone, the value on the next line
        nxt = lines[i + 1] if i + 1 < len(lines) else None
        if nxt is not None and split_pairs(nxt.text) is None and label_only(nxt.text) is None:
            head.add([Pair(label, nxt.text, True)], line.no)
            head.page.roles.append((nxt.no, f"value of {label}"))
            return i + 2
        head.add([Pair(label, "", True)], line.no)
        return i + 1
    bare = strip_bullet(line.text)
    if _DOC_NO.match(bare):
        head.add([Pair("文号", bare, True)], line.no)
        return i + 1
    if _date_line(line.text):
        head.add([Pair("发布日期", bare, True)], line.no)
        return i + 1
    if _BREADCRUMB.search(bare) and len(_BREADCRUMB.findall(bare)) >= 2 and not _SENT.search(bare):
        head.add([Pair("当前位置", bare, False)], line.no)
        return i + 1
    return None


def parse_page_text(text: str, *, file: str | None = None) -> PageFields:
    """Split page text into title, header, addressees, body blocks and signature."""
    page = PageFields()
    lines = _lines(text)
    head = _Head(page)
    i = 0
    title_at: int | None = None
    while i < len(lines):
        got = _head_item(lines, i, head)
        if got is not None:
            i = got
            continue
        if title_at is None and _title_like(lines[i].text):
            title_at = i
            i += 1
            continue
        if title_at is not None and lines[i].text == lines[title_at].text:
            page.roles.append((lines[i].no, "title (repeated)"))
            i += 1
            continue
        break
    if title_at is not None:
        page.title, page.title_line = lines[title_at].text, lines[title_at].no
        page.roles.append((page.title_line, "title"))
    rest = list(range(i, len(lines)))
    _trailing_metadata(lines, rest, head)
    _addressees(lines, rest, page)
    _find_signature(lines, rest, page)
    _body(lines, rest, page)
    _apply(head.pairs, page, file)
    page.roles.sort(key=lambda r: r[0])
    return page


def _trailing_metadata(lines: list[_Line], rest: list[int], head: _Head) -> None:
    """Label lines after the body (来源：…, 浏览次数：…, 责任编辑：…) are metadata, not body."""
    while rest:
        pairs = split_pairs(lines[rest[-1]].text)
        if pairs is None or not all(p.known for p in pairs):
            break
        head.add(pairs, lines[rest[-1]].no)
        rest.pop()
    # and right under the addressee or title: 来源/浏览 lines that the head loop met after a title-like gap
    while rest:
        pairs = split_pairs(lines[rest[0]].text)
        if pairs is None or not all(p.known for p in pairs):
            break
        head.add(pairs, lines[rest[0]].no)
        rest.pop(0)


def _addressees(lines: list[_Line], rest: list[int], page: PageFields) -> None:
    """The addressee line: the first of the body, or below a 文号/subtitle/note line, before any prose."""
    for pos, k in enumerate(rest[:4]):
        found = _is_addressee_line(lines[k].text)
        if found is not None:
            page.addressees = found
            page.roles.append((lines[k].no, "addressees"))
            rest.pop(pos)
            return
        if _SENT.search(lines[k].text) or len(lines[k].text) > 60:
            return


def _find_signature(lines: list[_Line], rest: list[int], page: PageFields) -> None:
    """The 落款: at the end (before trailing notes), else the first one in the middle (a 印发 notice)."""
    body = [lines[k] for k in rest]
    end = len(body)
    while end > 0 and _NOTE.match(body[end - 1].text):
        end -= 1
    candidates = [end - 2] + [k for k in range(0, end - 2)]
    for k in candidates:
        if k < 0:
            continue
        sig = _signature_at(body, k)
        if sig is None:
            continue
        if k != end - 2 and k < 1:
            continue  # an office and a date at the very start are a header, not a signature
        page.signature = sig
        page.roles.append((body[k].no, "signature office"))
        page.roles.append((body[k + 1].no, "signature date"))
        del rest[k:k + 2]
        return


def _body(lines: list[_Line], rest: list[int], page: PageFields) -> None:
    """Body blocks: tables in every form, attachments, numbered headings, paragraphs."""
    numbered: list[tuple[Numbered, int | None]] = []
    pos = 0
    body = [lines[k] for k in rest]
    while pos < len(body):
        line = body[pos]
        text = line.text
        if pipe_cells(text) is not None:
            rows: list[list[str]] = []
            start = pos
            while pos < len(body) and pipe_cells(body[pos].text) is not None:
                if not is_separator(body[pos].text):
                    rows.append(pipe_cells(body[pos].text) or [])
                pos += 1
            _add(page, make_table(rows), body[start].no, "table (pipe rows)")
            continue
        if re.fullmatch(r"[^|｜]*[|｜]", text) and pos + 1 < len(body) and re.fullmatch(r"[^|｜]*[|｜]", body[pos + 1].text):
            start = pos
            while pos < len(body) and re.fullmatch(r"[^|｜]*[|｜]", body[pos].text):
                pos += 1
            run = body[start:pos]
            _add(page, cell_per_line([x.text for x in run], [x.blank_before and n > 0 for n, x in enumerate(run)]),
                 body[start].no, "table (one cell per line)")
            continue
        cols = aligned_columns(text)
        if cols is not None and pos + 1 < len(body):
            run_rows = [cols]
            nxt = pos + 1
            while nxt < len(body):
                more = aligned_columns(body[nxt].text)
                if more is None or len(more) != len(cols):
                    break
                run_rows.append(more)
                nxt += 1
            if len(run_rows) >= 2:
                _add(page, make_table(run_rows), line.no, "table (aligned columns)")
                pos = nxt
                continue
        pos += 1
        att = _ATTACH.match(text)
        if att is not None:
            names = [n.strip() for n in re.split(r"\s{2,}|；|;", att.group(1)) if n.strip()]
            page.attachments.extend(Attachment(name=n) for n in names)
            page.roles.append((line.no, "attachments"))
            continue
        num = heading_line(text)
        if num is not None:
            numbered.append((num, line.no))
            _add(page, [Heading(level=num.level, number=num.number, text=num.text.strip())], line.no, "heading")
        else:
            _add(page, [Paragraph(text=text)], line.no, "paragraph")
    page.warnings.extend(check_sequence(numbered))


def _add(page: PageFields, blocks: list[Block], no: int, role: str) -> None:
    for block in blocks:
        page.body.append(block)
        page.body_lines.append(no)
    page.roles.append((no, f"body {role}"))


def _apply(pairs: list[tuple[Pair, int]], page: PageFields, file: str | None) -> None:
    """Header pairs into fields: the first value of a field wins, every other one is kept in ``extra``."""
    seen: dict[str, tuple[str, str]] = {}  # field → (label, value)
    for pair, no in pairs:
        name = field_for(pair.label)
        value = pair.value.strip()
        if name is None:
            label = key(pair.label)
            if label in page.extra and page.extra[label] != value and value:
                page.extra[label] = f"{page.extra[label]}；{value}" if page.extra[label] else value
            else:
                page.extra.setdefault(label, value)
            continue
        if not value:
            if name not in page.header:
                page.warnings.append(f"line {no}: header field {pair.label} is empty")
            continue
        if name in page.header:
            first_label, first_value = seen[name]
            label = key(pair.label)
            if label == first_label:
                label = f"{label}({no})"
            page.extra[label] = value
            if _norm(value) != _norm(first_value):
                page.warnings.append(f"line {no}: {pair.label} {value!r} disagrees with {first_label} "
                                     f"{first_value!r}; the first is kept, both are in extra")
            else:
                page.warnings.append(f"line {no}: header field {pair.label} given again; kept in extra")
            continue
        if name == "source_name":
            page.extra.setdefault(key(pair.label), value)  # kept as printed; also an issuer candidate
        page.header[name] = (value, no)
        seen[name] = (key(pair.label), value)
    _convert(page, file)


def _norm(value: str) -> str:
    return re.sub(r"\s+", "", value)


def _convert(page: PageFields, file: str | None) -> None:
    """Typed values for the header fields.

    An impossible date (2017-02-30) is bad input naming the field and line; a value that is
    no date at all under a date label is kept in ``extra`` with a warning (it is the page's
    text, not our error), so such a page still ingests.
    """
    for name, (raw, lineno) in page.header.items():
        value = raw.strip()
        try:
            if name in ("written_on", "published_at"):
                got = find_datetime(value)
                if got is None:
                    page.extra.setdefault(FIELD_LABELS[name], value)
                    page.warnings.append(f"line {lineno}: {FIELD_LABELS[name]} {value!r} is not a date; "
                                         "kept in extra")
                    continue
                day, clock, (start, end) = got
                leftover = value[:start].strip() + value[end:].strip()
                if leftover:
                    page.warnings.append(f"line {lineno}: text after the date of {FIELD_LABELS[name]} kept in "
                                         f"extra: {leftover!r}")
                    page.extra.setdefault(FIELD_LABELS[name], value)
                if name == "written_on":
                    page.values[name] = day
                else:
                    when = parse_datetime(value) if not leftover else None
                    if when is None:
                        when = datetime.combine(day, clock) if clock else datetime(day.year, day.month, day.day)
                    if not has_time(value):
                        page.warnings.append(f"line {lineno}: 公开日期 has no time of day; 00:00 Beijing time assumed")
                    page.values[name] = when
            elif name == "disclosure":
                folded = key(value)
                match = next((d for d in Disclosure if d.value == folded or d.value.startswith(folded)), None)
                if match is None:
                    raise RecordError(f"unknown 公开形式 {value!r} (主动公开, 依申请公开 or 不予公开)", file=file,
                                      line=lineno, field=name)
                page.values[name] = match
            elif name == "addressees":
                page.values[name] = _split_addressees(value.rstrip(":："))
            else:
                page.values[name] = value
        except DateError as exc:
            raise RecordError(str(exc), file=file, line=lineno, field=name) from None
    header_title = page.values.get("title")
    if isinstance(header_title, str) and header_title:
        if page.title and page.title != header_title:
            page.extra.setdefault("标题行", page.title)
            page.warnings.append(f"line {page.title_line}: the title line differs from the header's 标题/名称; "
                                 "the header's is used, the line is kept in extra[标题行]")
        page.title = header_title
        page.title_line = page.header["title"][1]
    if not page.title:
        page.warnings.append("未识别标题：页面没有标题行，请在编辑页填写标题 (no title found; the author types it)")


def header_date(page: PageFields, name: str) -> date | datetime | None:
    """A typed date header value (for the record builder)."""
    value = page.values.get(name)
    return value if isinstance(value, date | datetime) else None
