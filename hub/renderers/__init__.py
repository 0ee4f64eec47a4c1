"""Every rendition kind the hub can produce, in one explicit registry.

``RENDERERS[kind](record, ctx, store) -> Rendition``. The order is the order
``hub render`` prints them in. The video package lives in ``hub.renderers.video``
(its own engineer); it is registered here when the module is present so that the
rest of the hub never has to know whether video support is installed.
"""

from __future__ import annotations

from collections.abc import Callable

from hub.record import Record
from hub.renderers.base import ArtifactStore, RenderContext, Rendition
from hub.renderers.pdf import render_print
from hub.renderers.qr import render_qr
from hub.renderers.sms import render_sms
from hub.renderers.summary import render_summary
from hub.renderers.web import render_web
from hub.renderers.wechat import render_wechat
from hub.renderers.weibo import render_weibo

RenderFn = Callable[[Record, RenderContext, ArtifactStore], Rendition]

RENDERERS: dict[str, RenderFn] = {
    "summary": render_summary,
    "qr": render_qr,
    "sms": render_sms,
    "wechat": render_wechat,
    "weibo": render_weibo,
    "web": render_web,
    "print": render_print,
}

#: Channel → the rendition kind its adapter sends (docs/dev/contracts.md).
CHANNEL_KINDS: dict[str, str] = {
    "wechat": "wechat",
    "weibo": "weibo",
    "sms": "sms",
    "web": "web",
    "tv": "video",
    "newspaper": "print",
}


def _video(record: Record, ctx: RenderContext, store: ArtifactStore) -> Rendition:
    """The video renderer, imported on first use: it pulls numpy and ffmpeg helpers that the
    other renditions (and every ``import hub.renderers``) should not pay for."""
    from hub.renderers.video import render_video

    return render_video(record, ctx, store)


def _register_video() -> None:
    """Add the video package when ``hub.renderers.video`` exists (it is built separately)."""
    import importlib.util

    if importlib.util.find_spec("hub.renderers.video") is not None:
        RENDERERS["video"] = _video


_register_video()

__all__ = ["CHANNEL_KINDS", "RENDERERS", "RenderFn"]
