"""Government page text: the detail page of a 政府信息公开 portal, copied as text.

Shape (see samples/hanyin-2017-168-wugongkai.txt): a title line, a metadata
header, the addressees (主送), the body with its numbered sections, and a
signature block (office, date) at the end. Portals print the header in several
shapes and name fields differently; all of them are mapped here, in one table
of synonyms, and unknown header fields are kept in ``extra`` instead of being
dropped (they are still the portal's data). Nothing is invented: a field the
page does not print stays empty and is reported as a warning.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime

from hub.errors import RecordError
from hub.ingest.dates import DateError, fold, has_time, parse_date, parse_datetime
from hub.ingest.numbering import Numbered, check_sequence, heading_line
from hub.record import Attachment, Block, Disclosure, Heading, Paragraph, Signature, Table

#: header field names → record field; one table, every synonym (compared after folding)
SYNONYMS: dict[str, str] = {
    "索引号": "index_no", "索 引 号": "index_no", "信息索引号": "index_no",
    "发布机构": "department", "公开主体": "department", "公开责任部门": "department", "发文机关": "department",
    "信息来源": "department", "责任部门": "department",
    "文号": "doc_no", "发文字号": "doc_no", "文件编号": "doc_no", "发文文号": "doc_no",
    "发布日期": "published_at", "公开日期": "published_at", "发文日期": "published_at", "生成日期": "published_at",
    "发布时间": "published_at", "公开时间": "published_at",
    "成文日期": "written_on", "产生日期": "written_on", "签发日期": "written_on", "印发日期": "written_on",
    "主题分类": "catalog", "公开目录": "catalog", "信息分类": "catalog", "组配分类": "catalog",
    "目录分类": "catalog", "所属栏目": "catalog",
    "公开形式": "disclosure", "公开属性": "disclosure", "公开方式": "disclosure",
    "有效性": "validity", "时效": "validity", "时效性": "validity", "效力状态": "validity",
    "标题": "title", "名称": "title", "文件名称": "title",
    "主送": "addressees", "主送机关": "addressees",
}
#: the fields a portal page is expected to print; missing ones are warnings
EXPECTED = ("index_no", "catalog", "department", "disclosure", "doc_no", "written_on", "published_at", "validity")
FIELD_LABELS = {"index_no": "索引号", "catalog": "公开目录", "department": "公开责任部门", "disclosure": "公开形式",
                "doc_no": "文号", "written_on": "成文日期", "published_at": "公开日期", "validity": "有效性"}

_KEY_CHARS = r"[^\s:：|｜,，。;；、()（）《》“”\"'0-9]"
_KV = re.compile(rf"^\s*({_KEY_CHARS}{{2,10}})\s*[:：]\s*(\S.*?)\s*$")
_ORG_END = re.compile(
    r"(政府|机构|部门|单位|委员会|党委|党组|局|办|办公室|所|站|中心|院|校|村|社区|镇|乡|街道|公司|厅|处|科|室|队|委|会|组|"
    r"部|署|行|馆|团|支部|群众|居民|村民|企业|个人|同志们?)$"
)
_SENT = re.compile(r"[。；;！？!?]")
_NOTE = re.compile(r"^[（(][^（）()]{1,40}[）)]$")
_ATTACH = re.compile(r"^附\s*件\s*\d*\s*[:：]\s*(\S.*)$")


def _key(label: str) -> str:
    return re.sub(r"\s+", "", fold(label)).rstrip(":：")


_FOLDED_SYNONYMS = {_key(k): v for k, v in SYNONYMS.items()}


def field_for(label: str) -> str | None:
    """The record field a header label names, or None for an unknown label."""
    return _FOLDED_SYNONYMS.get(_key(label))


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


def _pipe_pairs(line: str) -> list[tuple[str, str]] | None:
    """``索引号 | x | 公开目录: | y |`` → [(索引号, x), (公开目录, y)]; None if not such a row."""
    if "|" not in line and "｜" not in line:
        return None
    cells = [c.strip() for c in re.split(r"[|｜]", line)]
    while cells and not cells[-1]:
        cells.pop()
    while cells and not cells[0]:
        cells.pop(0)
    if len(cells) < 2:
        return None
    pairs: list[tuple[str, str]] = []
    i = 0
    while i < len(cells):
        key = cells[i]
        value = cells[i + 1] if i + 1 < len(cells) else ""
        if not _looks_like_key(key):
            return None
        pairs.append((key.rstrip(":：").strip(), value))
        i += 2
    # a header row names at least one known field (or marks its labels with a colon);
    # otherwise it is the first row of a table in the body (序号 | 姓名 | …)
    if not any(field_for(k) is not None or cells[2 * n].endswith((":", "：")) for n, (k, _) in enumerate(pairs)):
        return None
    return pairs


def _looks_like_key(text: str) -> bool:
    k = _key(text)
    if field_for(text) is not None:
        return True
    return 2 <= len(k) <= 10 and re.fullmatch(rf"{_KEY_CHARS}+", k) is not None


def _header_pairs(lines: list[str], i: int) -> tuple[list[tuple[str, str, int]], int] | None:
    """The header pairs on line ``i`` (and maybe ``i + 1``) and the index after them, or None."""
    line = lines[i].strip()
    pairs = _pipe_pairs(line)
    if pairs is not None:
        return [(k, v, i + 1) for k, v in pairs], i + 1
    split = re.split(r"[:：]", line, maxsplit=1)
    if len(split) == 2 and split[1].strip() and field_for(split[0]) is not None:
        return [(split[0].strip(), split[1].strip(), i + 1)], i + 1
    m = _KV.match(line)
    if m is not None and (field_for(m.group(1)) is not None or _looks_like_key(m.group(1))):
        if field_for(m.group(1)) is not None or not _SENT.search(m.group(2)):
            return [(m.group(1), m.group(2), i + 1)], i + 1
    if field_for(line) is not None:
        # one field per line: the label alone, the value on the next non-empty line
        j = i + 1
        while j < len(lines) and not lines[j].strip():
            j += 1
        if j < len(lines) and field_for(lines[j].strip()) is None and not _pipe_pairs(lines[j]):
            return [(line, lines[j].strip(), j + 1)], j + 1
        return [(line, "", i + 1)], i + 1
    # "索引号 xzfgzbmzfb/2017-0168": a known label, whitespace, the value
    parts = line.split(None, 1)
    if len(parts) == 2 and field_for(parts[0]) is not None:
        return [(parts[0], parts[1].strip(), i + 1)], i + 1
    return None


_SEPARATOR = re.compile(r"^[|｜]?\s*:?-{3,}:?\s*([|｜]\s*:?-{3,}:?\s*)*[|｜]?$")


def _table_cells(line: str) -> list[str] | None:
    """The cells of a pipe-table row in the body (``| 1 | 张某某 | … |``), or None."""
    if line.count("|") + line.count("｜") < 2:
        return None
    cells = [c.strip() for c in re.split(r"[|｜]", line)]
    if cells and not cells[0]:
        cells.pop(0)
    if cells and not cells[-1]:
        cells.pop()
    return cells if len(cells) >= 2 else None


def _is_addressee_line(line: str) -> list[str] | None:
    """``各镇人民政府,县政府各工作部门、直属机构:`` → the addressees; None if the line is prose."""
    text = line.strip()
    m = re.match(r"^主\s*送\s*[:：]\s*(.+?)[。.]?$", text)
    if m is not None:
        return _split_addressees(m.group(1))
    if not text.endswith((":", "：")) or len(text) > 120 or _SENT.search(text):
        return None
    parts = _split_addressees(text[:-1])
    if parts and all(len(p) <= 40 and _ORG_END.search(_strip_group(p)) for p in parts):
        return parts
    return None


def _strip_group(part: str) -> str:
    return part.rstrip("等")


def _split_addressees(text: str) -> list[str]:
    """Split at ``,``/``，``/``;`` only: ``、`` joins the offices of one group and stays inside."""
    return [p.strip() for p in re.split(r"[,，;；]", text) if p.strip()]


def _signature(lines: list[str], indices: list[int]) -> tuple[Signature, int] | None:
    """The signature at the end: an office line followed by a date line. Returns it and the lines used."""
    if len(indices) < 2:
        return None
    last, before = lines[indices[-1]].strip(), lines[indices[-2]].strip()
    try:
        when = parse_date(last)
    except DateError:
        when = None
    if when is None:
        return None
    if len(before) > 40 or _SENT.search(before) or "，" in before or heading_line(before) is not None:
        return None
    return Signature(office=before, date=when), 2


def parse_page_text(text: str, *, file: str | None = None) -> PageFields:
    """Split page text into title, header, addressees, body blocks and signature."""
    lines = text.split("\n")
    page = PageFields()
    n = len(lines)
    i = 0
    while i < n and not lines[i].strip():
        i += 1
    pairs: list[tuple[str, str, int]] = []
    # a header may come before the title on some portals
    while i < n:
        got = _header_pairs(lines, i) if lines[i].strip() else ([], i + 1)
        if got is None:
            break
        pairs.extend(got[0])
        i = got[1]
    if i < n:
        page.title, page.title_line = lines[i].strip(), i + 1
        i += 1
    while i < n:
        if not lines[i].strip():
            i += 1
            continue
        got = _header_pairs(lines, i)
        if got is None:
            break
        pairs.extend(got[0])
        i = got[1]
    for label, value, lineno in pairs:
        name = field_for(label)
        if name is None:
            page.extra[_key(label)] = value
        elif name in page.header:
            page.warnings.append(f"line {lineno}: header field {label} given twice; the first value is kept")
        else:
            page.header[name] = (value, lineno)
    rest = [k for k in range(i, n) if lines[k].strip()]
    if rest:
        addressees = _is_addressee_line(lines[rest[0]])
        if addressees is not None:
            page.addressees = addressees
            rest = rest[1:]
    tail: list[int] = []
    while rest and _NOTE.match(lines[rest[-1]].strip()):
        tail.insert(0, rest.pop())
    sig = _signature(lines, rest)
    if sig is not None:
        page.signature = sig[0]
        rest = rest[: -sig[1]]
    rest += tail
    numbered: list[tuple[Numbered, int | None]] = []
    table: list[list[str]] = []
    for pos, k in enumerate(rest):
        line = lines[k].strip()
        cells = _table_cells(line)
        if cells is not None:
            if not table:
                page.body_lines.append(k + 1)
            if not _SEPARATOR.match(line):
                table.append(cells)
            nxt = _table_cells(lines[rest[pos + 1]].strip()) if pos + 1 < len(rest) else None
            if nxt is None:
                page.body.append(Table(header=table[0], rows=table[1:]) if table else Paragraph(text=line))
                table = []
            continue
        att = _ATTACH.match(line)
        if att is not None:
            page.attachments.extend(Attachment(name=name.strip()) for name in re.split(r"\s{2,}|；|;", att.group(1))
                                    if name.strip())
            continue
        num = heading_line(line)
        if num is not None:
            numbered.append((num, k + 1))
            page.body.append(Heading(level=num.level, number=num.number, text=num.text.strip()))
        else:
            page.body.append(Paragraph(text=line))
        page.body_lines.append(k + 1)
    page.warnings.extend(check_sequence(numbered))
    _convert(page, file)
    return page


def _convert(page: PageFields, file: str | None) -> None:
    """Typed values for the header fields; bad dates are errors naming the field and line."""
    for name, (raw, lineno) in page.header.items():
        value = raw.strip()
        if not value:
            continue
        try:
            if name == "written_on":
                day = parse_date(value)
                if day is None:
                    raise RecordError(f"not a date: {value!r}", file=file, line=lineno, field=name)
                page.values[name] = day
            elif name == "published_at":
                when = parse_datetime(value)
                if when is None:
                    raise RecordError(f"not a date: {value!r}", file=file, line=lineno, field=name)
                if not has_time(value):
                    page.warnings.append(f"line {lineno}: 公开日期 has no time of day; 00:00 Beijing time assumed")
                page.values[name] = when
            elif name == "disclosure":
                folded = _key(value)
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
    if "title" in page.values and not page.title:
        page.title = str(page.values["title"])


def header_date(page: PageFields, name: str) -> date | datetime | None:
    """A typed date header value (for the record builder)."""
    value = page.values.get(name)
    return value if isinstance(value, date | datetime) else None
