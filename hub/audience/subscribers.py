"""The SMS audience: citizens' numbers, validated, encrypted at rest, deduplicated and opt-out aware.

Why it looks like this (reliability F17, F18):

* A number is validated with ``phonenumbers`` (region CN, mobile only, ASCII
  digits only — full-width ``１３８…`` is refused rather than silently folded) when
  it is imported, and again when an SMS is sent (``valid_at_send``).
* It is stored only encrypted (``phone_enc``, AES-GCM with the key in env
  ``HUB_PHONE_KEY``, ``hub.audience.phones``), with ``phone_hash`` = HMAC-SHA256 of the E.164 number for
  dedupe and lookup, and ``phone_tail`` (last four digits) for display. The raw
  database never holds the digits.
* Every number that leaves this module for a person is masked
  (``+86*******1234``, ``hub.redact.mask_phone``); errors name the file, line and
  field, never the number.
* Opting out (退订) sets ``opted_out_at``; an import never clears it, and the SMS
  adapter checks it again right before each batch.

Key handling is ``hub.audience.phones``: ``HUB_PHONE_KEY`` is one key, or several
separated by commas, newest first (new rows use the first, all decrypt;
``hub phone-key rotate`` re-encrypts under the first). The dedupe HMAC key is
``HUB_PHONE_HASH_KEY`` when set, else derived from the *last* (oldest) key, so
rotation keeps every ``phone_hash`` stable. Losing the key loses the numbers;
generate one with ``hub subscribers keygen``.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import phonenumbers
from sqlalchemy import select
from sqlalchemy.orm import Session

# keys and encryption live in hub.audience.phones; re-exported for this module's callers
from hub.audience.phones import PHONE_HASH_KEY_ENV as PHONE_HASH_KEY_ENV
from hub.audience.phones import PHONE_KEY_ENV as PHONE_KEY_ENV
from hub.audience.phones import PhoneVault as PhoneVault
from hub.audience.phones import get_vault as get_vault
from hub.audience.phones import new_key as new_key
from hub.errors import InputError, NotFound, RecordError
from hub.record import Level
from hub.redact import mask_phone
from hub.store.models import SubscriberRow
from hub.timeutil import utcnow

#: CSV columns: phone is required, the rest optional (level defaults to county)
CSV_COLUMNS = ("phone", "level", "region", "topics")
_ASCII_PHONE = re.compile(r"^[+0-9 ()\-]{5,20}$")
_E164_CN_MOBILE = re.compile(r"^\+861[3-9]\d{9}$")
_TOPIC_SPLIT = re.compile(r"[;；|,，]")
_LEVELS = {lv.value for lv in Level}


class InvalidPhone(InputError):
    """A number that is not a valid mainland mobile number; the message never contains it."""


# --- validation -----------------------------------------------------------------------------------


def normalize(raw: str) -> str:
    """The E.164 form (``+8613800138000``) of a mainland mobile number, or ``InvalidPhone``.

    ``phonenumbers`` decides validity (length, allocated ranges); only ASCII digits,
    spaces, ``+ ( ) -`` are accepted so that look-alike characters never pass.
    """
    text = raw.strip()
    if not _ASCII_PHONE.match(text):
        raise InvalidPhone(f"not a phone number (masked: {mask_phone(text)})")
    try:
        parsed = phonenumbers.parse(text, "CN")
    except phonenumbers.NumberParseException:
        raise InvalidPhone(f"not a phone number (masked: {mask_phone(text)})") from None
    if parsed.country_code != 86 or not phonenumbers.is_valid_number(parsed):
        raise InvalidPhone(f"not a valid mainland number ({mask_phone(text)})")
    kind = phonenumbers.number_type(parsed)
    if kind not in (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE):
        raise InvalidPhone(f"not a mobile number ({mask_phone(text)})")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


@lru_cache(maxsize=65536)
def _segment_valid(segment: str) -> bool:
    """Is the 7-digit 号段 ``segment`` (e.g. ``1380013``) a valid mobile range? Checked with phonenumbers."""
    try:
        normalize("+86" + segment + "0000")
        return True
    except InvalidPhone:
        return False


def valid_at_send(e164: str) -> bool:
    """Re-validation right before sending (F18), cheap enough for 100,000 numbers a batch run.

    The shape must be an E.164 mainland mobile; validity is decided by
    ``phonenumbers`` once per 7-digit 号段 (numbers are allocated to carriers by
    segment), so a fan-out costs one regex per number plus a cached lookup.
    """
    return bool(_E164_CN_MOBILE.match(e164)) and _segment_valid(e164[3:10])


def masked(row: SubscriberRow) -> str:
    """The display form of a stored number, without decrypting it."""
    return "+86*******" + row.phone_tail


# --- rows -------------------------------------------------------------------------------------------


def find(session: Session, phone: str) -> SubscriberRow | None:
    e164 = normalize(phone)
    return session.scalar(select(SubscriberRow).where(SubscriberRow.phone_hash == get_vault().hash(e164)))


def upsert(session: Session, phone: str, *, level: str = "county", region: str | None = None,
           topics: Sequence[str] = (), now: datetime | None = None) -> tuple[SubscriberRow, bool]:
    """Add a subscriber or update its level, region and topics; returns (row, created). Opt-out is kept."""
    if level not in _LEVELS:
        raise InputError(f"level must be one of {sorted(_LEVELS)}, not {level!r}")
    if level != "county" and not region:
        raise InputError(f"a {level} subscriber needs a region")
    e164 = normalize(phone)
    vault = get_vault()
    digest = vault.hash(e164)
    row = session.scalar(select(SubscriberRow).where(SubscriberRow.phone_hash == digest))
    topics_list = sorted({t.strip() for t in topics if t.strip()})
    if row is None:
        row = SubscriberRow(phone_enc=vault.encrypt(e164), phone_hash=digest, phone_tail=e164[-4:],
                            level=level, region=region or None, topics=topics_list,
                            opted_out_at=None, created_at=now or utcnow())
        session.add(row)
        session.flush()
        return row, True
    row.level, row.region, row.topics = level, region or None, topics_list
    row.listed = True  # an asker known from a one-recipient notice subscribes now
    return row, False


def opt_out(session: Session, phone: str, *, at: datetime | None = None) -> SubscriberRow:
    """Record a 退订: the number gets no further SMS, including pending ones of running deliveries."""
    row = find(session, phone)
    if row is None:
        raise NotFound(f"no subscriber {mask_phone(normalize(phone))}")
    if row.opted_out_at is None:
        row.opted_out_at = at or utcnow()
    return row


def describe(row: SubscriberRow) -> dict[str, Any]:
    """A masked, JSON-ready view of a subscriber (for lists and exports to non-admins)."""
    return {"id": row.id, "phone": masked(row), "level": row.level, "region": row.region,
            "topics": list(row.topics or []),
            "opted_out_at": row.opted_out_at.isoformat() if row.opted_out_at else None}


def iter_subscribers(session: Session, *, batch: int = 1000) -> Iterator[SubscriberRow]:
    last = 0
    while True:
        rows = list(session.scalars(select(SubscriberRow).where(SubscriberRow.id > last)
                                    .order_by(SubscriberRow.id).limit(batch)))
        if not rows:
            return
        yield from rows
        last = rows[-1].id


# --- CSV import ---------------------------------------------------------------------------------------


@dataclass
class ImportReport:
    """What an import did; ``rejected`` holds (line, field, reason) with numbers masked."""

    added: int = 0
    updated: int = 0
    rejected: list[tuple[int, str, str]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"added": self.added, "updated": self.updated,
                "rejected": [{"line": ln, "field": f, "reason": r} for ln, f, r in self.rejected]}


def _read_text(path: Path) -> str:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise RecordError("file not found", file=str(path)) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise RecordError(f"not UTF-8 (byte offset {exc.start})", file=str(path)) from None


def import_csv(session: Session, path: Path, *, now: datetime | None = None) -> ImportReport:
    """Import ``phone,level,region,topics`` rows (a header line is required).

    Good rows are added or updated (deduplicated by ``phone_hash``); each bad row
    is skipped and reported by line and field with the number masked. A file that
    is not UTF-8 or lacks the ``phone`` column is a ``RecordError``.
    """
    text = _read_text(path)
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [h.strip() for h in (reader.fieldnames or [])]
    if "phone" not in header:
        raise RecordError("the header must name a 'phone' column (phone,level,region,topics)",
                          file=str(path), line=1, field="phone")
    unknown = [h for h in header if h not in CSV_COLUMNS]
    if unknown:
        raise RecordError(f"unknown column(s) {unknown}; known: {list(CSV_COLUMNS)}", file=str(path), line=1)
    report = ImportReport()
    seen: set[str] = set()
    for row in reader:
        line = reader.line_num
        values = {(k or "").strip(): (v or "").strip() for k, v in row.items() if k is not None}
        try:
            e164 = normalize(values.get("phone", ""))
        except InvalidPhone as exc:
            report.rejected.append((line, "phone", str(exc)))
            continue
        level = values.get("level") or "county"
        region = values.get("region") or None
        if level not in _LEVELS:
            report.rejected.append((line, "level", f"must be one of {sorted(_LEVELS)}"))
            continue
        if level != "county" and not region:
            report.rejected.append((line, "region", f"a {level} subscriber needs a region"))
            continue
        if e164 in seen:
            report.rejected.append((line, "phone", f"duplicate of an earlier line ({mask_phone(e164)})"))
            continue
        seen.add(e164)
        topics = [t for t in _TOPIC_SPLIT.split(values.get("topics", "")) if t.strip()]
        _, created = upsert(session, e164, level=level, region=region, topics=topics, now=now)
        if created:
            report.added += 1
        else:
            report.updated += 1
    return report
