"""The channel registry: every adapter the hub can deliver through, listed explicitly (no discovery).

``CHANNELS`` maps a channel's declared ``name`` to its class; everything that
used to repeat channel names is derived from it here (labels, rendition kinds,
link and QR channels, override-able channels, sandbox fakes). Adding a channel
is one line in ``_DECLARED`` plus its own module (docs/dev/contracts.md).

``get_channel(name)`` builds one instance per process from ``get_config()`` and
``get_settings()``; one instance serves every target of its channel (the
target's ``account`` picks the credentials).

Why ``hub.channels/__init__`` does not import this module: vendor clients
(``hub.vendors``) use ``hub.channels.http``, and the SMS adapter uses the
vendor client; an eager registry in the package would make that a cycle, and
would make every ``import hub.channels.base`` pay for wechatpy and the
Tencent SDK. Renderers import this module inside functions only (they sit
below channels).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, cast

from hub.channels.base import Channel, ChannelBase, LinkUse
from hub.channels.newspaper import NewspaperChannel
from hub.channels.screen import ScreenChannel
from hub.channels.sms import SmsChannel
from hub.channels.tv import TvChannel
from hub.channels.web import WebChannel
from hub.channels.wechat import WeChatChannel
from hub.channels.weibo import WeiboChannel
from hub.errors import ConfigError

if TYPE_CHECKING:
    from fastapi import APIRouter

#: In the order the board and the catalog list them.
_DECLARED: tuple[type[ChannelBase], ...] = (
    WebChannel, WeChatChannel, WeiboChannel, SmsChannel, TvChannel, NewspaperChannel, ScreenChannel,
)

CHANNELS: dict[str, type[ChannelBase]] = {cls.name: cls for cls in _DECLARED}

#: Short links and QR codes printed somewhere that is not a channel of the hub (posters in the hall).
EXTRA_QR = ("poster",)


def channel_names() -> tuple[str, ...]:
    """Every channel's name, in declaration order (what a catalog item may require)."""
    return tuple(CHANNELS)


def labels() -> dict[str, str]:
    """Channel → its Chinese label (the board, the console)."""
    return {name: cls.label for name, cls in CHANNELS.items()}


def label(name: str) -> str:
    """The Chinese label of ``name`` (the name itself for a channel no longer declared)."""
    cls = CHANNELS.get(name)
    return cls.label if cls is not None else name


def rendition_kinds() -> dict[str, str]:
    """Channel → the rendition kind its adapter sends."""
    return {name: cls.rendition_kind for name, cls in CHANNELS.items()}


def rendition_kind(name: str) -> str:
    """The rendition kind channel ``name`` sends; ConfigError for an unknown channel."""
    return declaration(name).rendition_kind


def qr_channels() -> tuple[str, ...]:
    """The channels that print or show a QR code, each with its own short code, plus ``EXTRA_QR``."""
    return (*(n for n, c in CHANNELS.items() if c.links is LinkUse.QR), *EXTRA_QR)


def link_channels() -> tuple[str, ...]:
    """Every channel (and extra) that gets a short code: the link channels and the QR ones."""
    linked = tuple(n for n, c in CHANNELS.items() if c.links in (LinkUse.LINK, LinkUse.TEMPLATE))
    return (*linked, *qr_channels())


def link_use(name: str) -> LinkUse:
    """How ``name`` carries its link (``EXTRA_QR`` entries are QR; unknown names a plain link)."""
    cls = CHANNELS.get(name)
    if cls is not None:
        return cls.links
    return LinkUse.QR if name in EXTRA_QR else LinkUse.LINK


def overridable() -> tuple[str, ...]:
    """Channels whose generated text an editor may rewrite in the console."""
    return tuple(n for n, c in CHANNELS.items() if c.overridable)


def sandbox_modules() -> tuple[str, ...]:
    """The sandbox fakes the channels declare (each once, in declaration order)."""
    return tuple(dict.fromkeys(c.sandbox for c in CHANNELS.values() if c.sandbox))


def web_routers() -> list[APIRouter]:
    """The routes channels serve from the hub (their declarations' ``web_router()``), for the web app."""
    return [r for r in (cls.web_router() for cls in CHANNELS.values()) if r is not None]


def declaration(name: str) -> type[ChannelBase]:
    """The class of channel ``name``; ConfigError naming the known ones otherwise."""
    cls = CHANNELS.get(name)
    if cls is None:
        raise ConfigError(f"no channel adapter {name!r}; known: {sorted(CHANNELS)}")
    return cls


_instances: dict[tuple[str, int, int], Channel] = {}
_lock = threading.Lock()


def get_channel(name: str) -> Channel:
    """The adapter for channel ``name``, built from this process's config and settings (cached per config)."""
    from hub.config import get_config
    from hub.settings import get_settings

    cls = declaration(name)
    config, settings = get_config(), get_settings()
    key = (name, id(config), id(settings))
    with _lock:
        if key not in _instances:
            # every adapter takes (config, settings); ChannelBase itself declares no constructor
            _instances[key] = cast(Channel, cls(config, settings))  # type: ignore[call-arg]
        return _instances[key]


__all__ = [
    "CHANNELS", "EXTRA_QR", "channel_names", "declaration", "get_channel", "label", "labels", "link_channels",
    "link_use", "overridable", "qr_channels", "rendition_kind", "rendition_kinds", "sandbox_modules",
    "web_routers",
]
