"""The renderer tests' frozen records and public URL, importable by the test modules.

(Not in conftest.py: ``from conftest import`` resolves to whichever conftest was imported
first when several test directories run together.)
"""

from __future__ import annotations

from pathlib import Path

from hub.record import Record

HERE = Path(__file__).parent
RECORDS = ("sample", "gongshi", "policy", "jiedu")
PUBLIC_URL = "https://www.hanyin.gov.cn"


def load_record(name: str) -> Record:
    return Record.model_validate_json((HERE / "records" / f"{name}.json").read_text(encoding="utf-8"))
