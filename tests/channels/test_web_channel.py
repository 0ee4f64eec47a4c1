"""The web channel: the portal page, listings and feed written into the site directory as an idempotent upsert."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import update

from hub.channels.web import SITE_CSS, WebChannel
from hub.config import get_config
from hub.deliverables import DeliveryStatus, Rendition, Target
from hub.errors import Permanent
from hub.record import Paragraph, Record
from hub.renderers.base import ArtifactStore
from hub.renderers.context import build_context
from hub.renderers.web import render_web
from hub.settings import get_settings
from hub.store import repo
from hub.store.db import session_scope
from hub.store.models import VersionRow

TARGET = Target("web", "portal", "site", {})


def publish_version(record_id: str, title: str, body: str = "正文。") -> tuple[Rendition, str]:
    """Save and mark a version published (the workflow's job; here only the state matters), render its page."""
    record = Record(id=record_id, title=title, department="汉阴县人民政府办公室", domain="财政预决算",
                    body=[Paragraph(text=body)])  # type: ignore[call-arg]
    with session_scope() as s:
        row = repo.save_version(s, record, findings=[], warnings=[], actor="test")
        version = row.version
    rendition = render_web(record, build_context(record, version), ArtifactStore(get_settings().artifacts_dir))
    from hub.store.models import RenditionRow
    from hub.timeutil import utcnow

    with session_scope() as s:
        s.execute(update(VersionRow).where(VersionRow.version == version).values(state="published"))
        from hub.web import counts

        counts.published(s, s.get(VersionRow, version))  # as the workflow's publish transition does
        s.add(RenditionRow(version=version, kind="web", sha256=rendition.main.sha256, path=str(rendition.main.path),
                           bytes=rendition.main.bytes, data=rendition.to_json(), created_at=utcnow()))
    from tests_key import key_for

    return rendition, key_for(record_id, version, "web", "portal")


@pytest.fixture
def web() -> WebChannel:
    return WebChannel(get_config(), get_settings())


def test_the_page_listings_and_feed_land_in_the_site_directory(web: WebChannel) -> None:
    rendition, key = publish_version("hanyin-web-1", "关于2026年预算公开的通知")
    receipt = web.send(rendition, TARGET, key)
    site = get_settings().site_dir
    page = site / "records" / "hanyin-web-1" / "index.html"
    assert receipt.confirmed and receipt.provider_ref == "records/hanyin-web-1/index.html"
    assert page.read_bytes() == rendition.main.path.read_bytes()
    assert "关于2026年预算公开的通知" in (site / "index.html").read_text("utf-8")
    assert "hanyin-web-1" in (site / "feed.xml").read_text("utf-8")
    assert (site / "static" / "site.css").read_bytes() == SITE_CSS.read_bytes()  # the pages link it
    assert web.status(receipt, TARGET) == DeliveryStatus.DELIVERED


def test_a_second_record_appears_in_the_listing_beside_the_first(web: WebChannel) -> None:
    first, k1 = publish_version("hanyin-web-1", "第一条公开信息")
    web.send(first, TARGET, k1)
    second, k2 = publish_version("hanyin-web-2", "第二条公开信息")
    web.send(second, TARGET, k2)
    index = (get_settings().site_dir / "index.html").read_text("utf-8")
    assert "第一条公开信息" in index and "第二条公开信息" in index


def test_resending_is_a_no_op_that_leaves_the_files_untouched(web: WebChannel) -> None:
    rendition, key = publish_version("hanyin-web-1", "幂等测试")
    web.send(rendition, TARGET, key)
    page = get_settings().site_dir / "records" / "hanyin-web-1" / "index.html"
    before = page.stat().st_mtime_ns
    os.utime(page, ns=(before - 10**9, before - 10**9))
    web.send(rendition, TARGET, key)
    assert page.stat().st_mtime_ns == before - 10**9


def test_a_new_version_replaces_the_page_of_the_same_record(web: WebChannel) -> None:
    v1, k1 = publish_version("hanyin-web-1", "旧标题")
    web.send(v1, TARGET, k1)
    v2, k2 = publish_version("hanyin-web-1", "新标题", body="更正后的正文。")
    web.send(v2, TARGET, k2)
    page = (get_settings().site_dir / "records" / "hanyin-web-1" / "index.html").read_text("utf-8")
    assert "新标题" in page and "旧标题" not in page


def test_lookup_finds_the_page_only_when_its_hash_matches(web: WebChannel) -> None:
    rendition, key = publish_version("hanyin-web-1", "查找测试")
    assert web.lookup(TARGET, key) is None
    web.send(rendition, TARGET, key)
    assert web.lookup(TARGET, key) is not None
    page = get_settings().site_dir / "records" / "hanyin-web-1" / "index.html"
    page.write_text("tampered", "utf-8")
    assert web.lookup(TARGET, key) is None


@pytest.mark.parametrize("path", ["../outside.html", "/etc/passwd", "records/../../x.html", "a\x00b.html"])
def test_a_site_path_that_escapes_the_site_directory_is_refused(web: WebChannel, path: str, tmp_path: Path) -> None:
    rendition, key = publish_version("hanyin-web-1", "路径测试")
    bad = Rendition(rendition.kind, rendition.record_id, rendition.version, rendition.main,
                    facts={**rendition.facts, "site_path": path})
    with pytest.raises(Permanent):
        web.send(bad, TARGET, key)
    assert not (get_settings().site_dir.parent / "outside.html").exists()


def test_site_files_are_world_readable_for_a_plain_web_server(tmp_path: Path) -> None:
    """var/site is served by a web server running as another user: written files are 0644, not mkstemp's 0600."""
    from hub.channels.files import write_atomic

    page = tmp_path / "records" / "r" / "index.html"
    write_atomic(page, b"<html></html>")
    assert page.stat().st_mode & 0o777 == 0o644
