"""Personal data in a citizen's text: masked for staff, removed for publication, with the records' checks.

The same detectors as a record's pre-publish check (``hub.checks.personal``:
validated ID numbers, mobiles, bank cards; ``hub.checks.words`` for sensitive
words), so a question is judged by the rules the office already tuned.

Two strengths:

* ``mask_text`` — what staff lists show: ``139****5678``; the citizen's own data
  stays recognisable to the staff who answer, never whole.
* ``deidentify`` — what a published answer may carry: every validated number and
  any remaining run of 7+ digits become ``[已隐去]``, the asker's name and address-like
  phrases (…村…组, …号院, 门牌…号) are removed; ``publication_findings`` is the gate.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from hub.checks.personal import find_personal_data, mask_line
from hub.checks.settings import load_check_config
from hub.checks.words import find_words

REMOVED = "[已隐去]"
_LONG_DIGITS = re.compile(r"[0-9０-９][0-9０-９ \-]{5,}[0-9０-９Xx]")
#: addresses down to a household: 某某村三组, 12号, 5栋2单元301室, 某某小区
_ADDRESS = re.compile(
    r"[\u4e00-\u9fff]{1,8}(?:村|社区)[\u4e00-\u9fff0-9一二三四五六七八九十]{1,4}组"
    r"|[0-9一二三四五六七八九十]+(?:号院|号楼|栋|幢|单元|室)"
    r"|[\u4e00-\u9fff]{1,10}(?:路|街|巷)[0-9一二三四五六七八九十]+号"
    r"|[\u4e00-\u9fff]{2,8}小区")
#: "我叫张三", "本人李四", "姓名：王五"
_SELF_NAME = re.compile(r"(?:我叫|我是|本人|姓名[:：]?\s*)([\u4e00-\u9fff]{2,4})")


def _lines(text: str) -> list[str]:
    return text.replace("\r\n", "\n").split("\n")


def mask_text(text: str) -> tuple[str, bool]:
    """``text`` with every validated ID, mobile and bank card number masked; and whether any was."""
    prefixes = load_check_config().personal_data.bank_prefixes
    out, changed = [], False
    for line in _lines(text):
        found = find_personal_data(line, bank_prefixes=prefixes)
        if found:
            changed = True
            line = mask_line(line, found)
        out.append(line)
    return "\n".join(out), changed


def sensitive_words(text: str) -> list[str]:
    """The configured sensitive words found in ``text`` (staff see a note; the question is still taken)."""
    entries = tuple(e for e in load_check_config().words if e.kind == "sensitive")
    return sorted({m.entry.wrong for line in _lines(text) for m in find_words(line, entries)})


def deidentify(text: str, *, names: Iterable[str] = ()) -> str:
    """A publishable form of ``text``: numbers, the asker's name and household addresses removed."""
    prefixes = load_check_config().personal_data.bank_prefixes
    out = []
    for line in _lines(text):
        found = find_personal_data(line, bank_prefixes=prefixes)
        for m in sorted(found, key=lambda x: x.start, reverse=True):
            line = line[:m.start] + REMOVED + line[m.end:]
        line = _LONG_DIGITS.sub(REMOVED, line)
        line = re.sub(r"1[3-9]\d\*{4}\d{4}|\d{4}\*{6,}\w{4}", REMOVED, line)  # masked forms too
        line = _ADDRESS.sub(REMOVED, line)
        line = _SELF_NAME.sub(lambda m: m.group(0)[: -len(m.group(1))] + "某某", line)
        for name in names:
            if name and len(name.strip()) >= 2:
                line = line.replace(name.strip(), "某某")
        out.append(line)
    return "\n".join(out)


def publication_findings(text: str, *, names: Iterable[str] = ()) -> list[str]:
    """Why ``text`` may not be published (empty = the gate passes): personal data, long numbers, names."""
    prefixes = load_check_config().personal_data.bank_prefixes
    problems: list[str] = []
    for n, line in enumerate(_lines(text), start=1):
        for m in find_personal_data(line, bank_prefixes=prefixes):
            problems.append(f"第{n}行含个人信息（{m.masked}）")
        if _LONG_DIGITS.search(line) or re.search(r"\d{3}\*{3,}\d{3,}", line):
            problems.append(f"第{n}行含较长的号码")
        if _ADDRESS.search(line):
            problems.append(f"第{n}行含具体住址")
        for name in names:
            if name and len(name.strip()) >= 2 and name.strip() in line:
                problems.append(f"第{n}行含提问人姓名")
    entries = tuple(e for e in load_check_config().words if e.kind == "sensitive")
    for n, line in enumerate(_lines(text), start=1):
        for w in find_words(line, entries):
            problems.append(f"第{n}行含敏感词“{w.entry.wrong}”")
    return problems
