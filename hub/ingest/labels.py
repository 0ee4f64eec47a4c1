"""The vocabulary of metadata labels government pages print, and splitting a line on them.

Why a vocabulary and not "anything before a colon": real headers put several
pairs on one line, separate label and value by spaces only (``索引号 … 发布机构
某某乡 文号 浏览量 NNN``), leave values empty (``文号:``) and print labels with
spaces inside (``主 题 词``). A line can only be split reliably where a *known*
label starts; unknown ``中文键：`` keys are accepted as extra labels only on a
line that is already a header line (or when the line is nothing but one short
``key: value`` pair). Every synonym of a field is recognised; which value wins
and what happens to the others is decided by the page reader, not here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from hub.ingest.dates import fold

#: record field → the labels portals print for it (compared after folding, spaces removed)
FIELDS: dict[str, tuple[str, ...]] = {
    "index_no": ("索引号", "信息索引号", "索取号", "信息索取号"),
    "department": ("发布机构", "公开主体", "公开责任部门", "发文机关", "信息来源", "责任部门", "发布单位",
                   "发文单位", "制发机关", "公开责任单位", "发布部门", "公开机构", "信息公开责任部门", "所属机构",
                   "发文部门", "来源单位", "信息发布机构", "发布主体", "发文机构", "颁布部门", "颁布机关", "制定机关"),
    "doc_no": ("文号", "发文字号", "文件编号", "发文文号", "发文编号", "文件字号", "发布文号"),
    # 发文日期 is ambiguous: the only date a page gives (→ 公开日期), or, beside a 发布日期, the 成文日期
    # (page.py moves it); 时间/日期 count only where metadata is read (the head and the tail of a page)
    "published_at": ("发布日期", "公开日期", "发文日期", "生成日期", "发布时间", "公开时间", "信息发布日期",
                     "上网日期", "发布于", "发表于", "颁布日期", "公布日期", "时间", "日期"),
    "written_on": ("成文日期", "产生日期", "签发日期", "印发日期", "制发日期", "成文时间", "形成日期"),
    "catalog": ("主题分类", "公开目录", "信息分类", "组配分类", "目录分类", "所属栏目", "所属分类", "信息类别",
                "所属主题", "主题类别", "公开类别"),
    "disclosure": ("公开形式", "公开属性", "公开方式", "公开类型"),
    "validity": ("有效性", "时效", "时效性", "效力状态", "是否有效", "效力级别"),
    "title": ("标题", "名称", "文件名称", "信息名称", "公文标题"),
    "addressees": ("主送", "主送机关"),
    # the page's 来源 line: an issuer candidate after header, signature and title (issuer.py)
    "source_name": ("来源", "文章来源", "稿件来源", "信息提供单位"),
}
#: labels that are known to be metadata but are no record field: kept in ``extra`` under their name
KNOWN_EXTRA: tuple[str, ...] = (
    "主题词", "关键词", "体裁分类", "体裁", "服务对象", "浏览量", "浏览次数", "访问量", "访问次数", "点击数",
    "点击量", "点击次数", "阅读量", "阅读次数", "阅读数", "作者", "责任编辑", "编辑", "发布人", "文种", "公文种类",
    "失效日期", "废止日期", "实施日期", "施行日期", "字号", "字体", "当前位置", "您当前的位置", "您现在的位置",
    "所在位置", "发布者", "撰稿", "供稿", "摄影", "审核", "审核人", "签发人", "信息类型", "公开范围", "公开时限",
    "分类", "主题", "机构", "统一编号", "浏览", "阅读", "归档时间", "归档日期", "视力保护色", "内容概述", "摘要", "法律效力", "应用分类", "生效日期", "所属类别", "文件来源", "失效日期", "发布单位",
    "体裁分类", "登记号", "公开依据", "公开程序", "分享到", "打印", "关闭",
)
#: record field → the label used in messages (the name most portals print)
FIELD_LABELS = {"index_no": "索引号", "catalog": "公开目录", "department": "公开责任部门", "disclosure": "公开形式",
                "doc_no": "文号", "written_on": "成文日期", "published_at": "公开日期", "validity": "有效性",
                "title": "标题", "addressees": "主送", "source_name": "来源"}

#: the old one-table view (label → field), kept because tests and callers iterate it
SYNONYMS: dict[str, str] = {label: name for name, labels in FIELDS.items() for label in labels}
SYNONYMS["索 引 号"] = "index_no"


def key(label: str) -> str:
    """A label as compared: folded (full-width → ASCII), spaces and a trailing colon removed."""
    return re.sub(r"\s+", "", fold(label)).rstrip(":：")


_FIELD_OF = {key(k): v for k, v in SYNONYMS.items()}
_KNOWN = set(_FIELD_OF) | {key(k) for k in KNOWN_EXTRA}


def field_for(label: str) -> str | None:
    """The record field a label names, or None (unknown label, or a known one that is no field)."""
    return _FIELD_OF.get(key(label))


def is_known(label: str) -> bool:
    """Whether ``label`` is in the vocabulary (a field label or a known extra label)."""
    return key(label) in _KNOWN


def _spaced(label: str) -> str:
    return r"[ \t\u3000]*".join(re.escape(ch) for ch in label)


#: where a label may start: the line start, a space, a bar, a bracket, a bullet or a separator
_BEFORE = r"(?<![^\s|｜【\[（(•·●▪◆,，;；])"
_LABELS = sorted({*SYNONYMS, *KNOWN_EXTRA}, key=len, reverse=True)
_ALTERNATIVES = "|".join(_spaced(lb) for lb in _LABELS if " " not in lb)
#: a known label at a boundary (colon optional), or anywhere when a colon follows (颁布日期:…生效日期:…)
_KNOWN_RE = re.compile(
    _BEFORE + "(" + _ALTERNATIVES + r")(?:[ \t\u3000]*[:：]|(?=[\s|｜】\]）)]|$))"
    r"|(" + _ALTERNATIVES + r")[ \t\u3000]*[:：]"
)
#: an unknown Chinese key with a colon (体裁分类：通知) — a label only on a line that already is a header
_UNKNOWN_RE = re.compile(_BEFORE + r"([\u4e00-\u9fff]{2,8})[ \t\u3000]*[:：]")
_BULLET = re.compile(r"^[\s•·●▪◆■□◇※\-*]+(?=\S)")
_SENTENCE = re.compile(r"[。！？!?；;]")
#: words that start prose or body items, never a header label, even before a colon
_NOT_LABELS = frozenset({"附件", "抄送", "联系人", "联系电话", "电话", "手机", "地址", "邮箱", "传真", "邮编",
                         "时间", "地点", "内容", "要求", "说明", "备注", "注", "特此通知", "特此公告", "申请人"})


@dataclass(frozen=True, slots=True)
class Pair:
    """One ``label: value`` found on a line; ``value`` may be empty."""

    label: str
    value: str
    known: bool
    #: not printed as a label: a bare 文号 or date line read as one (ranks after printed labels)
    inferred: bool = False


def strip_bullet(line: str) -> str:
    """``• 来源: 某某`` → ``来源: 某某`` (bullet-style metadata)."""
    return _BULLET.sub("", line).strip()


def _matches(line: str, *, unknown: bool) -> list[tuple[int, int, str, bool]]:
    found = [(m.start(), m.end(), m.group(1) or m.group(2), True) for m in _KNOWN_RE.finditer(line)]
    if unknown:
        for m in _UNKNOWN_RE.finditer(line):
            if key(m.group(1)) in _NOT_LABELS or any(s < m.end() and m.start() < e for s, e, _, _ in found):
                continue
            found.append((m.start(), m.end(), m.group(1), False))
    return sorted(found)


def split_pairs(line: str) -> list[Pair] | None:
    """The pairs of a metadata line (known labels, several per line, colons optional), or None.

    A line is metadata when it starts with a known label; unknown ``键：`` keys inside such a
    line are labels too. A line that is one unknown ``键：值`` pair is metadata only when the
    value is short and not a sentence (``体裁分类：通知``, not ``地点：…。``).
    """
    text = strip_bullet(line)
    if not text:
        return None
    pipes = _pipe_pairs(text)
    if pipes is not None:
        return pipes
    found = _matches(text, unknown=True)
    if not found or text[:found[0][0]].strip(" \t\u3000[【(（-") != "":
        return None  # a metadata line starts with its label ("[ 索引号 ] …", "【发布日期】…" included)
    if not found[0][3]:
        # a line opening with an unknown key: only a short, single, non-sentence pair
        rest = text[found[0][1]:]
        if len(found) > 1 and not any(f[3] for f in found):
            return None
        if len(found) == 1 and (_SENTENCE.search(rest) or len(rest.strip()) > 40 or not rest.strip()):
            return None
    pairs: list[Pair] = []
    for n, (_start, end, label, known) in enumerate(found):
        stop = found[n + 1][0] if n + 1 < len(found) else len(text)
        value = text[end:stop].strip(" \t\u3000|｜【】[]")
        if not re.search(r"[0-9A-Za-z\u4e00-\u9fff]", value):
            value = ""  # "-----------": a placeholder, no value
        pairs.append(Pair(re.sub(r"[ \t\u3000]+", "", label), value, known))
    return pairs


def _pipe_cells(text: str) -> list[str] | None:
    if "|" not in text and "｜" not in text:
        return None
    cells = [c.strip() for c in re.split(r"[|｜]", text)]
    while cells and not cells[-1]:
        cells.pop()
    while cells and not cells[0]:
        cells.pop(0)
    return cells if len(cells) >= 2 else None


def _pipe_pairs(text: str) -> list[Pair] | None:
    """``索引号 | x | 公开目录: | y |`` → pairs; None when the row is a table row of the body."""
    cells = _pipe_cells(text)
    if cells is None:
        return None
    pairs: list[Pair] = []
    i = 0
    while i < len(cells):
        label = cells[i].rstrip(":：").strip()
        known = is_known(label)
        if not known and not (cells[i].endswith((":", "：")) and 1 <= len(key(label)) <= 10):
            return None
        value = ""
        if i + 1 < len(cells) and not _is_label_cell(cells[i + 1]):
            value = cells[i + 1]
            i += 2
        else:
            i += 1
        pairs.append(Pair(key(label), value, known))
    if not any(field_for(p.label) is not None for p in pairs):
        return None
    return pairs


def _is_label_cell(cell: str) -> bool:
    return is_known(cell.rstrip(":：").strip())


def label_only(line: str) -> str | None:
    """The label when ``line`` is nothing but a known label without a colon (one field per line, value below).

    ``主 题 词：`` with its colon is a label with an empty value, not a label waiting for the next line.
    """
    text = strip_bullet(line).strip()
    if text.endswith((":", "：")):
        return None
    return key(text) if text and is_known(text) else None
