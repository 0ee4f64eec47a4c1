"""Every rendition kind the hub can produce, in one explicit registry.

``RENDERERS[kind](record, ctx, store) -> Rendition``. Which kind a channel sends is
its declaration's ``rendition_kind`` (``hub.channels.registry.rendition_kinds()``). The order is the order
``hub render`` prints them in. The video package lives in ``hub.renderers.video``
(its own engineer); it is registered here when the module is present so that the
rest of the hub never has to know whether video support is installed.
"""

from __future__ import annotations

from collections.abc import Callable

from hub.deliverables import Rendition
from hub.record import Record
from hub.renderers import pdf, qr, sms, summary, web, wechat, weibo
from hub.renderers.base import ArtifactStore, RenderContext

RenderFn = Callable[[Record, RenderContext, ArtifactStore], Rendition]

#: Each module names its own kind (``KIND``): the registry repeats no channel's name.
RENDERERS: dict[str, RenderFn] = {
    summary.KIND: summary.render_summary,
    qr.KIND: qr.render_qr,
    sms.KIND: sms.render_sms,
    wechat.KIND: wechat.render_wechat,
    weibo.KIND: weibo.render_weibo,
    web.KIND: web.render_web,
    pdf.KIND: pdf.render_print,
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

__all__ = ["RENDERERS", "RenderFn"]
