"""The store on SQLite and PostgreSQL: versions by hash, dedupe, current version, lookups, listing, JSON."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy import func, select
from storekit import CheckFinding, make_record

from hub.errors import NotFound
from hub.record import Level, Record, Source, Stage
from hub.store import repo
from hub.store.db import get_engine, session_scope
from hub.store.models import AuditRow, FindingRow, RecordRow, VersionRow, WorkflowEventRow

PHONE = CheckFinding("mobile", 12, 7, "138****5678", "138****5678", True)
WORD = CheckFinding("word", 3, 1, "贫困户", "困难群众", False)


def count(session: sa.orm.Session, model: type) -> int:
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_a_saved_record_comes_back_equal_with_its_hash_as_version(db_url: str, record: Record) -> None:
    with session_scope(db_url) as s:
        row = repo.save_version(s, record, findings=[PHONE], warnings=["两个“二、”"], actor="author")
        assert row.version == record.version_hash()
        assert row.state == "draft" and row.created_by == "author"
    with session_scope(db_url) as s:
        got, rebuilt = repo.get_version(s, record.id)
        assert got.version == record.version_hash()
        assert rebuilt == record  # source included, though not hashed
        assert rebuilt.version_hash() == got.version
        assert got.warnings == ["两个“二、”"]


def test_saving_the_same_content_again_returns_the_existing_row_and_adds_nothing(
    db_url: str, record: Record
) -> None:
    with session_scope(db_url) as s:
        first = repo.save_version(s, record, findings=[PHONE], warnings=[], actor="author")
    with session_scope(db_url) as s:
        before = {m: count(s, m) for m in (RecordRow, VersionRow, FindingRow, AuditRow, WorkflowEventRow)}
        # same content from another place: source is not part of the hash
        again = repo.save_version(
            s,
            record.model_copy(update={"source": Source(kind="page", uri="http://www.hanyin.gov.cn/x")}),
            findings=[PHONE, WORD],
            warnings=["other"],
            actor="someone-else",
        )
        assert again.version == first.version
        assert again.created_by == "author"
        after = {m: count(s, m) for m in before}
    assert after == before


def test_new_content_of_a_known_record_is_a_new_draft_that_becomes_current(db_url: str, record: Record) -> None:
    with session_scope(db_url) as s:
        v1 = repo.save_version(s, record, findings=[], warnings=[], actor="author")
        s.execute(sa.update(VersionRow).where(VersionRow.version == v1.version).values(state="rejected"))
    edited = record.model_copy(update={"title": record.title + "(修订)"})
    with session_scope(db_url) as s:
        v2 = repo.save_version(s, edited, findings=[], warnings=[], actor="author")
        assert v2.version != v1.version and v2.state == "draft"
    with session_scope(db_url) as s:
        assert s.get(RecordRow, record.id).current_version == v2.version  # type: ignore[union-attr]
        assert count(s, RecordRow) == 1
        assert [v.version for v in repo.versions_of(s, record.id)] == [v1.version, v2.version]
        old, old_record = repo.get_version(s, v1.version)
        assert old.state == "rejected" and old_record.title == record.title
        current, current_record = repo.get_version(s, record.id)
        assert current.version == v2.version and current_record.title.endswith("(修订)")
        # back to the first content: the same old row, and it is current again
        back = repo.save_version(s, record, findings=[], warnings=[], actor="author")
        assert back.version == v1.version
        assert s.get(RecordRow, record.id).current_version == v1.version  # type: ignore[union-attr]


def test_a_version_is_found_by_record_id_full_hash_or_a_unique_prefix_of_eight(db_url: str, record: Record) -> None:
    with session_scope(db_url) as s:
        row = repo.save_version(s, record, findings=[], warnings=[], actor="author")
        full = row.version
    with session_scope(db_url) as s:
        for ref in (record.id, full, full[:8], full[:12], full.upper()[:10], f"  {full[:9]} "):
            assert repo.get_version(s, ref)[0].version == full, ref
        for ref in (full[:7], "0" * 64, "no-such-record", "", "zzzzzzzz"):
            with pytest.raises(NotFound):
                repo.get_version(s, ref)


def test_an_ambiguous_prefix_is_not_found_and_says_so(db_url: str, record: Record) -> None:
    with session_scope(db_url) as s:
        row = repo.save_version(s, record, findings=[], warnings=[], actor="author")
        # a second version sharing the first 10 hex digits (real hashes collide on short prefixes at scale)
        twin = row.version[:10] + ("0" if row.version[10] != "0" else "1") + row.version[11:]
        s.add(
            VersionRow(
                version=twin, record_id=record.id, content=row.content, source=None, state="draft",
                title=row.title, level="county", warnings=[], created_at=row.created_at,
            )
        )
    with session_scope(db_url) as s:
        with pytest.raises(NotFound, match="ambiguous"):
            repo.get_version(s, row.version[:10])
        assert repo.get_version(s, row.version[:11])[0].version == row.version


def test_findings_are_stored_once_with_their_version_in_check_order(db_url: str, record: Record) -> None:
    with session_scope(db_url) as s:
        row = repo.save_version(s, record, findings=[PHONE, WORD], warnings=[], actor="author")
    with session_scope(db_url) as s:
        stored = repo.findings_of(s, row.version)
        assert [(f.kind, f.line, f.column, f.excerpt, f.suggestion, f.blocking) for f in stored] == [
            ("mobile", 12, 7, "138****5678", "138****5678", True),
            ("word", 3, 1, "贫困户", "困难群众", False),
        ]
        assert all(f.waived_by is None for f in stored)
        assert repo.findings_of(s, record.id) == stored


def test_a_feed_entry_from_a_known_source_lands_on_the_same_record(db_url: str) -> None:
    key = "https://www.hanyin.gov.cn/feed#guid-42"
    with session_scope(db_url) as s:
        first = repo.save_version(s, make_record("feed-42"), findings=[], warnings=[], actor="feed", source_key=key)
    with session_scope(db_url) as s:
        # the feed changed the title, and whoever derived the id derived another one
        second = repo.save_version(
            s, make_record("feed-42b", title="更新后的标题"), findings=[], warnings=[], actor="feed", source_key=key
        )
        assert second.record_id == "feed-42" and second.version != first.version
        assert count(s, RecordRow) == 1
        assert repo.get_version(s, "feed-42")[1].title == "更新后的标题"
        assert repo.get_version(s, "feed-42")[1].id == "feed-42"
        with pytest.raises(NotFound):
            repo.get_version(s, "feed-42b")


def test_timestamps_round_trip_as_aware_utc(db_url: str) -> None:
    shanghai_afternoon = datetime(2017, 11, 15, 14, 52)  # naive: Beijing time
    with session_scope(db_url) as s:
        repo.save_version(s, make_record(published_at=shanghai_afternoon), findings=[], warnings=[], actor="a")
    with session_scope(db_url) as s:
        row, rec = repo.get_version(s, "hanyin-2017-168")
        assert row.published_at == datetime(2017, 11, 15, 6, 52, tzinfo=UTC)
        assert row.published_at.utcoffset() == timedelta(0)  # type: ignore[union-attr]
        assert rec.published_at == datetime(2017, 11, 15, 6, 52, tzinfo=UTC)
        assert row.created_at.tzinfo is not None and row.created_at.utcoffset() == timedelta(0)
        assert abs(datetime.now(UTC) - row.created_at) < timedelta(minutes=1)
        assert repo.record_to_json(row, rec)["published_at"] == "2017-11-15T14:52:00+08:00"
    # what the database holds is the UTC instant (naive UTC on SQLite, timestamptz on PostgreSQL)
    with get_engine(db_url).connect() as conn:
        raw = conn.execute(sa.text("select published_at from record_versions")).scalar_one()
    if isinstance(raw, str):
        assert raw.startswith("2017-11-15 06:52:00")
    else:
        assert raw == datetime(2017, 11, 15, 6, 52, tzinfo=UTC)


def test_listing_filters_by_every_field_and_shows_newest_first(db_url: str) -> None:
    with session_scope(db_url) as s:
        repo.save_version(s, make_record("a"), findings=[], warnings=[], actor="x")
        repo.save_version(
            s,
            make_record("b", department="汉阴县财政局", stage=Stage.RESULT, domain="财政预决算",
                        level=Level.TOWNSHIP, region="城关镇"),
            findings=[], warnings=[], actor="x",
        )
        repo.save_version(s, make_record("a", title="第二版"), findings=[], warnings=[], actor="x")
        s.execute(sa.update(VersionRow).where(VersionRow.record_id == "b").values(state="in_review"))

    def ids(**kw: object) -> list[tuple[str, str]]:
        with session_scope(db_url) as s:
            return [(v.record_id, v.title[:3]) for v in repo.list_versions(s, **kw)]  # type: ignore[arg-type]

    assert ids() == [("a", "第二版"), ("b", "汉阴县"), ("a", "汉阴县")]
    assert ids(current_only=True) == [("a", "第二版"), ("b", "汉阴县")]
    assert ids(limit=1) == [("a", "第二版")]
    assert ids(state="in_review") == [("b", "汉阴县")]
    assert ids(department="汉阴县财政局") == [("b", "汉阴县")]
    assert ids(stage="结果") == ids(domain="财政预决算") == ids(level="township") == ids(region="城关镇")
    assert ids(stage="结果") == [("b", "汉阴县")]
    assert ids(stage="决策", current_only=True) == [("a", "第二版")]
    assert ids(state="published") == []


def test_the_json_shape_carries_every_field_of_the_contract(db_url: str, record: Record) -> None:
    with session_scope(db_url) as s:
        repo.save_version(s, record, findings=[PHONE], warnings=["w1"], actor="author")
    with session_scope(db_url) as s:
        row, rec = repo.get_version(s, record.id)
        out = repo.record_to_json(row, rec)
    with pytest.raises(ValueError, match="detached"):
        repo.record_to_json(row, rec)  # the session is closed: findings must be passed, never guessed empty
    assert repo.record_to_json(row, rec, findings=[PHONE])["findings"][0]["kind"] == "mobile"
    required = {
        "id", "version", "title", "index_no", "doc_no", "department", "catalog", "disclosure", "written_on",
        "published_at", "validity", "stage", "domain", "level", "region", "addressees", "signature", "blocks",
        "warnings", "findings", "state",
    }
    assert required <= out.keys()
    assert out["version"] == record.version_hash()
    assert out["index_no"] == "xzfgzbmzfb/2017-0168"
    assert out["doc_no"] == "汉政办通字〔2017〕168号"
    assert out["disclosure"] == "主动公开"
    assert out["written_on"] == "2017-11-15"
    assert out["published_at"] == "2017-11-15T14:52:00+08:00"
    assert out["stage"] == "决策" and out["level"] == "county"
    assert out["addressees"] == ["各镇人民政府", "县政府各工作部门、直属机构"]
    assert out["signature"] == {"office": "汉阴县人民政府办公室", "date": "2017-11-15"}
    assert out["blocks"] == 1 and out["warnings"] == ["w1"] and out["state"] == "draft"
    [finding] = out["findings"]
    assert finding["kind"] == "mobile" and finding["blocking"] is True and finding["waived_by"] is None
    assert isinstance(finding["id"], int)


def test_two_writers_saving_the_same_content_at_once_store_one_version(db_url: str, record: Record) -> None:
    with session_scope(db_url):
        pass  # migrate before the race
    barrier = threading.Barrier(4)
    versions: list[str] = []
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            barrier.wait(timeout=10)
            with session_scope(db_url) as s:
                versions.append(repo.save_version(s, record, findings=[PHONE], warnings=[], actor="a").version)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not errors, errors
    assert versions == [record.version_hash()] * 4
    with session_scope(db_url) as s:
        assert count(s, VersionRow) == 1 and count(s, RecordRow) == 1
        assert count(s, FindingRow) == 1
        assert len(repo.audit_rows(s, action="record.save")) == 1
