"""Record files: TOML front matter between ``+++`` lines, then a Markdown body.

Every problem is a ``RecordError`` naming the file, the line and the field,
because the person who fixes it is a clerk with a text editor, not a developer
reading a pydantic traceback.
"""

from __future__ import annotations

import re
import tomllib
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from hub.errors import RecordError
from hub.ingest.ids import derive_id
from hub.ingest.markdown import parse_markdown
from hub.ingest.textio import refuse_nul
from hub.record import Record

FENCE = "+++"
#: fields a record file may set (everything in Record but ``source``, which the hub sets)
ALLOWED_FIELDS = frozenset(Record.model_fields) - {"source"}
_TOML_POS = re.compile(r"\(at line (\d+), column (\d+)\)")
_TOML_EOF = re.compile(r"\(at end of document\)")


def has_front_matter(text: str) -> bool:
    """Whether ``text`` opens with a ``+++`` fence line."""
    first = text.lstrip("\n").split("\n", 1)[0]
    return first.strip() == FENCE


def split_front_matter(text: str, *, file: str | None) -> tuple[str, str, int]:
    """(front matter, body, number of the first front-matter line) of a record file."""
    lines = text.split("\n")
    start = 0
    while start < len(lines) and not lines[start].strip():
        start += 1
    if start >= len(lines) or lines[start].strip() != FENCE:
        raise RecordError("record file must start with a '+++' line", file=file, line=start + 1,
                          field="front matter")
    for end in range(start + 1, len(lines)):
        if lines[end].strip() == FENCE:
            return "\n".join(lines[start + 1:end]), "\n".join(lines[end + 1:]), start + 2
    raise RecordError("front matter is not closed: no second '+++' line", file=file, line=start + 1,
                      field="front matter")


class _KeyLines:
    """The line each dotted key is defined on, for errors that name a field."""

    _TABLE = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(?:#.*)?$")
    _KEY = re.compile(r"""^\s*("[^"]*"|'[^']*'|[A-Za-z0-9_.\-\s"']+?)\s*=""")

    def __init__(self, front: str, first_line: int) -> None:
        self.lines: dict[str, int] = {}
        table: list[str] = []
        for n, raw in enumerate(front.split("\n")):
            lineno = first_line + n
            if (m := self._TABLE.match(raw)) is not None:
                table = self._parts(m.group(1))
                self.lines.setdefault(".".join(table), lineno)
            elif (m := self._KEY.match(raw)) is not None:
                path = [*table, *self._parts(m.group(1))]
                for n in range(1, len(path) + 1):  # a dotted key defines its parents on the same line
                    self.lines.setdefault(".".join(path[:n]), lineno)

    @staticmethod
    def _parts(key: str) -> list[str]:
        return [p.strip().strip("\"'") for p in key.split(".")]

    def find(self, path: list[str]) -> int | None:
        """The line of the longest prefix of ``path`` that was seen."""
        for n in range(len(path), 0, -1):
            got = self.lines.get(".".join(path[:n]))
            if got is not None:
                return got
        return None


def _loc_path(loc: tuple[int | str, ...]) -> list[str]:
    return [str(p) for p in loc if not isinstance(p, int)]


def _field_name(loc: tuple[int | str, ...]) -> str:
    out = ""
    for p in loc:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


def _normalise_times(data: dict[str, Any], keys: _KeyLines, file: str | None) -> None:
    """TOML dates for ``published_at`` mean 00:00 Beijing time; a time alone is an error."""
    value = data.get("published_at")
    if isinstance(value, date) and not isinstance(value, datetime):
        data["published_at"] = datetime.combine(value, time(0, 0))
    elif isinstance(value, time):
        raise RecordError("expected a date and time, got a time of day only", file=file,
                          line=keys.find(["published_at"]), field="published_at")
    written = data.get("written_on")
    if isinstance(written, datetime):
        raise RecordError("expected a date (YYYY-MM-DD), got a date and time", file=file,
                          line=keys.find(["written_on"]), field="written_on")


def parse_record_file(text: str, *, file: str | None = None) -> tuple[Record, list[str]]:
    """Parse a record file's text into a ``Record`` (without ``source``) and its warnings."""
    refuse_nul(text, file=file)
    front, body_text, first_line = split_front_matter(text, file=file)
    try:
        data = tomllib.loads(front)
    except tomllib.TOMLDecodeError as exc:
        msg = str(exc)
        m = _TOML_POS.search(msg)
        line = first_line + int(m.group(1)) - 1 if m else (
            first_line + front.count("\n") if _TOML_EOF.search(msg) else None)
        clean = _TOML_POS.sub("", _TOML_EOF.sub("", msg)).strip()
        if clean.startswith("Invalid date or datetime"):
            clean = "impossible or malformed date"
        column = int(m.group(2)) if m else None
        field = _field_at(front, line - first_line if line else None)
        raise RecordError(f"front matter is not valid TOML: {clean}", file=file, line=line,
                          field=field or "front matter", column=column) from None
    keys = _KeyLines(front, first_line)
    for key in data:
        if key not in ALLOWED_FIELDS:
            hint = " (set by the hub)" if key == "source" else ""
            raise RecordError(f"unknown field{hint}", file=file, line=keys.find([key]), field=key)
    _normalise_times(data, keys, file)
    if "id" not in data:
        title = data.get("title")
        index_no = data.get("index_no")
        data["id"] = derive_id(index_no if isinstance(index_no, str) else None,
                               str(title) if title is not None else "", str(Path(file).resolve()) if file else "")
    body_line_offset = first_line + front.count("\n") + 1
    parsed = parse_markdown(body_text, line_offset=body_line_offset)
    if "body" in data:
        raise RecordError("the body is the Markdown after the front matter, not a front-matter key",
                          file=file, line=keys.find(["body"]), field="body")
    data["body"] = [b.model_dump() for b in parsed.blocks]
    try:
        record = Record.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        err = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])  # a misspelt key first
        loc = tuple(err["loc"])
        msg = str(err["msg"]).removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            message = "unknown field"
        elif err["type"] == "missing":
            message = msg
        else:
            message = f"{msg} (got {_short(err.get('input'))})"
        line = None if loc and loc[0] == "body" else keys.find(_loc_path(loc))
        if line is None and not (loc and loc[0] == "body"):
            line = first_line - 1  # a field that is missing altogether: the front matter's opening line
        raise RecordError(message, file=file, line=line, field=_field_name(loc) or None) from None
    return record, list(parsed.warnings)


def _short(value: object) -> str:
    """The offending value for the message: short, with phone and ID numbers masked (errors reach logs)."""
    from hub.redact import redact

    text = redact(repr(value))
    return text if len(text) <= 60 else text[:57] + "..."


def _field_at(front: str, index: int | None) -> str | None:
    """The key on a 0-based front-matter line, for TOML syntax errors."""
    if index is None:
        return None
    lines = front.split("\n")
    if not 0 <= index < len(lines):
        return None
    m = re.match(r"^\s*([A-Za-z0-9_\-]+)\s*=", lines[index])
    return m.group(1) if m else None
