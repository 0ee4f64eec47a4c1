"""The portal: writes the record's page, the listings and the Atom feed into ``settings.site_dir``.

Delivery is an idempotent upsert by record id: every file is written through a
temp file and ``os.replace`` (a reader never sees half a page), a file whose
bytes are already there is left alone, and files an older version of the same
record wrote under ``records/<id>/`` but the new one does not are removed. A
manifest per record (``var/state/web/<record_id>.json``, outside the served
tree) remembers what was written, with hashes: ``lookup`` is "the page exists
with the same hash".

What is written: the web rendition's main page at ``facts["site_path"]``
(default ``records/<id>/index.html``), its other files under ``records/<id>/``,
and the site around it: listings by stage, domain and level and ``index.html``
(``PAGE_SIZE`` newest per first page, older ones on archive pages numbered from
the oldest) and ``feed.xml``. A publication, a correction and a withdrawal rewrite
only the pages they change (``changed_files``): the first page of each listing the
record is or was in, the archive pages from the record's place on (a publication
lands on top, so at most the archive page it completes; a correction or withdrawal
of an older record shifts the entries after it by one), the feed. Listing sizes come
from the workflow's kept counts (``hub.web.counts``), rows from one indexed read of the
entries newer than the record's place (``hub.web.queries``), so the cost does not grow
with the number of published records. A withdrawn record's page becomes the withdrawal
notice (该信息已撤回, as the live portal's 410 page); it leaves the listings and stays in
the feed as a tombstone. A corrected record's page carries the 更正说明 (rendered in,
``hub.renderers.service.correction_of``). ``site_files`` still builds the whole site
(a reference for the benchmark). Every path is confined to the site directory (F18).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.channels.base import ChannelBase, LinkUse
from hub.channels.boundary import artifact_file, typed_errors
from hub.channels.files import confined, safe_id, same_file, write_atomic
from hub.channels.notices import with_tombstones, withdrawal_notice, withdrawn_records
from hub.channels.sessions import SessionFactory, scope
from hub.config import HubConfig
from hub.deliverables import Artifact, DeliveryStatus, Receipt, Rendition, Target
from hub.errors import Permanent, Retryable
from hub.renderers.web import (
    FEED_SIZE,
    INDEX,
    PAGE_SIZE,
    Counts,
    Listing,
    SiteEntry,
    archive_page,
    feed_xml,
    first_page,
    listings_of,
    site_pages,
)
from hub.settings import Settings
from hub.store.models import DeliveryRow, RenditionRow, VersionRow
from hub.timeutil import utcnow

#: The portal's stylesheet (hub/web/static), copied beside the static pages.
SITE_CSS = Path(__file__).resolve().parents[1] / "web" / "static" / "site.css"


def _entries_of(s: Session, versions: list[str]) -> list[SiteEntry]:
    """The site entries of these versions' web renditions, in the order given (versions without one are skipped)."""
    data: dict[str, Any] = {}
    for chunk in range(0, len(versions), 500):
        data.update(s.execute(select(RenditionRow.version, RenditionRow.data)
                              .where(RenditionRow.kind == "web", RenditionRow.version.in_(versions[chunk:chunk + 500])))
                    .tuples().all())
    out: list[SiteEntry] = []
    for version in versions:
        entry = ((data.get(version) or {}).get("facts") or {}).get("entry")
        if entry:
            out.append(SiteEntry.from_json(entry))
    return out


def _counts(s: Session) -> Counts:
    """Published records per stage, domain and level (the index page's facets): the workflow's kept counts."""
    from hub.web import counts

    kept = counts.read(s)
    return {field: kept[field] for field in ("stage", "domain", "level")}


def _listings_of(row: VersionRow) -> list[Listing]:
    """The listings a version appears in, from its own columns (no rendition needed)."""
    return listings_of(SiteEntry(record_id=row.record_id, version=row.version, title="", url="", published="",
                                 stage=row.stage, domain=row.domain, level=row.level, department=None, summary=""))


def _filters(listing: Listing) -> dict[str, str | None]:
    return {"stage": None, "domain": None, "level": None, **({listing.field: listing.value} if listing.field else {})}


class WebChannel(ChannelBase):
    """The ``web`` channel (see the module docstring)."""

    name: ClassVar[str] = "web"
    idempotent_upsert: ClassVar[bool] = True
    can_lookup: ClassVar[bool] = True
    rendition_kind: ClassVar[str] = "web"
    label: ClassVar[str] = "政府网站"
    links: ClassVar[LinkUse] = LinkUse.LINK

    def __init__(self, config: HubConfig, settings: Settings, *, session_factory: SessionFactory | None = None) -> None:
        self.config, self.settings = config, settings
        self._sessions = session_factory

    @property
    def root(self) -> Path:
        return self.settings.site_dir

    def _manifest_path(self, record_id: str) -> Path:
        return self.settings.var_dir / "state" / "web" / f"{safe_id(record_id, what='web')}.json"

    def plan(self, rendition: Rendition) -> dict[str, Artifact]:
        """Site-relative path → artifact for the record's own files (page first)."""
        record_id = safe_id(rendition.record_id, what="web")
        out: dict[str, Artifact] = {str(rendition.facts.get("site_path") or f"records/{record_id}/index.html"):
                                    rendition.main}
        for role, artifact in rendition.files.items():
            out[f"records/{record_id}/{role}"] = artifact
        for rel in out:
            confined(self.root, rel, what="web")
        return out

    def site_files(self, *, without: str | None = None) -> dict[str, bytes]:
        """The whole site's listings and feed over every published record, in the portal's order.

        Used when a correction or a withdrawal reorders listings (``without``: the record being withdrawn,
        in case its versions are still marked published); a first publication uses ``changed_files``.
        """
        from hub.web import queries

        with scope(self._sessions) as s:
            rows = queries.published(s, limit=10**9)
            ordered = _entries_of(s, [r.version for r in rows if r.record_id != without])
            counts = _counts(s) if without is None else None
        files = {"static/site.css": SITE_CSS.read_bytes()}
        files.update(site_pages(ordered, public_url=self.settings.public_url, site_name=self.config.portal.site_name,
                                counts=counts))
        files["feed.xml"] = self._with_tombstones(files["feed.xml"])
        return files

    def changed_files(self, record_id: str) -> tuple[dict[str, bytes], list[str]]:
        """The pages a publication, correction or withdrawal of ``record_id`` changes, and archive pages to remove.

        For each listing any published or withdrawn version of the record appears in: the first page, and
        the archive pages from the oldest block whose entries moved to the newest block (the record left
        or entered the listing at its place in the portal's order, shifting every later entry by one). The
        rows come from one indexed read of the entries newer than that place, the listing's size from the
        workflow's kept counts, so a publication (the record lands on top) reads one page per listing and
        a withdrawal or correction reads the entries after the record's old place, never the whole site.
        Plus the feed (newest ``FEED_SIZE`` and the tombstones).
        """
        from hub.web import counts, queries

        site_name = self.config.portal.site_name
        files = {"static/site.css": SITE_CSS.read_bytes()}
        remove: list[str] = []
        with scope(self._sessions) as s:
            kept = counts.read(s)
            facets: Counts = {field: kept[field] for field in ("stage", "domain", "level")}
            exact = not queries.scheduled_versions(s)  # kept counts include versions waiting for 定时; listings not
            versions = list(s.scalars(select(VersionRow).where(VersionRow.record_id == record_id,
                                                               VersionRow.state.in_(("published", "withdrawn")))))
            listings: dict[str, Listing] = {}
            for row in versions:
                listings.update((lst.path, lst) for lst in _listings_of(row))
            for listing in listings.values():
                filters = _filters(listing)
                if not exact:
                    total = queries.count_published(s, **filters)
                elif listing.field is None:
                    total = kept[counts.ALL].get("", 0)
                else:
                    total = facets[listing.field].get(listing.value or "", 0)
                mine = [r for r in versions if listing.field is None or getattr(r, listing.field) == listing.value]
                oldest = min(queries.listing_key(r) for r in mine)
                present = any(r.state == "published" for r in mine)
                newer = queries.count_newer(s, oldest, exclude=record_id, **filters)
                unmoved = max(0, total - int(present) - newer)  # the oldest entries, which keep their places
                first_block = unmoved // PAGE_SIZE + 1
                full = total // PAGE_SIZE
                wanted = max(PAGE_SIZE, total - (first_block - 1) * PAGE_SIZE) if first_block <= full else PAGE_SIZE
                rows = [r.version for r in queries.published(s, limit=wanted, stage=filters["stage"],
                                                             domain=filters["domain"], level=filters["level"])]
                entries = {e.version: e for e in _entries_of(s, rows)}
                files[listing.path] = first_page(listing, [entries[v] for v in rows[:PAGE_SIZE] if v in entries],
                                                 total, site_name=site_name, counts=facets if listing is INDEX else None)
                for k in range(first_block, full + 1):  # block k: positions (k-1)*PAGE_SIZE+1 .. k*PAGE_SIZE
                    block = rows[max(0, total - k * PAGE_SIZE):total - (k - 1) * PAGE_SIZE]  # newest first
                    files[listing.archive_page(k)] = archive_page(listing, k, [entries[v] for v in block[::-1]
                                                                               if v in entries], site_name=site_name)
                k = full + 1
                while confined(self.root, listing.archive_page(k), what="web").is_file():
                    remove.append(listing.archive_page(k))
                    k += 1
            feed = _entries_of(s, [r.version for r in queries.published(s, limit=FEED_SIZE)])
        files["feed.xml"] = self._with_tombstones(feed_xml(feed, public_url=self.settings.public_url,
                                                           site_name=site_name, ordered=True))
        return files, remove

    def _with_tombstones(self, feed: bytes) -> bytes:
        """Withdrawn records stay in the feed as RFC 6721 tombstones, so readers drop them."""
        base = self.settings.public_url
        return with_tombstones(feed, [(f"{base}/records/{w.record_id}", w.at)
                                      for w in withdrawn_records(self._sessions)])

    def _write_changed(self, files: dict[str, bytes]) -> None:
        for rel, data in files.items():
            dest = confined(self.root, rel, what="web")
            if not (dest.is_file() and dest.read_bytes() == data):
                write_atomic(dest, data)

    def _update_site(self, record_id: str) -> None:
        """Write the pages a change of ``record_id`` changes (bytes that differ only) and drop emptied archive pages."""
        files, remove = self.changed_files(record_id)
        self._write_changed(files)
        for rel in remove:
            confined(self.root, rel, what="web").unlink(missing_ok=True)

    @typed_errors("web")
    def send(self, rendition: Rendition, target: Target, key: str) -> Receipt:
        plan = self.plan(rendition)
        record_id = rendition.record_id
        manifest_path = self._manifest_path(record_id)
        old = self._read_manifest(manifest_path)
        try:
            for rel, artifact in plan.items():
                dest = confined(self.root, rel, what="web")
                if same_file(dest, artifact.sha256):
                    continue
                try:
                    data = artifact_file("web", artifact).read_bytes()
                except FileNotFoundError:
                    raise Permanent(f"web: the rendition's file for {rel} is missing from the artifact store") from None
                write_atomic(dest, data)
            # the first page of each listing it is in, the archive pages a correction reorders, the feed
            self._update_site(record_id)
            # files of an older version of this record that the new one no longer has
            prefix = f"records/{record_id}/"
            for rel in (old or {}).get("files", {}):
                if rel not in plan and rel.startswith(prefix):
                    confined(self.root, rel, what="web").unlink(missing_ok=True)
            manifest = {"record_id": record_id, "version": rendition.version, "key": key,
                        "main": next(iter(plan)), "main_sha256": rendition.main.sha256,
                        "files": {rel: a.sha256 for rel, a in plan.items()}, "at": utcnow().isoformat()}
            write_atomic(manifest_path, json.dumps(manifest, ensure_ascii=False, indent=1).encode("utf-8"))
        except OSError as exc:
            raise Retryable(f"web: cannot write the site ({type(exc).__name__}: {exc.strerror or ''})") from None
        return Receipt(provider_ref=str(manifest["main"]), accepted_at=utcnow(), confirmed=True,
                       raw={"files": len(plan), "version": rendition.version})

    @staticmethod
    def _read_manifest(path: Path) -> dict[str, Any] | None:
        try:
            data = json.loads(path.read_text("utf-8"))
        except (FileNotFoundError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    @typed_errors("web")
    def withdraw(self, receipt: Receipt, target: Target, key: str) -> Receipt:
        """Replace the record's static page by the withdrawal notice; it leaves the listings, the feed names it gone.

        The page keeps its address and says 该信息已撤回 (title, when), as the live portal's 410 page does:
        a reader following an old link or a QR code learns it was withdrawn instead of finding nothing.
        The record's other files are removed; the listings and feed change as ``changed_files`` says.
        Idempotent: running it again after an unknown outcome writes the same bytes.
        """
        from hub.renderers.web import withdrawn_page

        notice = withdrawal_notice(self._sessions, key)
        record_id = notice.record_id
        manifest_path = self._manifest_path(record_id)
        manifest = self._read_manifest(manifest_path) or {}
        prefix = f"records/{safe_id(record_id, what='web')}/"
        main = str(manifest.get("main") or f"{prefix}index.html")
        removed = 0
        try:
            for rel in manifest.get("files", {}):
                if rel.startswith(prefix) and rel != main:
                    path = confined(self.root, rel, what="web")
                    if path.is_file():
                        path.unlink()
                        removed += 1
            self._write_changed({main: withdrawn_page(notice.title, notice.at, site_name=self.config.portal.site_name)})
            self._update_site(record_id)
            manifest_path.unlink(missing_ok=True)
        except OSError as exc:
            raise Retryable(f"web: cannot update the site ({type(exc).__name__}: {exc.strerror or ''})") from None
        return Receipt(provider_ref=f"withdrawn:{receipt.provider_ref}"[:200], accepted_at=utcnow(), confirmed=True,
                       raw={"removed_files": removed, "record_id": record_id, "notice": main})

    @typed_errors("web")
    def lookup(self, target: Target, key: str) -> Receipt | None:
        """A receipt when the record's site files are the ones this delivery wrote (same hashes)."""
        with scope(self._sessions) as s:
            row = s.scalar(select(DeliveryRow).where(DeliveryRow.idempotency_key == key))
            if row is None:
                return None
            record_id, version = row.record_id, row.version
        manifest = self._read_manifest(self._manifest_path(record_id))
        if manifest is None or manifest.get("version") != version:
            return None
        for rel, sha in manifest.get("files", {}).items():
            if not same_file(confined(self.root, rel, what="web"), sha):
                return None
        return Receipt(provider_ref=str(manifest["main"]), accepted_at=utcnow(), confirmed=True,
                       raw={"files": len(manifest.get("files", {})), "version": version})

    @typed_errors("web")
    def status(self, receipt: Receipt, target: Target) -> DeliveryStatus:
        path = confined(self.root, receipt.provider_ref, what="web")
        return DeliveryStatus.DELIVERED if path.is_file() else DeliveryStatus.FAILED
