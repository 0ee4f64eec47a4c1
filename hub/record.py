"""The canonical disclosure record and its immutable, hash-named versions.

A ``Record`` holds exactly the fields of a Chinese government disclosure page
(索引号, 公开目录, 公开责任部门, 公开形式, 文号, 成文日期, 公开日期, 有效性, title,
addressees, body, signature, attachments) plus the hub's own fields (五公开 stage,
catalog domain and item, level and region, the 解读 link, per-channel overrides).

A version is named by the SHA-256 of the record's canonical JSON, so the same
content always has the same name and any edit is a new version. ``source`` (where
the record came from) is not part of the content and not hashed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from datetime import date, datetime
from enum import StrEnum
from functools import lru_cache
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from hub.timeutil import to_utc

#: Record ids are used in URLs, file names and short links: keep them plain.
RECORD_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"


class Stage(StrEnum):
    """The five openings (五公开)."""

    DECISION = "决策"
    EXECUTION = "执行"
    MANAGEMENT = "管理"
    SERVICE = "服务"
    RESULT = "结果"


class Level(StrEnum):
    """Administrative level of the publishing body (公开层级)."""

    COUNTY = "county"
    TOWNSHIP = "township"
    VILLAGE = "village"


LEVEL_NAMES = {Level.COUNTY: "县级", Level.TOWNSHIP: "乡级", Level.VILLAGE: "村级"}


class Disclosure(StrEnum):
    """公开形式 / 公开属性."""

    ACTIVE = "主动公开"
    ON_REQUEST = "依申请公开"
    NOT_DISCLOSED = "不予公开"


#: the dates a record may carry: outside them a date is a typo, and the extremes (0001, 9999) cannot even be
#: shifted between time zones (Python's OverflowError) or stored alike by SQLite and PostgreSQL
EARLIEST = date(1900, 1, 1)
LATEST = date(2199, 12, 31)


def _no_nul(value: Any) -> Any:
    """Refuse NUL anywhere in a string value (PostgreSQL cannot store it; SQLite would, silently)."""
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError("不能包含 NUL 控制字符 (\\x00)")
    elif isinstance(value, list | tuple):
        for v in value:
            _no_nul(v)
    elif isinstance(value, dict):
        for k, v in value.items():
            _no_nul(k)
            _no_nul(v)
    elif isinstance(value, BaseModel):
        _no_nul(value.model_dump())
    return value


def _in_range(value: date) -> None:
    if not EARLIEST <= value <= LATEST:
        raise ValueError(f"日期 {value.isoformat()} 超出允许范围（{EARLIEST.year}–{LATEST.year} 年）")


@lru_cache(maxsize=1)
def column_limits() -> dict[str, int]:
    """Record field → the length of the store's column it is kept in: THE limits (one source of truth).

    Derived from the SQLAlchemy columns of ``record_versions`` (and ``records.id``), so a
    model change moves the check with it; read lazily to keep the record model free of
    the store at import time.
    """
    from sqlalchemy import String

    from hub.store.models import RecordRow, VersionRow

    limits: dict[str, int] = {}
    for column in VersionRow.__table__.columns:
        if isinstance(column.type, String) and column.type.length and column.name in Record.model_fields:
            limits[column.name] = int(column.type.length)
    id_type = RecordRow.__table__.c.id.type
    if isinstance(id_type, String) and id_type.length:
        limits["id"] = int(id_type.length)
    return limits


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Heading(_Frozen):
    """A section heading; ``number`` keeps the document's own numbering (一、 / (一) / 1.)."""

    type: Literal["heading"] = "heading"
    level: int = Field(ge=1, le=4)
    number: str | None = None
    text: str


class Paragraph(_Frozen):
    type: Literal["paragraph"] = "paragraph"
    text: str


class ListBlock(_Frozen):
    type: Literal["list"] = "list"
    ordered: bool = False
    items: list[str]


class Table(_Frozen):
    type: Literal["table"] = "table"
    caption: str | None = None
    header: list[str] = Field(default_factory=list)
    rows: list[list[str]] = Field(default_factory=list)


Block = Annotated[Heading | Paragraph | ListBlock | Table, Field(discriminator="type")]


class Signature(_Frozen):
    """The issuing office and date printed under the body (落款)."""

    office: str
    date: dt.date | None = None

    @field_validator("date")
    @classmethod
    def _sane(cls, value: dt.date | None) -> dt.date | None:
        if value is not None:
            _in_range(value)
        return value


class Attachment(_Frozen):
    """An attachment; ``name`` is metadata only, files are stored under generated names."""

    name: str
    url: str | None = None
    path: str | None = None
    sha256: str | None = None
    size: int | None = None


class ChannelOverride(_Frozen):
    """Text an editor wrote for one channel; it wins over generated text and is checked again."""

    title: str | None = None
    text: str | None = None
    digest: str | None = None


class Source(_Frozen):
    """Where the record came from; not part of the content hash."""

    kind: Literal["file", "page", "feed", "form"]
    uri: str
    guid: str | None = None


class Record(_Frozen):
    """One disclosure record as the hub understands it."""

    id: str = Field(pattern=RECORD_ID_PATTERN)
    title: str  # empty while the author has not typed one (issue 11; submit refuses it); its upper limit is the store's column (column_limits)
    index_no: str | None = None
    catalog: str | None = None
    department: str | None = None
    disclosure: Disclosure = Disclosure.ACTIVE
    doc_no: str | None = None
    written_on: date | None = None
    published_at: datetime | None = None
    validity: str | None = None
    addressees: list[str] = Field(default_factory=list)
    body: list[Block] = Field(default_factory=list)
    signature: Signature | None = None
    attachments: list[Attachment] = Field(default_factory=list)
    stage: Stage | None = None
    domain: str | None = None
    item: str | None = None
    level: Level = Level.COUNTY
    region: str | None = None
    interprets: str | None = None
    overrides: dict[str, ChannelOverride] = Field(default_factory=dict)
    extra: dict[str, str] = Field(default_factory=dict)
    source: Source | None = None

    @field_validator("*")
    @classmethod
    def _refuse_nul(cls, value: Any) -> Any:
        """No NUL in any field, blocks included (checked on the record, where the store takes it)."""
        return _no_nul(value)

    @field_validator("published_at")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        _in_range(value.date())
        try:
            return to_utc(value)
        except OverflowError:  # e.g. 0001-01-01 in Beijing time is before year 1 in UTC
            raise ValueError(f"日期 {value.isoformat()} 超出允许范围（{EARLIEST.year}–{LATEST.year} 年）") from None

    @field_validator("written_on")
    @classmethod
    def _written(cls, value: date | None) -> date | None:
        if value is not None:
            _in_range(value)
        return value

    @field_validator("id", "title", "index_no", "department", "domain", "item", "region", "interprets",
                     "catalog", "doc_no", "validity")
    @classmethod
    def _fits_the_store(cls, value: str | None, info: ValidationInfo) -> str | None:
        limit = column_limits().get(str(info.field_name))
        if value is not None and limit is not None and len(value) > limit:
            raise ValueError(f"超过 {limit} 个字符的上限（{len(value)} 个字符）")
        return value

    def content(self) -> dict[str, Any]:
        """The hashed content: every field but ``source``, JSON-ready."""
        return self.model_dump(mode="json", exclude={"source"})

    def canonical_json(self) -> str:
        """Sorted keys, no whitespace, real UTF-8: the bytes the version hash is taken over."""
        return json.dumps(self.content(), ensure_ascii=False, sort_keys=True, separators=(",", ":"))

    def version_hash(self) -> str:
        """The full SHA-256 hex of the canonical form; the first 12 characters name a version to people."""
        return hashlib.sha256(self.canonical_json().encode("utf-8")).hexdigest()

    def body_text(self) -> list[str]:
        """The body as plain lines (headings with their numbers, list items, table rows)."""
        lines: list[str] = []
        for block in self.body:
            if isinstance(block, Heading):
                lines.append(f"{block.number or ''}{block.text}")
            elif isinstance(block, Paragraph):
                lines.append(block.text)
            elif isinstance(block, ListBlock):
                lines.extend(block.items)
            else:
                if block.caption:
                    lines.append(block.caption)
                lines.extend(" ".join(row) for row in [block.header, *block.rows] if row)
        return lines


def text_blocks(record: Record) -> list[dict[str, str]]:
    """The body as ``{type, text}`` blocks (``hub show --json``), so a reader can check what was kept.

    Headings carry their number; a list is one item per line; a table is one row per line, cells
    joined by `` | `` (header first).
    """
    out: list[dict[str, str]] = []
    for block in record.body:
        if isinstance(block, Heading):
            text = f"{block.number or ''}{block.text}"
        elif isinstance(block, Paragraph):
            text = block.text
        elif isinstance(block, ListBlock):
            text = "\n".join(block.items)
        else:
            rows = [block.header, *block.rows] if block.header else list(block.rows)
            text = "\n".join(([block.caption] if block.caption else []) + [" | ".join(r) for r in rows])
        out.append({"type": block.type, "text": text})
    return out


def short_version(version: str) -> str:
    """How a version is shown to people."""
    return version[:12]
