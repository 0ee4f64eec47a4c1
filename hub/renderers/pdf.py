"""Placeholder: being written (issue 3); the signature is the contract."""

from __future__ import annotations

from hub.errors import RenderError
from hub.record import Record
from hub.renderers.base import ArtifactStore, RenderContext, Rendition


def render_print(record: Record, ctx: RenderContext, store: ArtifactStore) -> Rendition:
    raise RenderError("pdf: renderer not written yet")
