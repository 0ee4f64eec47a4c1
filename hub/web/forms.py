"""The record form of the console: form fields ↔ ``Record``, and one-click masking.

The body is edited as plain text, one block per line: numbered short lines
(一、 / （一） / 1.) become headings (the same rule the page-text ingest uses),
lines starting with ``- `` become list items, everything else a paragraph.
Tables cannot be typed in a textarea, so when the body text comes back
unchanged the record keeps its original blocks (tables included).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from pydantic import ValidationError

from hub.errors import RecordError
from hub.record import Block, ChannelOverride, Heading, ListBlock, Paragraph, Record, Signature
from hub.timeutil import to_local, utcnow

#: Form fields that map 1:1 onto optional text fields of the record.
TEXT_FIELDS = ("title", "index_no", "catalog", "department", "doc_no", "validity", "domain", "item", "region",
               "interprets")


def new_record_id() -> str:
    """A plain, unique id for a record written in the console (used in URLs and short links)."""
    return f"web-{to_local(utcnow()):%Y%m%d}-{secrets.token_hex(3)}"


def body_to_text(record: Record) -> str:
    lines: list[str] = []
    for block in record.body:
        if isinstance(block, Heading):
            lines.append(f"{block.number or ''}{block.text}")
        elif isinstance(block, Paragraph):
            lines.append(block.text)
        elif isinstance(block, ListBlock):
            lines.extend(f"- {it}" for it in block.items)
        else:
            if block.caption:
                lines.append(block.caption)
            lines.extend("　".join(row) for row in [block.header, *block.rows] if row)
    return "\n".join(lines)


def text_to_body(text: str) -> list[Block]:
    from hub.ingest.numbering import heading_line  # the same heading rule as the page-text ingest
    blocks: list[Block] = []
    items: list[str] = []
    for raw in text.replace("\r\n", "\n").split("\n"):
        line = raw.strip()
        if line.startswith(("- ", "• ", "· ")):
            items.append(line[2:].strip())
            continue
        if items:
            blocks.append(ListBlock(items=items))
            items = []
        if not line:
            continue
        numbered = heading_line(line)
        if numbered is not None:
            blocks.append(Heading(level=numbered.level, number=numbered.number, text=numbered.text.strip()))
        else:
            blocks.append(Paragraph(text=line))
    if items:
        blocks.append(ListBlock(items=items))
    return blocks


def _opt(form: Mapping[str, Any], key: str) -> str | None:
    value = form.get(key)
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value or None


def _date(form: Mapping[str, Any], key: str) -> date | None:
    value = _opt(form, key)
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise RecordError("不是有效日期（格式 YYYY-MM-DD）", file="表单", field=key) from None


def _datetime(form: Mapping[str, Any], key: str) -> datetime | None:
    value = _opt(form, key)
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value)  # naive = Asia/Shanghai (Record normalises to UTC)
    except ValueError:
        raise RecordError("不是有效时间（格式 YYYY-MM-DDTHH:MM）", file="表单", field=key) from None


def record_from_form(form: Mapping[str, Any], base: Record | None) -> Record:
    """Build the record the form describes; ``RecordError`` names the field that is wrong."""
    data: dict[str, Any] = base.model_dump(mode="python", exclude={"source"}) if base else {}
    data["id"] = base.id if base else new_record_id()
    for key in TEXT_FIELDS:
        data[key] = _opt(form, key)
    if not data.get("title"):
        raise RecordError("标题不能为空", file="表单", field="title")
    data["disclosure"] = _opt(form, "disclosure") or "主动公开"
    data["stage"] = _opt(form, "stage")
    data["level"] = _opt(form, "level") or "county"
    data["written_on"] = _date(form, "written_on")
    if "event_on" in form:  # 事件日期: what the item's 公开时限 counts from, when not the 成文日期 (hub.office)
        from hub.office.overdue import EVENT_KEY

        extra, event = dict(data.get("extra") or {}), _date(form, "event_on")
        if event is None:
            extra.pop(EVENT_KEY, None)
        else:
            extra[EVENT_KEY] = event.isoformat()
        data["extra"] = extra
    data["published_at"] = _datetime(form, "published_at")
    addressees = _opt(form, "addressees") or ""
    data["addressees"] = [a.strip() for a in re.split(r"[、,，\n]", addressees) if a.strip()]
    body_text = (form.get("body") or "") if isinstance(form.get("body"), str) else ""
    if base is None or body_text.replace("\r\n", "\n").strip() != body_to_text(base).strip():
        data["body"] = text_to_body(body_text)
    office = _opt(form, "signature_office")
    data["signature"] = Signature(office=office, date=_date(form, "signature_date")) if office else None
    try:
        return Record.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"])
        raise RecordError(err["msg"], file="表单", field=field) from None


def with_override(record: Record, channel: str, *, title: str | None, text: str | None,
                  digest: str | None) -> Record:
    """The record with ``channel``'s override replaced (all fields empty removes it)."""
    overrides = dict(record.overrides)
    clean = {k: (v.strip() if v and v.strip() else None) for k, v in
             (("title", title), ("text", text), ("digest", digest))}
    if any(clean.values()):
        overrides[channel] = ChannelOverride(**clean)
    else:
        overrides.pop(channel, None)
    return record.model_copy(update={"overrides": overrides})


# --- one-click masking ----------------------------------------------------------------


def _pattern(excerpt: str, suggestion: str) -> re.Pattern[str]:
    """What the finding points at: a masked suggestion (``138****5678``) matches the digits it hides."""
    parts = [r"[0-9Xx]" if ch == "*" else re.escape(ch) for ch in suggestion]
    return re.compile(r"(?<![0-9])" + "".join(parts) + r"(?![0-9])")


def _replace_in(value: Any, pattern: re.Pattern[str], replacement: str) -> tuple[Any, int]:
    """Replace in every string inside ``value`` (dicts and lists walked), counting replacements."""
    if isinstance(value, str):
        new, n = pattern.subn(lambda _m: replacement, value)
        return new, n
    if isinstance(value, list):
        total = 0
        out = []
        for v in value:
            nv, n = _replace_in(v, pattern, replacement)
            out.append(nv)
            total += n
        return out, total
    if isinstance(value, dict):
        total = 0
        res = {}
        for k, v in value.items():
            if k in ("type", "id", "interprets", "url", "path", "sha256"):
                res[k] = v
                continue
            nv, n = _replace_in(v, pattern, replacement)
            res[k] = nv
            total += n
        return res, total
    return value, 0


def apply_mask(record: Record, excerpt: str, suggestion: str) -> tuple[Record, int]:
    """The record with the finding's value replaced by its suggestion, and how many places changed.

    A masked suggestion (``138****5678``) is matched against the digits it hides;
    otherwise (a wrong word and its preferred form) the excerpt is replaced literally.
    """
    data = record.model_dump(mode="json")
    candidates = []
    if "*" in suggestion:
        candidates.append(_pattern(excerpt, suggestion))
    if excerpt and "*" not in excerpt:
        candidates.append(re.compile(re.escape(excerpt)))
    for pattern in candidates:
        new, count = _replace_in(data, pattern, suggestion)
        if count:
            return Record.model_validate(new), count
    return record, 0
