"""The TV package: a broadcast-ready slideshow of a record with narration, subtitles and a QC report.

``render_video(record, ctx, store) -> Rendition`` is the ``video`` renderer
(registered in ``hub.renderers.RENDERERS``); ``build_package`` is the same work
into a folder of your choice (the benchmark and tests use it). See docs/video.md.
"""

from __future__ import annotations

from hub.renderers.video.package import Package, build_package, package_name, render_video

__all__ = ["Package", "build_package", "package_name", "render_video"]
