"""The village e-bulletin screens (村务公开电子屏): a signed playlist that screens pull from the hub.

Built from the channel declaration alone (issue 12): nothing outside this module,
its sandbox screen (``hub.sandbox.screen``) and ``config/channels.toml`` names it.

How it works:

* A **target** is the screens of one place: ``region`` is a village
  (``涧池镇/五一村``) or the county itself (``汉阴县``, shown on every screen of the
  county). The account names the county and the environment variable holding the
  signing key (``signing_key_env``).
* ``send`` puts the item — the TV package's stills (``poster.jpg``) and video
  (``video.mp4``, 1920×1080) — into the target's playlist: a folder
  ``pickup_dir/screen/<target>/<item>/`` with a manifest, replaced by id (a resend
  cannot duplicate). The receipt is ``submitted``: nothing is delivered until a
  screen has it.
* A screen pulls ``GET /screens/playlist?village=…`` (every item of its village and
  of its county), checks the ``X-Hub-Signature`` (HMAC-SHA256 of the body with the
  signing key: a tampered or foreign playlist is refused), then fetches each file
  ``GET /screens/items/<item>/<file>`` and checks its SHA-256 against the playlist.
  Each file request carries ``X-Screen-Id`` and ``X-Screen-Signature`` (HMAC of the
  screen id and path), so only a screen holding the key can confirm a delivery.
* A screen's fetch of every file of an item is the delivery's **receipt**:
  ``status`` answers ``delivered`` once one screen has fetched them all.
* ``withdraw`` removes the item from the playlist (the folder goes; the next pull
  no longer lists it, and its files answer 404); it is confirmed at once.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any, ClassVar

from fastapi import APIRouter, Header, HTTPException, Query
from fastapi.responses import FileResponse, Response
from pydantic import Field

from hub.channels.accounts import typed
from hub.channels.base import AccountConfig, ChannelBase, LinkUse
from hub.channels.boundary import artifact_file, typed_errors
from hub.channels.files import read_manifest, replace_folder, safe_id, same_file
from hub.channels.sessions import SessionFactory, scope
from hub.config import HubConfig, get_config, secret_from_env
from hub.deliverables import DeliveryStatus, Receipt, Rendition, Target
from hub.errors import ConfigError, Permanent, Retryable
from hub.settings import Settings, get_settings
from hub.store.models import ChannelStateRow
from hub.timeutil import utcnow

NAME = "screen"
MANIFEST = ".hub-item.json"
FETCHED_PREFIX = "screen-fetched:"
#: rendition file role → what a screen does with it
PLAY = {"poster.jpg": "still", "video.mp4": "video"}
PLAY_TYPES = {"poster.jpg": "image/jpeg", "video.mp4": "video/mp4"}
SIGNATURE_HEADER = "X-Hub-Signature"


class ScreenAccount(AccountConfig):
    """``[accounts.*]`` of a county's screens: the key that signs playlists, how long a playlist is valid."""

    county: str = Field(min_length=1)
    signing_key_env: str
    playlist_ttl_s: int = Field(default=600, ge=30)
    required_env: ClassVar[tuple[str, ...]] = ("signing_key_env",)


def sign(key: bytes, data: bytes) -> str:
    """``sha256=<hex>``: the HMAC-SHA256 the hub puts on a playlist and a screen on its requests."""
    return "sha256=" + hmac.new(key, data, hashlib.sha256).hexdigest()


def screen_request(screen_id: str, path: str) -> bytes:
    """What a screen signs on a file request: its id and the path (so a signature fits one file only)."""
    return f"{screen_id}\n{path}".encode()


def _root(settings: Settings) -> Path:
    return settings.pickup_dir / NAME


def item_id(target: str, record_id: str, version: str) -> str:
    return safe_id(f"{target}-{record_id}-{version[:16]}", what=NAME)


def _manifest(folder: Path) -> dict[str, Any] | None:
    return read_manifest(folder, MANIFEST)


def _complete(folder: Path, manifest: dict[str, Any]) -> bool:
    return all(same_file(folder / f["name"], f["sha256"]) for f in manifest.get("files", []))


class ScreenChannel(ChannelBase):
    """The ``screen`` channel (see the module docstring)."""

    name: ClassVar[str] = NAME
    label: ClassVar[str] = "村务公开电子屏"
    rendition_kind: ClassVar[str] = "video"
    links: ClassVar[LinkUse] = LinkUse.NONE  # the video carries the TV channel's QR code
    account_model: ClassVar[type[AccountConfig]] = ScreenAccount
    sandbox: ClassVar[str | None] = "hub.sandbox.screen"
    idempotent_upsert: ClassVar[bool] = True
    can_lookup: ClassVar[bool] = True

    def __init__(self, config: HubConfig, settings: Settings, *, session_factory: SessionFactory | None = None) -> None:
        self.config, self.settings = config, settings
        self._sessions = session_factory

    @classmethod
    def web_router(cls) -> APIRouter | None:
        """The playlist and item routes the screens pull (mounted by the web app from the registry)."""
        return playlist_router()

    def _folder(self, target: str, item: str) -> Path:
        return _root(self.settings) / safe_id(target, what=NAME) / safe_id(item, what=NAME)

    @typed_errors(NAME)
    def send(self, rendition: Rendition, target: Target, key: str) -> Receipt:
        region = target.params.get("region")
        if not region:
            raise ConfigError(f"channels.toml: targets.{target.name}.region names no village or county")
        item = item_id(target.name, rendition.record_id, rendition.version)
        files = {n: a for n, a in rendition.files.items() if n in PLAY}
        if "video.mp4" not in files:
            raise Permanent(f"{NAME}: the video rendition has no video.mp4 to play")
        manifest = {"item": item, "target": target.name, "region": str(region), "record_id": rendition.record_id,
                    "version": rendition.version, "title": str(rendition.facts.get("title") or rendition.record_id),
                    "key": key, "added_at": utcnow().isoformat(),
                    "files": [{"name": n, "play": PLAY[n], "media_type": a.media_type, "sha256": a.sha256,
                               "bytes": a.bytes} for n, a in sorted(files.items())]}
        folder = self._folder(target.name, item)
        existing = _manifest(folder)
        if existing is not None and existing["files"] == manifest["files"] and _complete(folder, existing):
            return self._receipt(item, reused=True)
        try:
            replace_folder(folder, {n: artifact_file(NAME, a) for n, a in files.items()},
                           (MANIFEST, json.dumps(manifest, ensure_ascii=False).encode("utf-8")),
                           missing=lambda n: Permanent(f"{NAME}: {n} is missing from the artifact store"))
        except OSError as exc:
            raise Retryable(f"{NAME}: cannot write the playlist area ({type(exc).__name__})") from None
        return self._receipt(item, reused=False)

    def _receipt(self, item: str, *, reused: bool) -> Receipt:
        return Receipt(provider_ref=item, accepted_at=utcnow(), confirmed=False, raw={"reused": reused})

    @typed_errors(NAME)
    def lookup(self, target: Target, key: str) -> Receipt | None:
        for folder in sorted((_root(self.settings) / safe_id(target.name, what=NAME)).glob("*")):
            manifest = _manifest(folder)
            if manifest is not None and manifest.get("key") == key and _complete(folder, manifest):
                return self._receipt(str(manifest["item"]), reused=True)
        return None

    @typed_errors(NAME)
    def status(self, receipt: Receipt, target: Target) -> DeliveryStatus:
        with scope(self._sessions) as s:
            got = fetched(s, receipt.provider_ref)
        manifest = _manifest(self._folder(target.name, receipt.provider_ref))
        names = {f["name"] for f in manifest["files"]} if manifest else set(PLAY)
        if any(names <= set(files) for files in got.values()):
            return DeliveryStatus.DELIVERED
        return DeliveryStatus.PENDING

    def correct(self, rendition: Rendition, previous: Receipt, target: Target, key: str) -> Receipt:
        """更正: put the corrected item on the playlist (items are per version, so it is a new one).

        The old item comes off by its own withdrawal step in the ledger, run once this one has
        settled (``hub.app.lifecycle.correct``), so a screen never shows neither.
        """
        return self.send(rendition, target, key)

    @typed_errors(NAME)
    def withdraw(self, receipt: Receipt, target: Target, key: str) -> Receipt:
        """Take the item off the playlist: the next pull no longer lists it and its files answer 404."""
        folder = self._folder(target.name, receipt.provider_ref)
        try:
            if folder.exists():
                gone = folder.with_name(f".withdrawn-{receipt.provider_ref}-{os.getpid()}")
                os.replace(folder, gone)  # atomic: a screen pulling now sees it or not, never half
                shutil.rmtree(gone, ignore_errors=True)
        except OSError as exc:
            raise Retryable(f"{NAME}: cannot remove the item ({type(exc).__name__})") from None
        return Receipt(provider_ref=receipt.provider_ref, accepted_at=utcnow(), confirmed=True,
                       raw={"withdrawn": True, "key": key})


def fetched(session: Any, item: str) -> dict[str, dict[str, str]]:
    """Screen id → {file name: first fetch time} of an item (empty until a screen fetched something)."""
    row = session.get(ChannelStateRow, FETCHED_PREFIX + item)
    return dict(row.value.get("screens", {})) if row is not None else {}


def record_fetch(session: Any, item: str, name: str, screen_id: str) -> None:
    """Keep the first time ``screen_id`` fetched file ``name`` of ``item`` (the delivery's receipt)."""
    now = utcnow()
    key = FETCHED_PREFIX + item
    row = session.get(ChannelStateRow, key)
    screens = dict(row.value.get("screens", {})) if row is not None else {}
    files = dict(screens.get(screen_id, {}))
    files.setdefault(name, now.isoformat())
    screens[screen_id] = files
    if row is None:
        session.add(ChannelStateRow(key=key, value={"screens": screens}, expires_at=None, updated_at=now))
    else:
        row.value = {"screens": screens}
        row.updated_at = now
    session.flush()


# --- what a screen talks to (mounted by the web app from the declaration) -----------------


def _account(config: HubConfig) -> tuple[str, ScreenAccount]:
    """The county's screen account, typed by its declaration's model (a bad key is a ConfigError naming it)."""
    found = [(n, a) for n, a in config.accounts.items() if a.channel == NAME]
    if not found:
        raise ConfigError(f"channels.toml: no account with channel = {NAME!r}")
    name, account = found[0]
    return name, typed(name, account, ScreenAccount)


def signing_key(config: HubConfig | None = None) -> bytes:
    """The playlist signing key (from the account's ``signing_key_env``)."""
    name, account = _account(config or get_config())
    return secret_from_env(account.signing_key_env, key=f"accounts.{name}.signing_key_env").value.encode()


def playlist(village: str, *, config: HubConfig | None = None, settings: Settings | None = None) -> dict[str, Any]:
    """The playlist of ``village``: every item of the targets for that village and for its county."""
    config, settings = config or get_config(), settings or get_settings()
    _, account = _account(config)
    county = account.county
    places = {village, county}
    items = []
    for tname, tcfg in config.targets.items():
        if tcfg.channel != NAME or tcfg.region not in places:
            continue
        for folder in sorted((_root(settings) / safe_id(tname, what=NAME)).glob("*")):
            manifest = _manifest(folder) if not folder.name.startswith(".") else None
            if manifest is None:
                continue
            items.append({"id": manifest["item"], "record_id": manifest["record_id"], "title": manifest["title"],
                          "region": manifest["region"], "added_at": manifest["added_at"],
                          "files": [{**f, "url": f"/screens/items/{manifest['item']}/{f['name']}"}
                                    for f in manifest["files"]]})
    items.sort(key=lambda i: (i["added_at"], i["id"]))
    now = utcnow()
    ttl = account.playlist_ttl_s
    return {"village": village, "county": county, "issued_at": now.isoformat(),
            "expires_at": (now + timedelta(seconds=ttl)).isoformat(), "items": items}


def _find(item: str, settings: Settings) -> Path | None:
    safe = safe_id(item, what=NAME)
    for folder in _root(settings).glob(f"*/{safe}"):
        if _manifest(folder) is not None:
            return folder
    return None


def playlist_router() -> APIRouter:
    """``/screens/playlist`` (signed) and ``/screens/items/<item>/<file>`` (each fetch recorded)."""
    from starlette.concurrency import run_in_threadpool

    from hub.store.db import session_scope

    router = APIRouter(prefix="/screens")

    @router.get("/playlist")
    def get_playlist(village: str = Query(..., min_length=1, max_length=100)) -> Response:
        try:
            key = signing_key()
        except ConfigError:
            raise HTTPException(status_code=503, detail="playlist signing is not configured") from None
        body = json.dumps(playlist(village), ensure_ascii=False, sort_keys=True).encode("utf-8")
        return Response(body, media_type="application/json",
                        headers={SIGNATURE_HEADER: sign(key, body), "Cache-Control": "no-store"})

    @router.get("/items/{item}/{name}")
    async def get_item(item: str, name: str, x_screen_id: str = Header(..., max_length=100),
                       x_screen_signature: str = Header(..., max_length=100)) -> Response:
        path = f"/screens/items/{item}/{name}"
        try:
            key = signing_key()
        except ConfigError:
            raise HTTPException(status_code=503, detail="playlist signing is not configured") from None
        if not hmac.compare_digest(x_screen_signature, sign(key, screen_request(x_screen_id, path))):
            raise HTTPException(status_code=403, detail="bad screen signature")
        if name not in PLAY:
            raise HTTPException(status_code=404, detail="not found")
        try:
            folder = _find(item, get_settings())
        except Permanent:  # not a name the hub gives an item
            folder = None
        if folder is None or not (folder / name).is_file():
            raise HTTPException(status_code=404, detail="not in the playlist")

        def note() -> None:
            with session_scope() as s:
                record_fetch(s, item, name, x_screen_id)

        await run_in_threadpool(note)
        return FileResponse(folder / name, media_type=PLAY_TYPES.get(name, "application/octet-stream"))

    return router

