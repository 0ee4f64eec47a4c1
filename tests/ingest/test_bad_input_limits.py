"""Bad input is a clear RecordError (file, line, field), on SQLite and PostgreSQL alike (issue 18, 12-13, 15).

Dates at the limits, values at and over every column limit, NUL characters; errors
that used to name no line; and no error text carrying a phone or ID number.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.errors import RecordError
from hub.ingest import ingest_path, ingest_text
from hub.record import Record, column_limits

CANARY_PHONE = "13800000001"
CANARY_ID = "61092119900307123X"


def record_file(tmp_path: Path, front: str, name: str = "r.md") -> Path:
    path = tmp_path / name
    path.write_text(f"+++\ntitle = \"关于测试的通知\"\n{front}\n+++\n正文一段。\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("value", ["0001-01-01", "9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00+08:00"])
def test_dates_at_the_limits_are_a_record_error_naming_file_line_and_field(tmp_path: Path, value: str) -> None:
    path = record_file(tmp_path, f"published_at = {value}")
    with pytest.raises(RecordError) as caught:
        ingest_path(path)
    err = caught.value
    assert err.file == str(path) and err.line == 3 and err.field == "published_at"
    assert "超出允许范围" in str(err)


def test_the_cli_exits_2_with_one_line_not_a_traceback(tmp_path: Path) -> None:
    path = record_file(tmp_path, "published_at = 9999-12-31T23:59:59-01:00")
    env = {**os.environ, "HUB_VAR": str(tmp_path / "var")}
    done = subprocess.run([sys.executable, "-m", "hub.cli", "ingest", str(path)], capture_output=True, text=True,
                          env=env, timeout=120)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr and f"{path}:3: [published_at]" in done.stderr + done.stdout


@pytest.mark.parametrize(("front", "line", "field"), [
    ('id = "a-1"', 1, "title"),  # a missing field: the front matter's opening line
    ('extra.a.b = "x"', 3, "extra.a"),  # a dotted key
])
def test_errors_that_named_no_line_now_do(tmp_path: Path, front: str, line: int, field: str) -> None:
    path = tmp_path / "r.md"
    text = f"+++\n{front}\n+++\n正文\n" if field == "title" else f"+++\ntitle = \"t\"\n{front}\n+++\n正文\n"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RecordError) as caught:
        ingest_path(path)
    assert (caught.value.line, caught.value.field) == (line, field)


def test_an_empty_file_and_a_nul_name_their_line(tmp_path: Path) -> None:
    with pytest.raises(RecordError) as empty:
        ingest_text("", file="empty.txt")
    assert empty.value.line == 1
    with pytest.raises(RecordError) as nul:
        ingest_text("+++\ntitle = \"a\"\n+++\n第一行\n第二\x00行\n", file="nul.md")
    assert nul.value.line == 5 and "NUL" in str(nul.value)


def test_feed_entry_errors_carry_the_entry_line() -> None:
    from hub.ingest.feeds import parse_feed

    feed = b"<rss><channel>\n<title>t</title>\n<item><title>a</title><link>http://x/1</link></item>\n<item>\n" \
           b"<title>b</title></item>\n</channel></rss>"
    with pytest.raises(RecordError) as caught:
        parse_feed(feed, uri="feed.xml")
    assert caught.value.line == 4 and caught.value.field == "guid"
    with pytest.raises(RecordError) as broken:
        parse_feed(b"<rss>\n<channel>\n<item><title>x</title></oops>", uri="bad.xml")
    assert broken.value.line == 3


def base(**fields: Any) -> dict[str, Any]:
    return {"id": "lim-1", "title": "关于测试的通知", **fields}


@pytest.mark.parametrize("field", sorted(set(column_limits()) - {"stage", "level", "id"}))
def test_the_model_refuses_what_the_store_cannot_keep(field: str) -> None:
    limit = column_limits()[field]
    Record.model_validate(base(**{field: "字" * limit}))  # at the limit: fine
    with pytest.raises(ValueError, match=f"{limit} 个字符"):
        Record.model_validate(base(**{field: "字" * (limit + 1)}))
    with pytest.raises(ValueError, match="NUL"):
        Record.model_validate(base(**{field: "a\x00b"}))


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest) -> str:
    if request.param == "postgresql":
        request.getfixturevalue("pg_database")
    from hub.store.db import get_engine

    get_engine()  # migrated on first use
    return str(request.param)


def test_values_at_every_column_limit_store_alike_on_both_databases(database: str) -> None:
    from hub.store import repo
    from hub.store.db import session_scope

    limits = column_limits()
    fields = {f: "汉" * n for f, n in limits.items() if f not in ("stage", "level", "id", "title")}
    record = Record.model_validate(base(title="题" * 300, published_at="2199-12-31T23:59:59+08:00",
                                        written_on="1900-01-01", **fields))
    with session_scope() as s:
        row = repo.save_version(s, record, findings=[], warnings=[], actor="test")
        version = row.version
    with session_scope() as s:
        _, back = repo.get_version(s, version)
    assert back == record


def test_a_store_error_carries_no_parameters(database: str) -> None:
    from sqlalchemy import text
    from sqlalchemy.exc import SQLAlchemyError

    from hub.store.db import session_scope

    with pytest.raises(SQLAlchemyError) as caught, session_scope() as s:
        s.execute(text("INSERT INTO records (id, department, created_at, updated_at) VALUES (:i, :d, :c, :c)"),
                  {"i": None, "d": f"身份证{CANARY_ID} 电话{CANARY_PHONE}", "c": "2026-01-01"})
    assert CANARY_ID not in str(caught.value) and CANARY_PHONE not in str(caught.value)


values = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(field=st.sampled_from(["title", "index_no", "department", "region", "domain", "item", "doc_no"]),
       pad=st.integers(min_value=0, max_value=400), noise=values,
       date=st.sampled_from(["0001-01-01", "9999-12-31", "2026-01-01", "1899-12-31"]))
def test_no_error_message_carries_a_canary_phone_or_id_number(field: str, pad: int, noise: str, date: str) -> None:
    secret = f"{noise}身份证{CANARY_ID}电话{CANARY_PHONE}" + "字" * pad
    front = f'{field} = """{secret.replace(chr(92), "").replace(chr(34), "")}"""\nwritten_on = {date}'
    text = f"+++\n{front}\n+++\n正文{CANARY_PHONE}\n" if field == "title" else \
        f"+++\ntitle = \"t\"\n{front}\n+++\n正文{CANARY_PHONE}\n"
    try:
        ingest_text(text, file="f.md")
    except RecordError as exc:
        message = f"{exc} {exc!r}"
        assert CANARY_ID not in message and CANARY_PHONE not in message
