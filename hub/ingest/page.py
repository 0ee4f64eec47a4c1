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
from hub.ingest.issuer import PLACE_LED, is_office, title_organ
from hub.ingest.labels import (
    FIELD_LABELS,
    FIELDS,
    SYNONYMS,
    Pair,
    field_for,
    key,
    label_only,
    split_pairs,
    strip_bullet,
)
from hub.ingest.numbering import Numbered, check_sequence, heading_line, split_number
from hub.ingest.tables import aligned_columns, cell_per_line, is_separator, make_table, pipe_cells
from hub.ingest.textio import refuse_nul
from hub.record import Attachment, Block, Disclosure, Heading, Paragraph, Signature

__all__ = ["EXPECTED", "FIELD_LABELS", "SYNONYMS", "PageFields", "field_for", "parse_page_text"]

#: the fields a portal page is expected to print; missing ones are warnings
EXPECTED = ("index_no", "catalog", "department", "disclosure", "doc_no", "written_on", "published_at", "validity")

_ORG_END = re.compile(
    r"(政府|机构|部门|单位|委员会|党委|党组|局|办|办公室|所|站|中心|院|校|村|社区|镇|乡|街道|公司|厅|处|科|室|队|委|会|组|"
    r"部|署|行|馆|团|支部|群众|居民|村民|企业|个人|同志们?|学校|指挥部|各有关方面|有关单位|各位|区|县|市|州|旗|盟|省|团体|朋友们?|市民|公民|群众|家长|同胞|司|兵团)$"
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
_TAIL_SIGNATURE = re.compile(r"([\u4e00-\u9fff]{2,30}?(?:办公室|办公厅|委员会|人民政府|领导小组|指挥部|局|厅|部|院|政府))\s*"
                             r"(\d{4}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日)[。.]?$")
_INLINE_SIGNATURE = re.compile(r"^([\u4e00-\u9fff、]{2,40}?)\s*(\d{4}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日)")


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
    #: office names standing alone in the head (a legal database's issuing-body line)
    head_offices: list[str] = field(default_factory=list)
    #: a date the body gives for the document (date-only signature, adoption note) when no 落款 has one
    body_date: date | None = None


@dataclass(frozen=True, slots=True)
class _Line:
    no: int  # 1-based source line
    text: str  # stripped
    blank_before: bool = False


def _lines(text: str) -> list[_Line]:
    """Non-empty lines with their source numbers; over-long lines cut at sentence ends (same number)."""
    out: list[_Line] = []
    blank = False
    raw_lines = text.split("\n")
    total = sum(len(x.strip()) for x in raw_lines) or 1
    for n, raw in enumerate(raw_lines, start=1):
        line = raw.strip()
        if not line:
            blank = True
            continue
        cells = [c.strip() for c in re.split(r"[|｜]", line) if c.strip()] if ("|" in line or "｜" in line) else None
        if cells is not None and len(cells) == 1 and not re.fullmatch(r"[^|｜]*[|｜]", line):
            line = cells[0]  # "|   | 涉农资金…标准目录 | ||||" : a table's title row, as text
        # a document copied as one line: a very long line, or one holding most of the text
        if (len(line) > 5 * _LONG_LINE or (len(line) > _TITLE_MAX + 30 and len(line) * 2 > total)) \
                and len(_SENT.findall(line)) >= 1:
            pieces = _paragraphs_of(line)
            out.extend(_Line(n, p, blank and k == 0) for k, p in enumerate(pieces))
        else:
            out.append(_Line(n, line, blank))
        blank = False
    return out


def _paragraphs_of(line: str) -> list[str]:
    """A document copied as one line: paragraphs start at heading numbers, else every ~200 characters."""
    sentences = [s for s in _CUT.split(line) if s]
    if sentences:
        first = sentences[0]
        lead = re.match(r"^([^。：:]{2,150}[：:])\s*(?=\S)", first)
        glued = re.match(r"^(.{6,80}?(?:通知|通告|公告|公示|意见|办法|决定|方案|报告|规定|说明))(?=根据|为了|为|按照|依据|经|现将|近日|近期)",
                         first)
        if lead is not None and _is_addressee_line(lead.group(1)) is not None:
            sentences[0:1] = [lead.group(1), first[lead.end():]]  # "各功能区管委会,…: 《永嘉…》": addressees first
        elif glued is not None and "。" not in glued.group(1):
            sentences[0:1] = [glued.group(1), first[glued.end():]]  # "…初审情况的公示根据《…》": the title, then the text
    # a signature inside the line: "…贯彻落实。安顺市人民政府2023年9月5日（此件公开发布）安顺市…办法…"
    hard: set[int] = set()
    split: list[str] = []
    for sentence in sentences:
        m = _INLINE_SIGNATURE.match(sentence.strip())
        if m is not None and _office_line(m.group(1)):
            for piece in (m.group(1), m.group(2), sentence.strip()[m.end():]):
                if piece.strip():
                    hard.add(len(split))
                    split.append(piece)
        else:
            split.append(sentence)
    sentences = split
    if sentences:
        # "…项目.doc省功勋荣誉表彰工作领导小组办公室2025年4月14日。": the signature ends the line
        tail = _TAIL_SIGNATURE.search(sentences[-1])
        if tail is not None and tail.start() > 0 and _office_line(tail.group(1)):
            last = sentences.pop()
            for piece in (last[:tail.start()], tail.group(1), tail.group(2)):
                hard.add(len(sentences))
                sentences.append(piece)
    out: list[str] = []
    for n, s in enumerate(sentences):
        if n in hard:
            out.append(s)
            continue
        starts_section = split_number(s.strip()) is not None or re.match(r"^第[一二三四五六七八九十百零〇\d]+[条章]", s)
        if out and not starts_section and len(out[-1]) < 200 and _SENT.search(out[-1][-1:] or "。") \
                and (n - 1) not in hard:
            out[-1] += s
        else:
            out.append(s)
    return [p.strip() for p in out if p.strip()]


def _is_addressee_line(line: str) -> list[str] | None:
    """``各镇人民政府,县政府各工作部门、直属机构:`` → the addressees; None if the line is prose."""
    text = strip_bullet(line)
    m = re.match(r"^主\s*送\s*[:：]\s*(.+?)[。.]?$", text)
    if m is not None:
        return _split_addressees(m.group(1))
    if not text.endswith((":", "：")) or len(text) > 300 or _SENT.search(text) or split_pairs(text) is not None:
        return None
    parts = _split_addressees(text[:-1])
    if parts and all(len(p) <= 60 and _ORG_END.search(re.sub(r"[（(][^（）()]*[）)]$", "", p).rstrip("等"))
                     for p in parts):
        return parts
    return None


def addressees_of(line: str) -> list[str] | None:
    """The addressees a line names (``各镇人民政府，县政府各工作部门：``), or None when it is no addressee line."""
    return _is_addressee_line(line)


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
            and (_ORG_END.search(t) is not None or PLACE_LED.match(t) is not None) and split_pairs(t) is None)


#: a signature date whose 年/月/日 glyphs the site lost (``{ 2017 6 23``): only year, month and day are left
_GLYPHLESS_DATE = re.compile(r"^[^\w\u4e00-\u9fff]{0,3}((?:19|20)\d{2})\s+(\d{1,2})\s+(\d{1,2})[^\w\u4e00-\u9fff]{0,3}$")
#: the publication note printed between the signature office and its date: ``（此件公开发布）``
_PUBLIC_NOTE = re.compile(r"^[（(]此件[^（）()]{0,20}[）)]$")


def _signature_date(text: str) -> date | None:
    """The date of a signature's date line; also one whose 年月日 glyphs were lost (read only under an office)."""
    try:
        when = parse_date(text)
    except DateError:
        return None
    if when is None and (m := _GLYPHLESS_DATE.match(text.strip())):
        try:
            return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        except ValueError:
            return None
    return when


def _signature_at(lines: list[_Line], k: int) -> tuple[Signature, int, int | None] | None:
    """A date line at ``k`` under one or more office lines (the 落款).

    Returns the signature, its first line and the line of a ``（此件公开发布）`` note standing
    between office and date (kept in the body by the caller), or None.
    """
    when = _signature_date(lines[k].text)
    if when is None:
        return None
    top = k
    note = None
    if top > 1 and _PUBLIC_NOTE.match(lines[top - 1].text.strip()):
        top = note = top - 1
    first = top
    while first > 0 and top - first < 3 and _office_line(lines[first - 1].text):
        first -= 1
    if first == top:
        return None
    names: list[str] = []
    for j in range(first, top):
        name = _offices_on_line(lines[j].text)
        if names and _ORG_END.search(names[-1]) is None:
            names[-1] += name  # "彭水自治县新冠肺炎疫情防控 / 工作领导小组办公室": one name wrapped
        else:
            names.append(name)
    if first > 0 and _wrapped_office_head(lines[first - 1].text):
        # "彭水自治县新冠肺炎疫情防控 / 工作领导小组办公室": one name wrapped over two lines
        names[0] = lines[first - 1].text + names[0]
        first -= 1
    return Signature(office="、".join(names), date=when), first, note


def _offices_on_line(text: str) -> str:
    """``芜湖市司法局 芜湖市民政局`` → ``芜湖市司法局、芜湖市民政局`` (joint signatures printed on one line)."""
    parts = text.split()
    if len(parts) > 1 and all(_ORG_END.search(p) for p in parts):
        return "、".join(parts)
    return "".join(parts)


def _wrapped_office_head(text: str) -> bool:
    t = text.strip()
    return (4 <= len(t) <= 20 and not _SENT.search(t) and not re.search(r"[，,：:、]", t)
            and _ORG_END.search(t) is None and re.fullmatch(r"[\u4e00-\u9fff]+", t) is not None
            and re.match(r".{1,8}[省市县区州旗]", t) is not None)


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
    pairs = split_pairs(line.text)
    if pairs is not None:
        if len(pairs) == 1 and not pairs[0].value and i + 1 < len(lines):
            # "• 索引号:" with the value on the next line (bullet headers); never a label, nor the title
            below = lines[i + 1].text
            if (split_pairs(below) is None and label_only(below) is None and not _body_start(below)
                    and not (_title_like(below) and _title_score(below, [below]) > 0)):
                head.add([Pair(pairs[0].label, below, pairs[0].known)], line.no)
                head.page.roles.append((lines[i + 1].no, f"value of {pairs[0].label}"))
                return i + 2
        head.add(pairs, line.no)
        return i + 1
    dated = _dated_meta_line(line.text)
    if dated is not None:
        head.add(dated, line.no)
        return i + 1
    bare = strip_bullet(line.text).strip("\"'“”‘’")
    inner = re.sub(r"^[（(](.*)[）)]$", r"\1", bare).strip()
    if _DOC_NO.match(inner) or _ORDER_NO.match(_CJK_GAP.sub("", inner)) or _BROKEN_DOC_NO.match(inner):
        head.add([Pair("文号", inner, True, inferred=True)], line.no)
        return i + 1
    if _DOC_NO.match(bare):
        head.add([Pair("文号", bare, True, inferred=True)], line.no)
        return i + 1
    if _date_line(line.text):
        head.add([Pair("发布日期", bare, True, inferred=True)], line.no)
        return i + 1
    if _BREADCRUMB.search(bare) and len(_BREADCRUMB.findall(bare)) >= 2 and not _SENT.search(bare):
        head.add([Pair("当前位置", bare, False)], line.no)
        return i + 1
    return None


#: the words a document title ends with (its 文种): a line ending so is a title, not a site name
_DOC_TYPES = re.compile(
    r"(通知|通报|意见|办法|规定|规则|细则|决定|决议|公告|通告|公示|报告|方案|条例|法|令|批复|函|复函|纲要|规划|计划|"
    r"总结|纪要|说明|解读|清单|目录|名单|指南|指引|标准|制度|章程|守则|要点|公报|答复|请示|议案|命令|预算|决算|"
    r"情况|安排|措施|机制|通讯|简报|提案|建议)(?:[（(][^（）()]{1,12}[）)])?$")
#: site chrome: portal names, navigation, domains
_CHROME = re.compile(r"(网站|门户|资料网|政府网|首页|返回|收藏|设为|站点|热门|下载|打印|关闭|分享|[A-Za-z]{2,}\.[A-Za-z]{2,}|"
                     r"GOV|ICP|公网安备|标识码|主办单位|承办单位|技术支持|版权|视力保护|语音阅读)", re.IGNORECASE)
_LEAD_DOC_NO = re.compile(r"^[\u4e00-\u9fffA-Za-z]{1,20}\s*[〔\[［（(【]\s*\d{4}\s*[〕\]］）)】]\s*第?\s*\d{1,5}\s*号\s*(?=《)")
_TAIL_DOC_NO = re.compile(r"\s*[（(]([^（）()]{1,20}[〔\[［]\s*\d{4}\s*[〕\]］]\s*\d{1,5}\s*号)[）)]$")
_ORDER_NO = re.compile(r"^[\u4e00-\u9fff]{2,20}令\s*[（(][^（）()]{1,20}号[）)]$|^[\u4e00-\u9fff]{2,20}令\s*第\s*\d{1,5}\s*号$"
                       r"|^[\u4e00-\u9fff]{2,20}第\s*\d{1,5}\s*号$")
#: a line that opens like a 文号 (机关代字 + 〔year) but lost its closing characters: kept as printed
_BROKEN_DOC_NO = re.compile(r"^[\u4e00-\u9fff]{1,12}[发字函文办][〔\[［【]\s*\d{4}[\d〕\]］】\s号]{0,8}$")
_ORDER_NO_PAREN = re.compile(r"^[^（）()]{1,30}第\s*\d{1,5}\s*号$")
_CJK_GAP = re.compile(r"(?<=[\u4e00-\u9fff])\s+(?=[\u4e00-\u9fff])")


def _body_start(text: str) -> bool:
    """Where the body begins: prose, an addressee line, a numbered heading or article, an adoption note."""
    t = text.strip()
    if _CHROME.search(t) and "。" not in t:
        return False  # 欢迎来到EHS平台! 设为首页 收藏: site chrome, not prose
    if _SENT.search(t) and split_pairs(t) is None and re.search(r"[\u4e00-\u9fff]", t):
        return True
    if len(t) > 40 and len(re.findall(r"[，,]", t)) >= 1 and t.endswith((":", "：")) and split_pairs(t) is None:
        return True  # "…现将有关问题通知如下:": prose that announces what follows
    if _is_addressee_line(t) is not None or split_number(t) is not None:
        return True
    if re.match(r"^第[一二三四五六七八九十百零〇\d]+[条章节编]", t) or (_NOTE.match(t) and find_datetime_safe(t)):
        return True
    return len(t) > _TITLE_MAX and split_pairs(t) is None


def _past_abstract(lines: list[_Line], end: int) -> int:
    """A page may print an abstract (简介: …。) before the document's own head; that head is known by
    its 文号 line standing alone a few lines further down. Then the head goes on to the body after it."""
    for j in range(end + 1, min(end + 8, len(lines))):
        if _is_addressee_line(lines[j].text) is not None:
            # a short headline above the document (a forum's or a news site's): the head goes on
            return j if len(lines[end].text) < 40 and not any(_body_start(lines[k].text) for k in range(end + 1, j)) \
                else end
        if _DOC_NO.match(strip_bullet(lines[j].text)):
            k = j + 1
            while k < len(lines) and not _body_start(lines[k].text):
                k += 1
            return k
    return end


def _dated_meta_line(text: str) -> list[Pair] | None:
    """``内乡政府门户网站  www…  2018-04-19 17:32:17  来源：内乡县政府``: a date-time, then labels."""
    if _SENT.search(text.replace("!", "")) and not _CHROME.search(text):
        return None
    for m in re.finditer(r"(?:来源|发布机构|作者|浏览|点击)[ \t\u3000]*[:：]", text):
        prefix = text[:m.start()]
        try:
            got = find_datetime(prefix)
        except DateError:
            return None
        rest = split_pairs(text[m.start():])
        if got is None or got[1] is None or rest is None:
            return None
        day, clock, (start, end) = got
        stamp = prefix[start:end] if prefix[start:end].strip() else prefix
        return [Pair("当前页面", prefix.strip(), False), Pair("发布日期", stamp.strip(), True, inferred=True), *rest]
    return None


def _table_start(lines: list[_Line], k: int) -> bool:
    """Two rows of a table of the body (pipe rows that are no header, cells one per line with a
    closing bar, or space-aligned columns): the body starts there, even before any prose.

    One pipe line alone at the top is site navigation (热门站点| 世界资料网 | …), not a table.
    """
    if k + 1 >= len(lines):
        return False
    a, b = lines[k].text, lines[k + 1].text
    if any(_CHROME.search(x) for x in (a, b)):
        return False
    if all(pipe_cells(x) is not None and split_pairs(x) is None for x in (a, b)):
        return True
    if all(re.fullmatch(r"[^|｜]+[|｜]", x) for x in (a, b)):
        return True
    ca, cb = aligned_columns(a), aligned_columns(b)
    return ca is not None and cb is not None and len(ca) == len(cb) and split_pairs(a) is None


def find_datetime_safe(text: str) -> bool:
    try:
        return find_datetime(text) is not None
    except DateError:
        return False


def _clean_title(text: str) -> tuple[str, str | None]:
    """A title line as a title: spaces between Chinese characters removed, a 文号 before 《》 or in
    trailing brackets split off (returned second)."""
    t = _CJK_GAP.sub("", text.strip())
    doc_no = None
    lead = _LEAD_DOC_NO.match(t)
    if lead is not None:
        doc_no = lead.group(0).strip()
        t = t[lead.end():]
        if t.startswith("《") and t.endswith("》"):
            t = t[1:-1]
    tail = _TAIL_DOC_NO.search(t)
    if tail is not None:
        doc_no = tail.group(1).strip()
        t = t[:tail.start()]
    return t.strip(), doc_no


def _near(a: str, b: str) -> bool:
    """Two printings of one title that differ by a character or two (a portal's edit of the document's)."""
    from difflib import SequenceMatcher

    return min(len(a), len(b)) >= 8 and SequenceMatcher(None, a, b, autojunk=False).ratio() >= 0.9


def _title_score(text: str, head: list[str]) -> int:
    """How much a head line reads like the document's title (0 or less: not a title)."""
    title, _ = _clean_title(text)
    score = 0
    if _DOC_TYPES.search(title):
        score += 3
    if "关于" in title:
        score += 2
        if title_organ(title):
            score += 1  # the full form names its issuer (重庆市粮食局 重庆市财政局关于…)
    if sum(1 for h in head if _clean_title(h)[0] == title) >= 2:
        score += 2  # pages print the title twice (page head and document head)
    if len(title) >= 8:
        score += 1
    if _CHROME.search(text):
        score -= 5
    if is_office(title) or re.search(r"(人民政府|政府|委员会|常委会)$", title):
        score -= 3  # a site owner's or an office's name alone
    return score


def parse_page_text(text: str, *, file: str | None = None) -> PageFields:
    """Split page text into title, header, addressees, body blocks and signature."""
    refuse_nul(text, file=file)
    page = PageFields()
    lines = _lines(text)
    head = _Head(page)
    # the head: everything before the body starts (metadata, chrome, title, issuing-body lines)
    end = 0
    while end < len(lines) and not _body_start(lines[end].text) and not _table_start(lines, end):
        end += 1
    end = _past_abstract(lines, end)
    i = 0
    candidates: list[int] = []
    offices: list[int] = []
    others: list[int] = []
    while i < end:
        got = _head_item(lines, i, head)
        if got is not None:
            i = min(got, max(end, got)) if got <= end else got
            end = max(end, i)
            continue
        t = lines[i].text
        if _ORDER_NO.match(_CJK_GAP.sub("", t)):
            head.add([Pair("文号", t, True)], lines[i].no)
        elif _title_like(t):
            candidates.append(i)
        elif is_office(t):
            offices.append(i)
        else:
            others.append(i)
        i += 1
    plain = set(candidates) | set(offices)
    spans = [(k, k + 1) for k in candidates]
    for k in sorted(plain):
        # a title wrapped over two or three lines (…关于加强普通高等学校 / 毕业生就业工作的通知)
        for n in (2, 3):
            if not all(k + d in plain for d in range(n)):
                continue
            pieces = [lines[k + d].text for d in range(n)]
            if (not _DOC_TYPES.search(_CJK_GAP.sub("", pieces[0]))
                    and (not is_office(pieces[0]) or pieces[1].startswith("关于")) and not any(_CHROME.search(x) for x in pieces)
                    and _DOC_TYPES.search(_CJK_GAP.sub("", "".join(pieces)))):
                spans.append((k, k + n))

    def joined(span: tuple[int, int]) -> str:
        return "".join(lines[j].text for j in range(*span))

    texts = [joined(sp) for sp in spans]
    # ties: the fewest lines, then the last (the document's own head comes after the page's)
    best = max(spans, key=lambda sp: (_title_score(joined(sp), texts), sp[0] - sp[1], sp[0]), default=None)
    used: set[int] = set()
    if best is not None and _title_score(joined(best), texts) > 0:
        title, doc_no = _clean_title(joined(best))
        page.title, page.title_line = title, lines[best[0]].no
        for j in range(*best):
            page.roles.append((lines[j].no, "title"))
            used.add(j)
        if doc_no:
            head.add([Pair("文号", doc_no, True, inferred=True)], lines[best[0]].no)
        for sp in spans:
            if not used & set(range(*sp)) and _clean_title(joined(sp))[0] == title:
                for j in range(*sp):
                    page.roles.append((lines[j].no, "title (repeated)"))
                    used.add(j)
        for sp in spans:
            other = _clean_title(joined(sp))[0]
            if not used & set(range(*sp)) and other != title and _near(other, title):
                # 云县2023年“三公”… (the portal's line) above 云县2023“三公”… (the document's own head)
                page.warnings.append(f"标题两处不同：页面为“{other}”，文件为“{title}”；取文件的标题，请核对")
    offices = [k for k in offices if k not in used]
    others.extend(k for k in candidates if k not in used and k not in offices)
    offices.extend(k for k in candidates if k not in used and k not in offices and is_office(lines[k].text))
    others = [k for k in others if k not in offices]
    for k in sorted(offices):
        if page.title and is_office(lines[k].text):
            page.head_offices.append(lines[k].text)
            page.roles.append((lines[k].no, "issuing office line"))
        else:
            others.append(k)
    chrome = [lines[k].text for k in sorted(others)]
    if chrome:
        page.extra["页面其他文字"] = "\n".join(chrome)
        for k in sorted(others):
            page.roles.append((lines[k].no, "extra[页面其他文字] (page chrome)"))
    rest = list(range(max(i, end), len(lines)))
    _trailing_metadata(lines, rest, head)
    _lead_note(lines, rest, head, page)
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


_LEAD_NOTE = re.compile(r"^[（(]([^（）()]{4,60})[）)]")
_DOC_NO_IN = re.compile(r"[\u4e00-\u9fff]{1,12}\s*[〔\[［【]\s*\d{4}\s*[〕\]］】]\s*第?\s*\d{1,5}\s*号")


def _lead_note(lines: list[_Line], rest: list[int], head: _Head, page: PageFields) -> None:
    """The 题注 opening the body: ``(1985年5月4日皖政〔1985〕38号)`` gives the document's date and 文号.
    The note stays in the body (it is the document's text); its values are read, not moved."""
    if not rest:
        return
    m = _LEAD_NOTE.match(lines[rest[0]].text)
    if m is None:
        return
    note = re.sub(r"^.*?\d{1,2}\s*日", "", m.group(1), count=1)  # the date first, then the 文号
    doc = _DOC_NO_IN.search(note)
    if doc is not None:
        head.add([Pair("文号", doc.group(0), True, inferred=True)], lines[rest[0]].no)
    try:
        got = find_datetime(m.group(1))
    except DateError:
        got = None
    if got is not None and page.body_date is None:
        page.body_date = got[0]


def _addressees(lines: list[_Line], rest: list[int], page: PageFields) -> None:
    """The addressee line: the first of the body, or below a 文号/subtitle/note line, before any prose."""
    window = rest[:6]
    for pos, k in enumerate(window):
        found = _is_addressee_line(lines[k].text)
        if found is not None:
            page.addressees = found
            page.roles.append((lines[k].no, "addressees"))
            rest.pop(pos)
            return
        prose = _SENT.search(lines[k].text) or len(lines[k].text) > 60
        nxt = window[pos + 1] if pos + 1 < len(window) else None
        if prose and (nxt is None or _SENT.search(lines[nxt].text) or len(lines[nxt].text) > 60):
            return  # two lines of prose: the body has begun (one may be a page's abstract above the document)


def _find_signature(lines: list[_Line], rest: list[int], page: PageFields) -> None:
    """The 落款: at the end (before trailing notes), else the first one in the middle (a 印发 notice).

    Without one, a date the body gives for the document is remembered (``body_date``): a date
    standing alone under the first prose (a signature without office), or the adoption note of
    a law (``（2003年7月18日…通过）``). Those lines stay in the body.
    """
    body = [lines[k] for k in rest]
    end = len(body)
    while end > 0 and _NOTE.match(body[end - 1].text):
        end -= 1
    for k in [end - 1, *range(1, end - 1)]:
        if k < 1:
            continue
        got = _signature_at(body, k)
        if got is None:
            continue
        sig, first, note = got
        page.signature = sig
        for j in range(first, k):
            if j != note:
                page.roles.append((body[j].no, "signature office"))
        page.roles.append((body[k].no, "signature date"))
        kept = [rest[note]] if note is not None else []  # （此件公开发布） stays in the body: nothing dropped
        rest[first:k + 1] = kept
        return
    seen_prose = False
    for line in body:
        t = line.text
        if seen_prose:
            try:
                got_date = find_datetime(t)
            except DateError:
                got_date = None
            after = t[got_date[2][1]:].strip() if got_date is not None else ""
            if (got_date is not None and got_date[2][0] == 0 and re.match(r"^\s*\d{4}\s*年|^[〇○零OoΟ一二三四五六七八九]{4}年", t)
                    and len(after) <= 40 and not re.search(r"[，,。；]", after)):
                page.body_date = got_date[0]
                return
        if _NOTE.match(t) and re.search(r"(通过|公布|发布|施行|批准)[）)]$", t):
            try:
                got_date = find_datetime(t)
            except DateError:
                got_date = None
            if got_date is not None:
                page.body_date = got_date[0]
                return
        if _SENT.search(t):
            seen_prose = True


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
    pairs = sorted(pairs, key=lambda item: _rank(item[0]))
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


def _rank(pair: Pair) -> int:
    if pair.inferred:
        return 1000
    """The most specific label of a field wins (发布日期 over 发文日期, 发布机构 over 来源单位):
    its place in the vocabulary; pairs of other labels keep their page order (a stable sort)."""
    name = field_for(pair.label)
    if name is None:
        return 0
    names = [key(x) for x in FIELDS[name]]
    return names.index(key(pair.label)) if key(pair.label) in names else len(names)


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
