"""What every renderer shares: the render context, renditions, and the content-addressed artifact store.

A renderer is a pure function ``render(record, ctx, store) -> Rendition``: no
network, database or clock. Everything that varies per version (public URLs,
short codes, the render instant) is computed once into ``RenderContext`` by the
caller. Same version and settings in, same bytes out.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

#: The channels that print or show a QR code, each with its own short code (scan attribution).
QR_CHANNELS = ("newspaper", "tv", "poster", "wechat")
#: Every channel that gets a short code (the QR ones plus the text channels that carry a link).
LINK_CHANNELS = ("web", "sms", "weibo", *QR_CHANNELS)


def sha256_file(path: Path) -> str:
    """The SHA-256 hex of a file, read in 1 MiB blocks (video packages are large)."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@dataclass(frozen=True, slots=True)
class Artifact:
    """A file in the artifact store, named by its SHA-256."""

    path: Path
    sha256: str
    bytes: int
    media_type: str

    def to_json(self) -> dict[str, Any]:
        return {"path": str(self.path), "sha256": self.sha256, "bytes": self.bytes, "media_type": self.media_type}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Artifact:
        return cls(Path(data["path"]), data["sha256"], int(data["bytes"]), data["media_type"])


class ArtifactStore:
    """Content-addressed files under ``root`` (``var/artifacts/ab/abcdef….ext``).

    Writing the same bytes twice is a no-op, so renders are idempotent and
    artifacts can be shared between versions and workers on a shared path.
    """

    def __init__(self, root: Path) -> None:
        self.root = root

    def put(self, data: bytes, suffix: str, media_type: str) -> Artifact:
        digest = hashlib.sha256(data).hexdigest()
        path = self._path(digest, suffix)
        if not path.exists():
            # write-then-rename: a crash never leaves a half file under a content name
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, path)
        return Artifact(path, digest, len(data), media_type)

    def put_file(self, source: Path, suffix: str, media_type: str) -> Artifact:
        """Copy a finished file (e.g. a rendered video package) into the store, streaming.

        A playout master is hundreds of MB: it is hashed and copied in blocks, never read whole.
        """
        digest = sha256_file(source)
        path = self._path(digest, suffix)
        if not path.exists():
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
            os.close(fd)
            shutil.copyfile(source, tmp)
            os.replace(tmp, path)
        return Artifact(path, digest, source.stat().st_size, media_type)

    def _path(self, digest: str, suffix: str) -> Path:
        path = self.root / digest[:2] / f"{digest}{suffix}"
        path.parent.mkdir(parents=True, exist_ok=True)
        return path


@dataclass(frozen=True, slots=True)
class RenderContext:
    """Everything a renderer may know besides the record; computed once per version.

    Parameters:
      record_id(str), version(str): what is rendered.
      public_url(str): the portal base, e.g. ``https://www.hanyin.gov.cn`` (no trailing slash).
      page_url(str): the record's portal page (``{public_url}/records/{record_id}``).
      short_codes(dict): channel → short code; the short link is ``{public_url}/s/{code}``.
      rendered_at(datetime): the instant stamped into outputs that need one (feed ``updated``);
        fixed per version (its publication time), never ``now()``.
      settings(dict): the ``[render]`` table and per-channel render settings of config/channels.toml.
      related(dict): ids and titles of records this one links to or is linked from (解读 both ways).
    """

    record_id: str
    version: str
    public_url: str
    page_url: str
    short_codes: dict[str, str]
    rendered_at: datetime
    settings: dict[str, Any] = field(default_factory=dict)
    related: dict[str, Any] = field(default_factory=dict)

    def short_url(self, channel: str) -> str:
        return f"{self.public_url}/s/{self.short_codes[channel]}"


@dataclass(frozen=True, slots=True)
class Rendition:
    """One rendition of a version: a main artifact, other files by role, and kind-specific facts.

    ``facts`` are small JSON values printed by ``hub render --json`` (e.g. SMS
    ``segments`` and ``chars``, QR ``data``). ``not_after`` bounds delivery (F11).
    """

    kind: str
    record_id: str
    version: str
    main: Artifact
    files: dict[str, Artifact] = field(default_factory=dict)
    facts: dict[str, Any] = field(default_factory=dict)
    not_after: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "record_id": self.record_id,
            "version": self.version,
            "main": self.main.to_json(),
            "files": {k: a.to_json() for k, a in self.files.items()},
            "facts": self.facts,
            "not_after": self.not_after.isoformat() if self.not_after else None,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Rendition:
        return cls(
            kind=data["kind"],
            record_id=data["record_id"],
            version=data["version"],
            main=Artifact.from_json(data["main"]),
            files={k: Artifact.from_json(v) for k, v in data["files"].items()},
            facts=data["facts"],
            not_after=datetime.fromisoformat(data["not_after"]) if data.get("not_after") else None,
        )

    def summary_json(self) -> dict[str, Any]:
        """What ``hub render --json`` prints per rendition."""
        return {"kind": self.kind, "path": str(self.main.path), "sha256": self.main.sha256,
                "bytes": self.main.bytes, **self.facts}
