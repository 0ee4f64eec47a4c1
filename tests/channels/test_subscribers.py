"""The subscriber store: validation at import, encryption at rest, dedupe, opt-out, masked output, the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select
from typer.testing import CliRunner

from hub.audience import subscribers as subs
from hub.errors import ConfigError, NotFound, RecordError
from hub.store.db import session_scope
from hub.store.models import SubscriberRow

CANARY = "+8613800000001"


@pytest.fixture(autouse=True)
def phone_key(monkeypatch: pytest.MonkeyPatch) -> str:
    key = Fernet.generate_key().decode()
    monkeypatch.setenv("HUB_PHONE_KEY", key)
    monkeypatch.delenv("HUB_PHONE_HASH_KEY", raising=False)
    return key


@pytest.mark.parametrize(("raw", "e164"), [
    ("+8613800138000", "+8613800138000"), ("13800138000", "+8613800138000"),
    ("+86 138 0013 8000", "+8613800138000"), ("0086-138-0013-8000", "+8613800138000"),
])
def test_valid_mainland_mobiles_normalise_to_e164(raw: str, e164: str) -> None:
    assert subs.normalize(raw) == e164


@pytest.mark.parametrize("raw", [
    "1380013800", "+86 000", "abcdefghijk", "１３８００１３８０００", "1" * 30, "10086", "+8610000000001",
    "+14155550123", "",
])
def test_invalid_numbers_are_refused_without_echoing_them(raw: str) -> None:
    with pytest.raises(subs.InvalidPhone) as caught:
        subs.normalize(raw)
    if len(raw) >= 7:
        assert raw not in str(caught.value)


def test_the_database_never_holds_the_digits_of_a_number(hub_home: Path) -> None:
    with session_scope() as s:
        subs.upsert(s, CANARY, level="township", region="涧池镇")
    raw = (hub_home / "hub.db").read_bytes()
    for wal in hub_home.glob("hub.db-wal"):
        raw += wal.read_bytes()
    assert b"13800000001" not in raw and "13800000001".encode("utf-16-le") not in raw
    with session_scope() as s:
        row = s.scalar(select(SubscriberRow))
        assert row is not None and row.phone_tail == "0001"
        assert subs.get_vault().decrypt(row.phone_enc) == CANARY
        assert subs.masked(row) == "+86*******0001"


def test_import_dedupes_updates_and_reports_bad_rows_by_line_and_field_masked(tmp_path: Path) -> None:
    path = tmp_path / "subs.csv"
    path.write_text("phone,level,region,topics\n"
                    f"{CANARY},county,,教育;卫生\n"
                    "13800000002,township,涧池镇,\n"
                    "13900000003x,county,,\n"
                    "13800000004,township,,\n"
                    "13800000005,city,,\n"
                    "138 0000 0001,village,涧池镇/五一村,\n", encoding="utf-8")
    with session_scope() as s:
        report = subs.import_csv(s, path)
    assert (report.added, report.updated) == (2, 0)
    assert [(line, field) for line, field, _ in report.rejected] == [(4, "phone"), (5, "region"), (6, "level"),
                                                                      (7, "phone")]
    assert all("13900000003" not in reason and "13800000001" not in reason for *_, reason in report.rejected)
    with session_scope() as s:
        report = subs.import_csv(s, path)
        assert (report.added, report.updated) == (0, 2)
        rows = {r.phone_tail: r for r in s.scalars(select(SubscriberRow))}
        assert rows["0001"].topics == ["卫生", "教育"] and rows["0002"].region == "涧池镇"


def test_a_file_that_is_not_utf8_is_one_error_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "gbk.csv"
    path.write_bytes("phone,region\n13800000002,涧池镇\n".encode("gbk"))
    with session_scope() as s, pytest.raises(RecordError) as caught:
        subs.import_csv(s, path)
    assert "gbk.csv" in str(caught.value) and "UTF-8" in str(caught.value)


def test_opt_out_is_kept_across_reimports(tmp_path: Path) -> None:
    path = tmp_path / "subs.csv"
    path.write_text(f"phone\n{CANARY}\n", encoding="utf-8")
    with session_scope() as s:
        subs.import_csv(s, path)
        subs.opt_out(s, "138 0000 0001")
    with session_scope() as s:
        subs.import_csv(s, path)
        row = subs.find(s, CANARY)
        assert row is not None and row.opted_out_at is not None


def test_opting_out_an_unknown_number_names_it_masked() -> None:
    with session_scope() as s, pytest.raises(NotFound) as caught:
        subs.opt_out(s, CANARY)
    assert "13800000001" not in str(caught.value) and "0001" in str(caught.value)


def test_a_missing_or_bad_key_is_a_config_error_naming_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HUB_PHONE_KEY")
    with pytest.raises(ConfigError, match="HUB_PHONE_KEY"):
        subs.get_vault()
    monkeypatch.setenv("HUB_PHONE_KEY", "not-a-key")
    with pytest.raises(ConfigError, match="HUB_PHONE_KEY"):
        subs.get_vault()


def test_a_rotated_key_still_reads_old_rows_and_keeps_hashes(monkeypatch: pytest.MonkeyPatch, phone_key: str) -> None:
    with session_scope() as s:
        subs.upsert(s, CANARY)
    monkeypatch.setenv("HUB_PHONE_KEY", f"{Fernet.generate_key().decode()},{phone_key}")
    with session_scope() as s:
        row = subs.find(s, CANARY)
        assert row is not None and subs.get_vault().decrypt(row.phone_enc) == CANARY


def test_the_cli_imports_lists_masked_and_opts_out(tmp_path: Path) -> None:
    from hub.cli import _register, app

    _register()
    path = tmp_path / "subs.csv"
    path.write_text(f"phone,level,region\n{CANARY},township,涧池镇\nbad-number,county,\n", encoding="utf-8")
    runner = CliRunner()
    result = runner.invoke(app, ["subscribers", "import", str(path)])
    assert result.exit_code == 1, result.output
    assert "added 1" in result.output and "subs.csv:3: [phone]" in result.output
    listed = runner.invoke(app, ["subscribers", "list"])
    assert listed.exit_code == 0 and "+86*******0001" in listed.output and "13800000001" not in listed.output
    out = runner.invoke(app, ["subscribers", "optout", "13800000001"])
    assert out.exit_code == 0 and "+86*******0001" in out.output and "13800000001" not in out.output
    missing = runner.invoke(app, ["subscribers", "optout", "13800000009"])
    assert missing.exit_code == 2 and "13800000009" not in missing.output
