"""The record model: hashing, time normalisation and validation."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from hub.record import Heading, Paragraph, Record, Stage


def make(**kw: object) -> Record:
    base: dict[str, object] = {"id": "r-1", "title": "关于做好征地补偿公示的通知"}
    base.update(kw)
    return Record.model_validate(base)


def test_same_content_has_the_same_version_and_an_edit_a_new_one() -> None:
    a, b = make(), make()
    assert a.version_hash() == b.version_hash()
    assert make(title="关于做好征地补偿公示的通知（更正）").version_hash() != a.version_hash()


def test_source_is_not_part_of_the_content_hash() -> None:
    plain = make()
    with_source = make(source={"kind": "file", "uri": "/tmp/x.md"})
    assert plain.version_hash() == with_source.version_hash()


def test_published_at_is_stored_in_utc_and_naive_means_beijing_time() -> None:
    aware = make(published_at="2017-11-15T14:52:00+08:00")
    naive = make(published_at="2017-11-15T14:52:00")
    assert aware.published_at == datetime(2017, 11, 15, 6, 52, tzinfo=UTC)
    assert naive.published_at == aware.published_at
    assert aware.version_hash() == naive.version_hash()


def test_canonical_json_is_real_utf8_with_sorted_keys() -> None:
    text = make(stage="决策").canonical_json()
    assert "决策" in text and "\\u" not in text
    assert text.index('"id"') < text.index('"title"')


def test_unknown_fields_and_bad_ids_are_rejected() -> None:
    with pytest.raises(ValidationError):
        make(colour="red")
    with pytest.raises(ValidationError):
        make(id="../etc/passwd")


def test_body_text_keeps_heading_numbers() -> None:
    r = make(body=[Heading(level=1, number="一、", text="指导思想"), Paragraph(text="正文")], stage=Stage.DECISION)
    assert r.body_text() == ["一、指导思想", "正文"]
