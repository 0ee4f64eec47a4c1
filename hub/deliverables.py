"""What renderers produce and channels deliver: renditions, artifacts, targets, receipts, statuses.

Why a module of its own, below both ``hub.renderers`` and ``hub.channels``: a
channel adapter must know what a ``Rendition`` is without importing the
renderers (and a renderer must never import a channel), and the delivery
engine, the web and the application layer all speak these types. Nothing here
imports another part of the hub.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any


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


class DeliveryStatus(StrEnum):
    """What ``status(receipt)`` learned about a submitted delivery."""

    PENDING = "pending"  # submitted, outcome not known yet (WeChat publishing, SMS receipts not in, TV not collected)
    DELIVERED = "delivered"  # confirmed by the platform / recipient
    FAILED = "failed"  # the platform gave up after accepting (publish_status 2-4, every SMS undelivered)


@dataclass(frozen=True, slots=True)
class Target:
    """Where a delivery goes: a configured account or audience of a channel.

    ``name`` is the opaque target id stored on the delivery row (never a phone
    number); ``account`` names the ``[accounts.*]`` entry whose credentials are used;
    ``params`` are the target's settings from config (region, topics, email address...).
    """

    channel: str
    name: str
    account: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Receipt:
    """Proof that the platform accepted a send.

    ``provider_ref`` is the platform's id (WeChat publish_id, Weibo idstr, SMS
    batch/session ref, file path); ``confirmed`` is True when acceptance is already
    final (web upsert, SMTP accepted by the desk's server) so no ``status`` poll is needed.
    """

    provider_ref: str
    accepted_at: datetime
    confirmed: bool = False
    raw: dict[str, Any] = field(default_factory=dict)
