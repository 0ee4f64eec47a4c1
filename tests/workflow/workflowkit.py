"""Helpers of the workflow tests: departments, staff, findings, records.

(Not in conftest.py: test modules import these, and ``import conftest`` is ambiguous across directories.)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hub.record import Paragraph, Record

DEPT = "汉阴县人民政府办公室"
OTHER = "汉阴县财政局"
PASSWORD = "correct horse battery"

#: name → (role, department)
STAFF = {
    "author": ("author", DEPT),
    "reviewer": ("reviewer", DEPT),
    "reviewer2": ("reviewer", DEPT),
    "office": ("office", DEPT),
    "admin": ("admin", DEPT),
    "station": ("station", None),
    "author_b": ("author", OTHER),
    "reviewer_b": ("reviewer", OTHER),
}


@dataclass(frozen=True)
class CheckFinding:
    """Shaped like ``hub.checks.Finding``."""

    kind: str
    line: int | None
    column: int | None
    excerpt: str
    suggestion: str | None
    blocking: bool


ID_NUMBER = CheckFinding("id_number", 8, 5, "6109**********2515", "6109**********2515", True)
PHONE = CheckFinding("mobile", 9, 3, "138****5678", "138****5678", True)
WORD = CheckFinding("word", 3, 1, "贫困户", "困难群众", False)


def make_record(record_id: str = "rec-1", **changes: Any) -> Record:
    fields: dict[str, Any] = {
        "id": record_id,
        "title": "关于2026年度城乡低保对象名单的公示",
        "department": DEPT,
        "body": [Paragraph(text="经审核,现将名单公示如下。")],
    }
    fields.update(changes)
    return Record(**fields)


#: ``draft(findings=..., actor="author", **record_fields) -> version`` (the ``draft`` fixture).
Draft = Callable[..., str]
