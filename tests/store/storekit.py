"""Helpers of the store tests: a record like the sample, and findings as the checks produce them.

(Not in conftest.py: test modules import these, and ``import conftest`` is ambiguous across directories.)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from hub.record import Paragraph, Record, Signature, Source, Stage


@dataclass(frozen=True)
class CheckFinding:
    """Shaped like ``hub.checks.Finding`` (the store accepts anything with these attributes)."""

    kind: str
    line: int | None
    column: int | None
    excerpt: str
    suggestion: str | None
    blocking: bool


def make_record(record_id: str = "hanyin-2017-168", **changes: Any) -> Record:
    fields: dict[str, Any] = {
        "id": record_id,
        "title": "汉阴县人民政府办公室关于推出“五公开”落地创新措施的通知",
        "index_no": "xzfgzbmzfb/2017-0168",
        "catalog": "县政府办文件",
        "department": "汉阴县人民政府办公室",
        "doc_no": "汉政办通字〔2017〕168号",
        "written_on": date(2017, 11, 15),
        "published_at": datetime(2017, 11, 15, 14, 52),  # naive = Asia/Shanghai
        "validity": "有效",
        "addressees": ["各镇人民政府", "县政府各工作部门、直属机构"],
        "body": [Paragraph(text="为深入贯彻落实……现就关于推出“五公开”落地创新措施的通知如下:")],
        "signature": Signature(office="汉阴县人民政府办公室", date=date(2017, 11, 15)),
        "stage": Stage.DECISION,
        "domain": "政务公开",
        "region": "汉阴县",
        "source": Source(kind="file", uri="samples/hanyin-2017-168-wugongkai.txt"),
    }
    fields.update(changes)
    return Record(**fields)
