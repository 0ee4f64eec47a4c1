"""The portal: writes the web rendition's pages and feed into ``settings.site_dir`` (served by the hub).

Delivery is an idempotent upsert by record id: every file is written through a
temp file and ``os.replace`` (a reader never sees half a page), a file whose
bytes are already there is left alone, and files an older version of the same
record wrote under ``records/<id>/`` but the new one does not are removed. A
manifest per record (``var/state/web/<record_id>.json``, outside the served tree) remembers what was
written, with hashes: ``lookup`` is "the files exist with the same hashes".

Where files go: the web rendition names each file's site-relative path in
``facts["paths"]`` (role → path, ``"main"`` for the main artifact); without it
the main page goes to ``records/<record_id>/index.html`` and a file whose role
looks like a path (``feed.atom``, ``records/…``) goes there. Every path is
confined to the site directory.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

from sqlalchemy import select

from hub.channels.base import DeliveryStatus, Receipt, Target
from hub.channels.files import confined, safe_id, same_file, write_atomic
from hub.channels.sessions import SessionFactory, scope
from hub.config import HubConfig
from hub.errors import Permanent, Retryable
from hub.renderers.base import Artifact, Rendition
from hub.settings import Settings
from hub.store.models import DeliveryRow
from hub.timeutil import utcnow


class WebChannel:
    """The ``web`` channel (see the module docstring)."""

    name: ClassVar[str] = "web"
    idempotent_upsert: ClassVar[bool] = True
    can_lookup: ClassVar[bool] = True
    rendition_kind: ClassVar[str] = "web"

    def __init__(self, config: HubConfig, settings: Settings, *, session_factory: SessionFactory | None = None) -> None:
        self.config, self.settings = config, settings
        self._sessions = session_factory

    @property
    def root(self) -> Path:
        return self.settings.site_dir

    def _manifest_path(self, record_id: str) -> Path:
        return self.settings.var_dir / "state" / "web" / f"{safe_id(record_id, what='web')}.json"

    def plan(self, rendition: Rendition) -> dict[str, Artifact]:
        """Site-relative path → artifact for every file of the rendition."""
        record_id = safe_id(rendition.record_id, what="web")
        paths: dict[str, str] = dict(rendition.facts.get("paths") or {})
        out: dict[str, Artifact] = {}
        out[paths.get("main") or f"records/{record_id}/index.html"] = rendition.main
        for role, artifact in rendition.files.items():
            rel = paths.get(role) or (role if ("/" in role or "." in role) else f"records/{record_id}/{role}")
            out[rel] = artifact
        for rel in out:
            confined(self.root, rel, what="web")
        return out

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
                    data = artifact.path.read_bytes()
                except FileNotFoundError:
                    raise Permanent(f"web: the rendition's file for {rel} is missing from the artifact store") from None
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

    def status(self, receipt: Receipt, target: Target) -> DeliveryStatus:
        path = confined(self.root, receipt.provider_ref, what="web")
        return DeliveryStatus.DELIVERED if path.is_file() else DeliveryStatus.FAILED
