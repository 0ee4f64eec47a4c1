"""Personal data that must not be published: resident ID numbers, mobile numbers, bank cards.

Every candidate is validated, not just pattern-matched, so public numbers are
left alone: an ID number must pass the GB 11643-1999 checksum and carry a real
birth date; a mobile number must have a prefix Chinese carriers actually issue;
a bank card must pass Luhn and start with a known BIN. Landlines (0915-5212345),
the record's own 索引号 and 文号, dates and amounts (followed by 元, or with
decimals) are not personal data and are skipped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from hub.timeutil import utcnow

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
#: prefixes issued to Chinese mobile carriers (incl. virtual operators and IoT-free data ranges)
_MOBILE = re.compile(r"^1(?:3\d|4[5-9]|5[0-35-9]|6[2567]|7[0-8]|8\d|9[0-35-9])\d{8}$")

_DIGITS = "0-9０-９"
_EDGE_L = r"(?<![0-9A-Za-z０-９.．])"
_EDGE_R = r"(?![0-9A-Za-z０-９]|[.．][0-9])"
# contiguous digit runs (IDs may end in X), and the spaced/hyphenated ways people write them
_RUN = re.compile(rf"{_EDGE_L}[{_DIGITS}]{{11,19}}[XxＸｘ]?{_EDGE_R}")
_GROUPED = (
    re.compile(rf"{_EDGE_L}(?:\+?86[ -])?1[3-9]\d[ -]\d{{4}}[ -]\d{{4}}{_EDGE_R}"),
    re.compile(rf"{_EDGE_L}\d{{6}}[ -]\d{{8}}[ -]\d{{3}}[0-9Xx]{_EDGE_R}"),
    re.compile(rf"{_EDGE_L}\d{{4}}(?:[ -]\d{{4}}){{3}}(?:[ -]\d{{1,3}})?{_EDGE_R}"),
)
#: every pattern a finding starts from; none can match across a line break, so running them over a
#: whole text finds exactly the per-line candidates (``hub.checks.candidate_lines`` relies on it)
CANDIDATE_PATTERNS = (_RUN, *_GROUPED)
_AMOUNT_AFTER = re.compile(r"^\s*(?:元|万元|亿元|万|亿|美元|港元|块)")
_AMOUNT_BEFORE = re.compile(r"(?:[¥￥$]|人民币|RMB)\s*$", re.IGNORECASE)
_FOLD = str.maketrans("０１２３４５６７８９Ｘｘx", "0123456789XXX")


@dataclass(frozen=True, slots=True)
class Match:
    """A validated piece of personal data at [start, end) of a line."""

    kind: str
    start: int
    end: int
    value: str  # digits only (and X), folded to ASCII

    @property
    def masked(self) -> str:
        return mask(self.kind, self.value)


def id_checksum_ok(value: str) -> bool:
    """GB 11643-1999: the 18th character is the ISO 7064 MOD 11-2 check of the first 17 digits."""
    if len(value) != 18 or not value[:17].isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(value[:17], _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11] == value[17].upper()


def is_id_number(value: str, *, today: date | None = None) -> bool:
    """A plausible 18-digit resident ID: region code, real birth date (1900..today), checksum."""
    if not id_checksum_ok(value) or value[0] not in "12345678":
        return False
    try:
        born = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return False
    return date(1900, 1, 1) <= born <= (today or utcnow().date())


def luhn_ok(value: str) -> bool:
    if not value.isdigit():
        return False
    total = 0
    for i, ch in enumerate(reversed(value)):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def is_bank_card(value: str, prefixes: tuple[str, ...]) -> bool:
    """16–19 digits, Luhn-valid, with a known BIN prefix."""
    return 16 <= len(value) <= 19 and value.startswith(prefixes) and luhn_ok(value)


def is_mobile(value: str) -> bool:
    return _MOBILE.match(value) is not None


def mask(kind: str, value: str) -> str:
    """``6109**********2515`` for IDs and cards (first 4, last 4), ``139****1234`` for mobiles."""
    if kind == "mobile":
        return value[:3] + "*" * (len(value) - 7) + value[-4:]
    return value[:4] + "*" * (len(value) - 8) + value[-4:]


def _classify(value: str, prefixes: tuple[str, ...]) -> str | None:
    if len(value) == 18 and is_id_number(value):
        return "id_number"
    if len(value) == 11 and is_mobile(value):
        return "mobile"
    if len(value) == 13 and value.startswith("86") and is_mobile(value[2:]):
        return "mobile"
    if is_bank_card(value, prefixes):
        return "bank_card"
    return None


def _is_amount(line: str, start: int, end: int) -> bool:
    return _AMOUNT_AFTER.match(line[end:end + 4]) is not None or _AMOUNT_BEFORE.search(line[max(0, start - 8):start]) is not None


#: what announces a phone number: after it, any 11-digit 1[3-9] number is a mobile, allocated or not
_PHONE_CUE = re.compile(r"(电话|手机|联系方式|手机号码?|联系人|热线|Tel|TEL|tel|Mobile|mobile)[^0-9\n]{0,12}$")
_ANY_MOBILE = re.compile(r"^1[3-9]\d{9}$")


def find_personal_data(line: str, *, bank_prefixes: tuple[str, ...],
                       skip: list[tuple[int, int]] | None = None,
                       phone_values: frozenset[str] = frozenset()) -> list[Match]:
    """Every validated ID number, mobile and bank card on ``line``, in order.

    Leak detection errs on catching (issue 11): an 11-digit ``1[3-9]`` number is a mobile even
    with a prefix no carrier has issued (179…) when the line announces a phone (电话/手机/联系方式
    before it) or the number stands in a table's phone column (``phone_values``).
    """
    skip = skip or []
    found: list[Match] = []
    taken: list[tuple[int, int]] = []
    candidates = list(_RUN.finditer(line))
    for pattern in _GROUPED:
        candidates.extend(pattern.finditer(line))
    for m in candidates:
        start, end = m.span()
        if any(start < e and s < end for s, e in taken + skip):
            continue
        value = re.sub(r"[^0-9X]", "", m.group(0).translate(_FOLD))
        kind = _classify(value, bank_prefixes)
        if kind is None and _ANY_MOBILE.match(value) and (value in phone_values or _PHONE_CUE.search(line[:start])):
            kind = "mobile"
        if kind is None or _is_amount(line, start, end):
            continue
        if kind == "mobile" and len(value) == 13:
            value = value[2:]  # +86 country code
        found.append(Match(kind, start, end, value))
        taken.append((start, end))
    found.sort(key=lambda x: x.start)
    return found


def mask_line(line: str, matches: list[Match]) -> str:
    """The line with every match replaced by its mask (separators dropped inside a match)."""
    out, pos = "", 0
    for m in sorted(matches, key=lambda x: x.start):
        out += line[pos:m.start] + m.masked
        pos = m.end
    return out + line[pos:]


def phone_column_values(record: object) -> frozenset[str]:
    """The digits of every cell in a table column headed 电话/手机/联系方式 (a phone column)."""
    from hub.record import Record, Table

    if not isinstance(record, Record):
        return frozenset()
    out: set[str] = set()
    for block in record.body:
        if not isinstance(block, Table):
            continue
        cols = [i for i, h in enumerate(block.header) if re.search(r"电话|手机|联系方式|号码", h)]
        for row in block.rows:
            for i in cols:
                if i < len(row):
                    out.add(re.sub(r"[^0-9]", "", row[i].translate(_FOLD)))
    return frozenset(out)


def mask_text(text: str, *, bank_prefixes: tuple[str, ...], phone_values: frozenset[str] = frozenset()) -> str:
    """``text`` with every ID, card and mobile number masked, line by line."""
    return "\n".join(mask_line(line, find_personal_data(line, bank_prefixes=bank_prefixes, phone_values=phone_values))
                     for line in text.split("\n"))
