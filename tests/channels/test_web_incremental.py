"""The incremental portal: a first publication writes only its pages; listings are paginated, older pages stable."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import update
from test_web_channel import TARGET, publish_version

from hub.channels.web import WebChannel
from hub.config import get_config
from hub.renderers.web import PAGE_SIZE, SiteEntry
from hub.settings import get_settings
from hub.store.db import session_scope
from hub.store.models import VersionRow


@pytest.fixture
def web() -> WebChannel:
    return WebChannel(get_config(), get_settings())


def site() -> Path:
    return get_settings().site_dir


def snapshot() -> dict[str, bytes]:
    return {p.relative_to(site()).as_posix(): p.read_bytes() for p in site().rglob("*") if p.is_file()}


def publish_n(web: WebChannel, n: int, start: int = 0) -> None:
    for i in range(start, start + n):
        rendition, key = publish_version(f"hanyin-inc-{i:03d}", f"第{i:03d}号公开信息")
        web.send(rendition, TARGET, key)


def test_listings_show_twenty_newest_and_the_older_ones_on_archive_pages_numbered_from_the_oldest(
        web: WebChannel) -> None:
    publish_n(web, PAGE_SIZE * 2 + 3)
    index = (site() / "index.html").read_text("utf-8")
    assert "第042号" in index and "第023号" in index and "第022号" not in index
    assert 'href="/archive/2.html"' in index
    first, second = (site() / "archive/1.html").read_text("utf-8"), (site() / "archive/2.html").read_text("utf-8")
    assert "第000号" in first and "第019号" in first and "第020号" not in first
    assert "第020号" in second and "第039号" in second and 'href="/archive/1.html"' in second
    assert not (site() / "archive/3.html").exists()
    domain = (site() / "domain/财政预决算.html").read_text("utf-8")
    assert domain.count("号公开信息</a>") == PAGE_SIZE and (site() / "domain/财政预决算/2.html").is_file()


def test_a_new_publication_rewrites_only_its_page_the_first_pages_of_its_listings_and_the_feed(
        web: WebChannel) -> None:
    publish_n(web, PAGE_SIZE + 1)
    before = snapshot()
    stamp = {rel: os.stat(site() / rel).st_mtime_ns for rel in before}
    publish_n(web, 1, start=PAGE_SIZE + 1)
    after = snapshot()
    changed = {rel for rel in after if before.get(rel) != after[rel]}
    assert changed == {"records/hanyin-inc-021/index.html", "index.html", "domain/财政预决算.html",
                       "level/county.html", "feed.xml"}
    assert all(os.stat(site() / rel).st_mtime_ns == stamp[rel] for rel in before if rel not in changed)


def test_a_publication_reads_a_page_of_rows_not_every_published_record(
        web: WebChannel, monkeypatch: pytest.MonkeyPatch) -> None:
    """With 150 records published, the 151st reads at most one page per listing plus the feed's rows."""
    publish_n(web, 1)
    with session_scope() as s:  # 149 more published copies of the first record's web rendition (fast to make)
        from hub.store.models import RenditionRow

        row = s.query(RenditionRow).one()
        for i in range(1, 150):
            _clone(s, row, i)
    parsed: list[str] = []
    original = SiteEntry.from_json.__func__  # type: ignore[attr-defined]

    def counting(cls: type[SiteEntry], data: dict[str, object]) -> SiteEntry:
        parsed.append(str(data.get("record_id")))
        return original(cls, data)  # type: ignore[no-any-return]

    monkeypatch.setattr(SiteEntry, "from_json", classmethod(counting))
    publish_n(web, 1, start=150)
    assert 0 < len(parsed) <= 4 * PAGE_SIZE + 50 + 1 < 150


def _clone(s: object, row: object, i: int) -> None:
    from sqlalchemy.orm import Session

    from hub.store.models import RecordRow, RenditionRow

    assert isinstance(s, Session) and isinstance(row, RenditionRow)
    version = s.get(VersionRow, row.version)
    assert version is not None
    rid, vid = f"hanyin-clone-{i:03d}", f"{i:064d}"
    s.add(RecordRow(id=rid, created_at=version.created_at, updated_at=version.created_at))
    s.flush()
    s.add(VersionRow(version=vid, record_id=rid, content=version.content, source=None, state="published",
                     title=f"副本{i}", index_no=None, department=version.department, stage=version.stage,
                     domain=version.domain, level=version.level, warnings=[], created_at=version.created_at))
    s.flush()
    entry = {**row.data["facts"]["entry"], "record_id": rid, "version": vid, "title": f"副本{i}"}
    s.add(RenditionRow(version=vid, kind="web", sha256=row.sha256, path=row.path, bytes=row.bytes,
                       data={**row.data, "facts": {**row.data["facts"], "entry": entry}}, created_at=row.created_at))
    s.execute(update(VersionRow).where(VersionRow.version == vid).values(state="published"))
    from hub.web import counts

    counts.published(s, s.get(VersionRow, vid))


def test_a_correction_moves_the_record_to_the_top_and_rewrites_the_archive_pages_it_reorders(web: WebChannel) -> None:
    publish_n(web, PAGE_SIZE + 1)
    assert "第000号" in (site() / "archive/1.html").read_text("utf-8")
    rendition, key = publish_version("hanyin-inc-000", "第000号公开信息（更正）")
    web.send(rendition, TARGET, key)
    index = (site() / "index.html").read_text("utf-8")
    assert index.index("第000号公开信息（更正）") < index.index("第020号")
    archive = (site() / "archive/1.html").read_text("utf-8")
    assert "第000号" not in archive and "第001号" in archive and "第020号" in archive


def withdraw_record(web: WebChannel, record_id: str) -> None:
    """Mark the record's version withdrawn as the workflow does and run the web channel's withdrawal step."""
    from hub.deliverables import Receipt
    from hub.store.models import DeliveryRow, WorkflowEventRow
    from hub.timeutil import utcnow

    now = utcnow()
    key = f"withdraw-{record_id}"
    with session_scope() as s:
        version = s.query(VersionRow).filter(VersionRow.record_id == record_id).one().version
        s.execute(update(VersionRow).where(VersionRow.version == version).values(state="withdrawn"))
        from hub.web import counts

        counts.withdrawn(s, s.get(VersionRow, version))
        s.add(WorkflowEventRow(version=version, from_state="published", to_state="withdrawn", actor="office",
                               comment="数据有误", at=now))
        s.add(DeliveryRow(record_id=record_id, version=version, channel="web", target="portal",
                          idempotency_key=key, state="queued", purpose="withdraw", created_at=now, updated_at=now))
    receipt = Receipt(provider_ref=f"records/{record_id}/index.html", accepted_at=now, confirmed=True, raw={})
    web.withdraw(receipt, TARGET, key)


def test_a_withdrawal_leaves_the_notice_at_the_page_shifts_the_archive_and_leaves_a_tombstone_in_the_feed(
        web: WebChannel) -> None:
    publish_n(web, PAGE_SIZE + 1)
    assert "第005号" in (site() / "archive/1.html").read_text("utf-8")
    withdraw_record(web, "hanyin-inc-005")
    page = (site() / "records" / "hanyin-inc-005" / "index.html").read_text("utf-8")
    assert "该信息已撤回" in page and "《第005号公开信息》已于" in page and "正文。" not in page
    assert [p.name for p in (site() / "records" / "hanyin-inc-005").iterdir()] == ["index.html"]
    assert "第005号" not in (site() / "index.html").read_text("utf-8")
    archive = (site() / "archive/1.html").read_text("utf-8")  # the 20 left make one full block: it shifted
    assert "第005号" not in archive and "第020号" in archive
    feed = (site() / "feed.xml").read_text("utf-8")
    assert '<at:deleted-entry ref="http://' in feed and "/records/hanyin-inc-005" in feed


def test_an_archive_page_a_listing_no_longer_fills_is_removed(web: WebChannel) -> None:
    publish_n(web, PAGE_SIZE)
    assert (site() / "archive/1.html").is_file() and (site() / "domain/财政预决算/1.html").is_file()
    withdraw_record(web, "hanyin-inc-003")
    assert not (site() / "archive/1.html").exists() and not (site() / "domain/财政预决算/1.html").exists()
    assert (site() / "domain/财政预决算.html").is_file()


def test_a_withdrawal_rewrites_only_the_pages_from_the_records_place_on(web: WebChannel) -> None:
    """Withdrawing the 45th of 63 changes its page, the first pages, archive page 3 (now full) and the feed;
    archive pages 1 and 2 (older entries) keep their bytes and their files."""
    publish_n(web, PAGE_SIZE * 3 + 3)
    before = snapshot()
    stamp = {rel: os.stat(site() / rel).st_mtime_ns for rel in before}
    withdraw_record(web, "hanyin-inc-044")
    after = snapshot()
    changed = {rel for rel in after if before.get(rel) != after[rel]}
    assert changed == {"records/hanyin-inc-044/index.html", "index.html", "domain/财政预决算.html",
                       "level/county.html", "archive/3.html", "domain/财政预决算/3.html", "level/county/3.html",
                       "feed.xml"}
    assert all(os.stat(site() / rel).st_mtime_ns == stamp[rel] for rel in before if rel not in changed)
    third = (site() / "archive/3.html").read_text("utf-8")
    assert "第044号" not in third and "第040号" in third and "第060号" in third


def test_withdrawing_the_only_record_of_a_full_page_removes_the_archive_page_it_no_longer_fills(
        web: WebChannel) -> None:
    publish_n(web, PAGE_SIZE * 2)
    withdraw_record(web, "hanyin-inc-039")
    assert (site() / "archive/1.html").is_file() and not (site() / "archive/2.html").exists()
    assert "第039号" not in (site() / "index.html").read_text("utf-8")
