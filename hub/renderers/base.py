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

# Rendition and Artifact live below renderers and channels (hub.deliverables); re-exported here
# because every renderer builds them next to the store and the context.
from hub.deliverables import Artifact, Rendition, sha256_file

__all__ = ["Artifact", "ArtifactStore", "RenderContext", "Rendition", "sha256_file"]


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
