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
and the site around it — ``hub.renderers.web.build_site`` over the ``entry``
fact of every published record's web rendition plus this one (listings by
stage, domain and level, ``index.html``, ``feed.xml``). Withdrawn records drop
out of the listings at the next web delivery. Every path is confined to the
site directory (F18).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

from sqlalchemy import select

from hub.channels.base import ChannelBase, LinkUse
from hub.channels.boundary import artifact_file, typed_errors
from hub.channels.files import confined, safe_id, same_file, write_atomic
from hub.channels.notices import with_tombstones, withdrawal_notice, withdrawn_records
from hub.channels.sessions import SessionFactory, scope
from hub.config import HubConfig
from hub.deliverables import Artifact, DeliveryStatus, Receipt, Rendition, Target
from hub.errors import Permanent, Retryable
from hub.settings import Settings
from hub.store.models import DeliveryRow, RenditionRow, VersionRow
from hub.timeutil import utcnow

#: The portal's stylesheet (hub/web/static), copied beside the static pages.
SITE_CSS = Path(__file__).resolve().parents[1] / "web" / "static" / "site.css"



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

    def site_files(self, rendition: Rendition | None, *, record_id: str | None = None) -> dict[str, bytes]:
        """Listings and feed over every published record's entry plus this rendition's (newest wins).

        ``rendition=None`` (a withdrawal of ``record_id``): every other published record only.
        """
        from hub.renderers.web import SiteEntry, build_site

        withdrawing = rendition is None
        entries: list[SiteEntry] = []
        if rendition is not None and "entry" in rendition.facts:
            entries.append(SiteEntry.from_json(rendition.facts["entry"]))
        own = rendition.record_id if rendition is not None else record_id
        with scope(self._sessions) as s:
            rows = s.execute(select(RenditionRow.data).join(VersionRow, VersionRow.version == RenditionRow.version)
                             .where(RenditionRow.kind == "web", VersionRow.state == "published",
                                    VersionRow.record_id != own)).all()
        for (data,) in rows:
            entry = (data.get("facts") or {}).get("entry")
            if entry:
                entries.append(SiteEntry.from_json(entry))
        # the pages link /static/site.css: the same stylesheet the live portal serves
        files = {"static/site.css": SITE_CSS.read_bytes()}
        if entries or withdrawing:
            files.update(build_site(entries, public_url=self.settings.public_url,
                                    site_name=self.config.portal.site_name))
            # withdrawn records stay in the feed as RFC 6721 tombstones, so readers drop them
            base = self.settings.public_url
            gone = [(f"{base}/records/{w.record_id}", w.at) for w in withdrawn_records(self._sessions)]
            files["feed.xml"] = with_tombstones(files["feed.xml"], gone)
        return files

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
            for rel, data in self.site_files(rendition).items():
                dest = confined(self.root, rel, what="web")
                if not (dest.is_file() and dest.read_bytes() == data):
                    write_atomic(dest, data)
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
        """Remove the record's static copy and rebuild listings and feed without it (a tombstone instead).

        Idempotent: files already gone are skipped, so running it again after an unknown outcome is safe.
        The live portal answers 410 from the version's state; this is the static site's half.
        """
        record_id = withdrawal_notice(self._sessions, key).record_id
        manifest_path = self._manifest_path(record_id)
        manifest = self._read_manifest(manifest_path) or {}
        removed = 0
        try:
            prefix = f"records/{safe_id(record_id, what='web')}/"
            for rel in manifest.get("files", {}):
                if rel.startswith(prefix):
                    path = confined(self.root, rel, what="web")
                    if path.is_file():
                        path.unlink()
                        removed += 1
            folder = confined(self.root, prefix.rstrip("/"), what="web")
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()
            for rel, data in self.site_files(None, record_id=record_id).items():
                dest = confined(self.root, rel, what="web")
                if not (dest.is_file() and dest.read_bytes() == data):
                    write_atomic(dest, data)
            manifest_path.unlink(missing_ok=True)
        except OSError as exc:
            raise Retryable(f"web: cannot update the site ({type(exc).__name__}: {exc.strerror or ''})") from None
        return Receipt(provider_ref=f"withdrawn:{receipt.provider_ref}"[:200], accepted_at=utcnow(), confirmed=True,
                       raw={"removed_files": removed, "record_id": record_id})

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
