"""What every renderer shares: the render context, renditions, and the content-addressed artifact store.

A renderer is a pure function ``render(record, ctx, store) -> Rendition``: no
network, database or clock. Everything that varies per version (public URLs,
short codes, the render instant) is computed once into ``RenderContext`` by the
caller. Same version and settings in, same bytes out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# Rendition and Artifact live below renderers and channels (hub.deliverables), the store in hub.artifacts
# (channels and the web read it too); re-exported here because every renderer builds them next to the context.
from hub.artifacts import ArtifactStore
from hub.deliverables import Artifact, Rendition, sha256_file

__all__ = ["Artifact", "ArtifactStore", "RenderContext", "Rendition", "sha256_file"]


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
