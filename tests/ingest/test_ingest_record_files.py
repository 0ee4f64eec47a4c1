"""Record files (TOML front matter + Markdown) and every kind of malformed input."""

from __future__ import annotations

from pathlib import Path

import pytest

import hub.ingest as ingest_mod
from hub.errors import RecordError
from hub.ingest import ingest_path, ingest_text
from hub.ingest.textio import MAX_BYTES, decode_text
from hub.record import Heading, ListBlock, Paragraph, Table
from hub.settings import PROJECT_ROOT

SAMPLES = PROJECT_ROOT / "samples"
GOOD = '+++\ntitle = "关于开展安全检查的通知"\nindex_no = "abc/2026-0001"\nwritten_on = 2026-11-20\n+++\n\n## 一、总则\n\n正文。\n'


def error_of(text: str | bytes, tmp_path: Path, name: str = "r.md") -> RecordError:
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    with pytest.raises(RecordError) as err:
        ingest_path(path)
    return err.value


def test_the_three_sample_record_files_ingest() -> None:
    [gs] = ingest_path(SAMPLES / "gongshi-zhengdi-buchang.md")
    [policy] = ingest_path(SAMPLES / "policy-zhengwu-gongkai-banfa.md")
    [jiedu] = ingest_path(SAMPLES / "jiedu-zhengwu-gongkai-banfa.md")
    assert gs.record.domain == "征地补偿" and gs.record.stage is not None and gs.record.stage.value == "结果"
    table = next(b for b in gs.record.body if isinstance(b, Table))
    assert table.header[2] == "身份证号码" and len(table.rows) == 3
    chapters = [b.number for b in policy.record.body if isinstance(b, Heading)]
    assert chapters == ["第一章", "第二章", "第三章", "第四章", "第五章"]
    articles = [b.text for b in policy.record.body if isinstance(b, Paragraph) and b.text.startswith("第")]
    assert len(articles) == 14
    assert any(isinstance(b, ListBlock) and b.ordered for b in policy.record.body)
    assert jiedu.record.interprets == policy.record.id
    questions = [b for b in jiedu.record.body if isinstance(b, Heading)]
    assert len(questions) == 7 and all(q.text.endswith("？") for q in questions)
    for item in (gs, policy, jiedu):
        assert item.warnings == []
        assert item.record.source is not None and item.record.source.kind == "file"


def test_an_id_is_derived_from_the_index_number_when_the_file_gives_none() -> None:
    [item] = ingest_text(GOOD, file="x.md")
    assert item.record.id == "abc-2026-0001"


def test_markdown_numbering_in_headings_and_plain_lines_is_kept() -> None:
    text = "+++\ntitle = \"t\"\n+++\n# 一、总则\n\n（一）适用范围\n\n1. 第一项\n2. 第二项\n\n| a | b |\n|---|---|\n| 1 | 2 |\n"
    [item] = ingest_text(text, file="x.md")
    body = item.record.body
    assert isinstance(body[0], Heading) and (body[0].level, body[0].number, body[0].text) == (1, "一、", "总则")
    assert isinstance(body[1], Heading) and (body[1].level, body[1].number) == (2, "（一）")
    assert isinstance(body[2], ListBlock) and body[2].items == ["第一项", "第二项"]
    assert isinstance(body[3], Table) and body[3].rows == [["1", "2"]]


def test_a_utf8_bom_and_crlf_line_ends_are_accepted(tmp_path: Path) -> None:
    plain, bom = tmp_path / "a.md", tmp_path / "b.md"
    plain.write_text(GOOD, encoding="utf-8")
    bom.write_bytes(b"\xef\xbb\xbf" + GOOD.replace("\n", "\r\n").encode("utf-8"))
    assert ingest_path(plain)[0].record.content() == ingest_path(bom)[0].record.content()


def test_a_gbk_file_is_reported_with_the_byte_offset_not_misdecoded(tmp_path: Path) -> None:
    # 通知 in GBK (cd a8 d6 aa) happens to be valid UTF-8; 索 (cb f7) is not: offset 5, line 2
    err = error_of(("通知\n索引号：abc\n").encode("gbk"), tmp_path, "gbk.txt")
    assert err.field == "encoding" and err.line == 2
    assert "byte offset 5" in err.message and "GBK" in err.message


def test_gbk_bytes_that_happen_to_be_valid_utf8_are_still_refused(tmp_path: Path) -> None:
    data = "通知".encode("gbk")
    assert data.decode("utf-8")  # valid UTF-8, but mojibake
    err = error_of(data, tmp_path, "gbk2.txt")
    assert err.field == "encoding" and "byte offset 0" in err.message and "GBK" in err.message


def test_invalid_utf8_names_the_offset_and_line_of_the_first_bad_byte(tmp_path: Path) -> None:
    good = "第一行\n第二行".encode()
    err = error_of(good + b"\xff" + b"rest", tmp_path, "bad.txt")
    assert f"byte offset {len(good)}" in err.message
    assert err.line == 2 and str(err).startswith(f"{tmp_path / 'bad.txt'}:2: [encoding]")


def test_the_bom_does_not_shift_the_reported_offset_of_a_bad_byte() -> None:
    with pytest.raises(RecordError) as err:
        decode_text(b"\xef\xbb\xbfab\xc3", file="f")
    assert "byte offset 5" in err.value.message


def test_truncated_front_matter_is_an_error(tmp_path: Path) -> None:
    err = error_of('+++\ntitle = "x"\nindex_no = "a"\n', tmp_path)
    assert (err.line, err.field) == (1, "front matter") and "not closed" in err.message


def test_an_unknown_field_is_named_with_its_line(tmp_path: Path) -> None:
    err = error_of('+++\ntitle = "x"\n\ntitel = "y"\n+++\n', tmp_path)
    assert (err.line, err.field, err.message) == (4, "titel", "unknown field")


def test_an_unknown_nested_field_is_named(tmp_path: Path) -> None:
    err = error_of('+++\ntitle = "x"\n[signature]\noffice = "a"\nseal = "b"\n+++\n', tmp_path)
    assert err.field == "signature.seal" and err.line == 5


def test_source_cannot_be_set_in_the_front_matter(tmp_path: Path) -> None:
    err = error_of('+++\ntitle = "x"\nsource = "y"\n+++\n', tmp_path)
    assert err.field == "source" and err.line == 3


@pytest.mark.parametrize(("line", "field"), [
    ('title = 5', "title"),
    ('addressees = "各镇人民政府"', "addressees"),
    ('written_on = 2026-11-20T10:00:00', "written_on"),
    ('level = "city"', "level"),
    ('disclosure = "公开"', "disclosure"),
    ('stage = "计划"', "stage"),
    ('id = "有中文"', "id"),
])
def test_wrong_types_name_the_field_and_line(line: str, field: str, tmp_path: Path) -> None:
    err = error_of(f'+++\ntitle = "x"\n{line}\n+++\n'.replace('title = "x"\ntitle = 5', "title = 5"), tmp_path)
    assert err.field == field
    assert err.line in (2, 3)


@pytest.mark.parametrize("value", ["2017-02-30", '"2017-02-30"'])
def test_an_impossible_date_names_the_field_and_line(value: str, tmp_path: Path) -> None:
    err = error_of(f'+++\ntitle = "x"\nwritten_on = {value}\n+++\n', tmp_path)
    assert (err.field, err.line) == ("written_on", 3)


def test_broken_toml_names_the_line(tmp_path: Path) -> None:
    err = error_of('+++\ntitle = "x"\nindex_no = "unterminated\n+++\n', tmp_path)
    assert err.line == 3 and err.field == "index_no"


def test_a_file_over_20_mb_is_rejected_before_it_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    big = tmp_path / "big.md"
    with big.open("wb") as fh:
        fh.truncate(MAX_BYTES + 1)  # sparse: no 20 MB written

    def must_not_read(*_a: object, **_k: object) -> None:
        raise AssertionError("the file was read")

    monkeypatch.setattr(Path, "open", must_not_read)
    monkeypatch.setattr(ingest_mod, "decode_text", must_not_read)
    with pytest.raises(RecordError) as err:
        ingest_path(big)
    assert "limit" in err.value.message and err.value.file == str(big)


def test_a_file_exactly_at_the_limit_is_read(tmp_path: Path) -> None:
    path = tmp_path / "ok.md"
    path.write_bytes(GOOD.encode())
    assert ingest_path(path, max_bytes=len(GOOD.encode()))
    with pytest.raises(RecordError):
        ingest_path(path, max_bytes=len(GOOD.encode()) - 1)


@pytest.mark.parametrize("data", [b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", b"PK\x03\x04\x14\x00", b"abc\x00def",
                                  bytes(range(256))])
def test_binary_data_is_refused(data: bytes, tmp_path: Path) -> None:
    err = error_of(data, tmp_path, "x.bin")
    assert err.field == "encoding"


def test_missing_files_and_directories_are_record_errors(tmp_path: Path) -> None:
    with pytest.raises(RecordError, match="not found"):
        ingest_path(tmp_path / "nope.md")
    with pytest.raises(RecordError, match="not a regular file"):
        ingest_path(tmp_path)


def test_an_empty_file_is_an_error(tmp_path: Path) -> None:
    assert "empty" in error_of("\n\n", tmp_path).message


def test_bad_input_on_the_command_line_is_one_line_and_exit_status_2(run_hub, tmp_path: Path) -> None:
    path = tmp_path / "r.md"
    path.write_text('+++\ntitle = "x"\nfoo = 1\n+++\n', encoding="utf-8")
    result = run_hub("ingest", str(path))
    assert result.exit_code == 2
    assert result.stderr == f"error: {path}:3: [foo] unknown field\n"
    assert "Traceback" not in result.output


def test_one_bad_file_among_several_stores_nothing(run_hub, tmp_path: Path, sample_path: Path) -> None:
    bad = tmp_path / "bad.md"
    bad.write_text('+++\ntitle = "x"\n', encoding="utf-8")
    assert run_hub("ingest", str(sample_path), str(bad)).exit_code == 2
    from hub.store import repo
    from hub.store.db import session_scope

    with session_scope() as session:
        assert repo.list_versions(session) == []


def test_numbering_warnings_in_record_files_name_the_file_line() -> None:
    text = '+++\ntitle = "t"\n+++\n\n## 一、总则\n\n## 一、适用范围\n\n## 三、附则\n'
    [item] = ingest_text(text, file="x.md")
    assert [w.split(":")[0] for w in item.warnings] == ["line 7", "line 9"]


def test_yaml_front_matter_is_refused_not_read_as_page_text(tmp_path: Path) -> None:
    """A Hugo-style `---` block is named as the wrong kind of front matter (exit 2), not ingested with title '---'."""
    f = tmp_path / "yaml.md"
    f.write_text("---\ntitle: 关于征地补偿的公示\nindex_no: x/2026-1\n---\n\n正文。\n", "utf-8")
    with pytest.raises(RecordError, match=r"\+\+\+") as info:
        ingest_path(f)
    assert info.value.line == 1 and info.value.file == str(f)
