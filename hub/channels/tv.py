"""The TV station: the video package goes into the pickup area; delivered once the station collected it.

``send`` copies the video rendition's files (the zip package, the video, its
manifest) into ``settings.pickup_dir/tv/<record>-<version>/`` as one unit: the
directory is assembled under a temp name and renamed into place, and an
existing complete package with the same hashes is left alone (replace-by-id,
so resending is harmless: ``idempotent_upsert``). The receipt's
``provider_ref`` is the package id ``<record>-<version>``.

The station downloads through the token-protected pickup page (or ``hub
demo``), which calls ``collect(session, provider_ref, by=...)``: it records
time, SHA-256 and who in ``channel_state`` under ``tv-collected:<provider_ref>``
and returns the file to serve. ``status`` is DELIVERED once that row exists.

With several machines (issue 19) the worker that delivers and the web node that
serves ``/tv`` each have their own pickup area; the files come from the shared
artifact store (``hub.artifacts``), so the web node assembles a package it has
not got yet from the same content-addressed files (``assemble``, ``ready``).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.channels.base import AccountConfig, ChannelBase, LinkUse
from hub.channels.boundary import artifact_file, typed_errors
from hub.channels.files import read_manifest, replace_folder, safe_id, same_file
from hub.channels.sessions import SessionFactory, scope
from hub.config import HubConfig
from hub.deliverables import DeliveryStatus, Receipt, Rendition, Target, sha256_file
from hub.errors import NotFound, Permanent, Retryable
from hub.settings import Settings, get_settings
from hub.store.models import ChannelStateRow, DeliveryRow
from hub.timeutil import utcnow

#: the hub's own record of a package (the video package has its own manifest.json)
MANIFEST = ".hub-package.json"
COLLECTED_PREFIX = "tv-collected:"
#: ``channel_state`` key prefix of a withdrawal / recall notice to the station
NOTICE_PREFIX = "tv-notice:"


def package_id(record_id: str, version: str) -> str:
    return safe_id(f"{record_id}-{version}", what="tv")


def package_dir(provider_ref: str, settings: Settings | None = None) -> Path:
    """The package directory of ``provider_ref`` (validated: a single safe path component)."""
    return (settings or get_settings()).pickup_dir / "tv" / safe_id(provider_ref, what="tv")


def _file_name(role: str, path: Path, names: dict[str, str]) -> str:
    """A file's name in the pickup folder: the rendition's own name for it (``video.mp4``), else role + suffix."""
    name = names.get(role) or (role if "." in role else f"{role}{''.join(path.suffixes[-1:])}")
    return safe_id(name, what="tv")


def _manifest(folder: Path) -> dict[str, Any] | None:
    return read_manifest(folder, MANIFEST)


def _complete(folder: Path, manifest: dict[str, Any]) -> bool:
    return all(same_file(folder / name, sha) for name, sha in manifest.get("files", {}).items())


def collect(session: Session, provider_ref: str, *, by: str, settings: Settings | None = None) -> Path:
    """Record that ``by`` downloaded the package ``provider_ref``; returns the file to serve (the zip).

    Each download updates the row (``count``, last ``at``); ``first_at`` keeps the
    first one, which is when the delivery counts as confirmed.
    """
    folder = package_dir(provider_ref, settings)
    manifest = _manifest(folder)
    if manifest is None:
        raise NotFound(f"no TV package {provider_ref}")
    files: dict[str, str] = manifest.get("files", {})
    zips = [n for n in files if n.endswith(".zip")]
    name = zips[0] if zips else str(manifest.get("main", ""))
    path = folder / name
    if not path.is_file():
        raise NotFound(f"TV package {provider_ref} has no file {name}")
    digest = sha256_file(path)
    now = utcnow()
    key = COLLECTED_PREFIX + provider_ref
    row = session.get(ChannelStateRow, key)
    value = {"at": now.isoformat(), "sha256": digest, "by": by, "file": name,
             "matches": digest == files.get(name)}
    if row is None:
        session.add(ChannelStateRow(key=key, value={**value, "first_at": now.isoformat(), "count": 1},
                                    expires_at=None, updated_at=now))
    else:
        old = dict(row.value or {})
        row.value = {**value, "first_at": old.get("first_at", now.isoformat()), "count": int(old.get("count", 0)) + 1}
        row.updated_at = now
    session.flush()
    return path


def assemble(rendition: Rendition, settings: Settings | None = None) -> tuple[str, Path, bool]:
    """Put the package of a video rendition into this node's pickup area: (package id, folder, reused).

    The files come from the artifact store (``hub.channels.boundary.artifact_file``): on the
    node that rendered them they are at hand, on another (the web node serving ``/tv`` while a
    worker elsewhere delivered) they are fetched by content name first. An existing complete
    package with the same hashes is left alone.
    """
    settings = settings or get_settings()
    ref = package_id(rendition.record_id, rendition.version)
    folder = package_dir(ref, settings)
    names: dict[str, str] = dict(rendition.facts.get("filenames") or {})
    if rendition.facts.get("package"):
        names.setdefault("main", f"{rendition.facts['package']}.zip")
    files = {"main": rendition.main, **rendition.files}
    plan = {_file_name(role, a.path, names): a for role, a in files.items()}
    if not any(n.endswith(".zip") for n in plan):
        raise Permanent("tv: the video rendition has no .zip package file")
    manifest = {"package_id": ref, "record_id": rendition.record_id, "version": rendition.version,
                "main": _file_name("main", rendition.main.path, names),
                "files": {n: a.sha256 for n, a in plan.items()}}
    existing = _manifest(folder)
    if existing is not None and existing.get("files") == manifest["files"] and _complete(folder, existing):
        return ref, folder, True
    sources = {name: artifact_file("tv", a) for name, a in plan.items()}
    try:
        replace_folder(folder, sources,
                       (MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=1).encode("utf-8")),
                       missing=lambda name: Permanent(f"tv: the package file {name} is missing from the "
                                                      "artifact store"))
    except OSError as exc:
        raise Retryable(f"tv: cannot write the pickup area ({type(exc).__name__})") from None
    return ref, folder, False


def ready(provider_ref: str, settings: Settings | None = None) -> bool:
    """Whether this node's pickup area holds the package ``provider_ref`` (its folder is only ever swapped in
    whole, so a manifest with every file present is a complete package; ``collect`` checks the zip's hash)."""
    folder = package_dir(provider_ref, settings)
    manifest = _manifest(folder)
    return manifest is not None and all((folder / name).is_file() for name in manifest.get("files", {}))


def collected(session: Session, provider_ref: str) -> dict[str, Any] | None:
    """The collection record of a package, or None when the station has not downloaded it."""
    row = session.get(ChannelStateRow, COLLECTED_PREFIX + provider_ref)
    return dict(row.value) if row is not None else None


class TvAccount(AccountConfig):
    """``[accounts.*]`` of a TV station (it collects packages on /tv; the token is optional)."""

    pickup_token_env: str = ""
    optional_env: ClassVar[tuple[str, ...]] = ("pickup_token_env",)


class TvChannel(ChannelBase):
    """The ``tv`` channel (see the module docstring)."""

    name: ClassVar[str] = "tv"
    idempotent_upsert: ClassVar[bool] = True
    can_lookup: ClassVar[bool] = True
    rendition_kind: ClassVar[str] = "video"
    label: ClassVar[str] = "电视台"
    links: ClassVar[LinkUse] = LinkUse.QR
    account_model: ClassVar[type[AccountConfig]] = TvAccount

    def __init__(self, config: HubConfig, settings: Settings, *, session_factory: SessionFactory | None = None) -> None:
        self.config, self.settings = config, settings
        self._sessions = session_factory

    @typed_errors("tv")
    def send(self, rendition: Rendition, target: Target, key: str) -> Receipt:
        ref, folder, reused = assemble(rendition, self.settings)
        return self._receipt(ref, folder, reused=reused)

    def _receipt(self, ref: str, folder: Path, *, reused: bool) -> Receipt:
        return Receipt(provider_ref=ref, accepted_at=utcnow(), confirmed=False,
                       raw={"package": str(folder), "reused": reused})

    @typed_errors("tv")
    def lookup(self, target: Target, key: str) -> Receipt | None:
        with scope(self._sessions) as s:
            row = s.scalar(select(DeliveryRow).where(DeliveryRow.idempotency_key == key))
            if row is None:
                return None
            ref = package_id(row.record_id, row.version)
        folder = package_dir(ref, self.settings)
        manifest = _manifest(folder)
        if manifest is None or not _complete(folder, manifest):
            return None
        return self._receipt(ref, folder, reused=True)

    def correct(self, rendition: Rendition, previous: Receipt, target: Target, key: str) -> Receipt:
        """更正: publish the corrected package (a new one; the platform has no edit for it).

        The old package is taken down by its own withdrawal step in the ledger, which the
        engine runs only once this correction has settled (``hub.app.lifecycle.correct``):
        each half keeps its own exactly-once key, retry and reconcile rules.
        """
        return self.send(rendition, target, key)

    @typed_errors("tv")
    def withdraw(self, receipt: Receipt, target: Target, key: str) -> Receipt:
        """Remove the package from pickup and tell the station: a 撤回 notice, or a 停播 (recall) notice
        when the station already collected it.

        The notice is kept in ``channel_state`` under ``tv-notice:<package>`` (what the pickup page
        and the station read) and as ``pickup/tv/notices/<package>.txt``. Idempotent: a package
        already removed is not an error and the notice is rewritten with the same content.
        """
        from hub.channels.files import write_atomic
        from hub.channels.notices import withdrawal_notice
        from hub.timeutil import to_local

        notice = withdrawal_notice(self._sessions, key)
        ref = receipt.provider_ref
        folder = package_dir(ref, self.settings)
        with scope(self._sessions) as s:
            done = collected(s, ref)
        kind = "recall" if done else "withdrawn"
        words = ("停播通知：贵台已取走的节目包请勿播出（如已播出，请按更正程序处理）。" if done
                 else "撤回通知：节目包已从取件区撤下，请勿播出。")
        text = (f"{words}\n节目：{notice.title}\n节目包：{ref}\n"
                f"撤回时间：{to_local(notice.at):%Y-%m-%d %H:%M}（北京时间）\n撤回原因：{notice.reason or '（未注明）'}\n")
        try:
            if folder.exists():
                shutil.rmtree(folder)
            write_atomic(self.settings.pickup_dir / "tv" / "notices" / f"{safe_id(ref, what='tv')}.txt",
                         text.encode("utf-8"))
        except OSError as exc:
            raise Retryable(f"tv: cannot remove the package ({type(exc).__name__})") from None
        now = utcnow()
        value = {"kind": kind, "title": notice.title, "reason": notice.reason, "at": notice.at.isoformat(),
                 "collected": bool(done)}
        with scope(self._sessions) as s:
            row = s.get(ChannelStateRow, NOTICE_PREFIX + ref)
            if row is None:
                s.add(ChannelStateRow(key=NOTICE_PREFIX + ref, value=value, expires_at=None, updated_at=now))
            else:
                row.value, row.updated_at = value, now
        return Receipt(provider_ref=f"{kind}:{ref}"[:200], accepted_at=now, confirmed=True,
                       raw={"package": ref, "notice": kind})

    @typed_errors("tv")
    def metrics(self, receipts: Sequence[Receipt], target: Target, *, now: datetime) -> dict[str, dict[str, int]]:
        """How many times the station downloaded each package (the pickup page counts them)."""
        with scope(self._sessions) as s:
            found = {r.provider_ref: collected(s, r.provider_ref) for r in receipts}
        return {ref: {"collections": int(info.get("count") or 1)} for ref, info in found.items() if info}

    @typed_errors("tv")
    def status(self, receipt: Receipt, target: Target) -> DeliveryStatus:
        with scope(self._sessions) as s:
            done = collected(s, receipt.provider_ref)
        return DeliveryStatus.DELIVERED if done else DeliveryStatus.PENDING
