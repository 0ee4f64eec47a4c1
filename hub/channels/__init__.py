"""The channel registry: every adapter the hub can deliver through, listed explicitly (no discovery).

``CHANNELS`` maps a channel name (the ``channel`` of a target in
``config/channels.toml``) to its adapter class; ``get_channel(name)`` builds one
instance per process from ``get_config()`` and ``get_settings()``. One
instance serves every target of its channel: the target's ``account`` picks
the credentials.
"""

from __future__ import annotations

import threading
from typing import Any

from hub.channels.base import Channel
from hub.channels.newspaper import NewspaperChannel
from hub.channels.sms import SmsChannel
from hub.channels.tv import TvChannel
from hub.channels.web import WebChannel
from hub.channels.wechat import WeChatChannel
from hub.channels.weibo import WeiboChannel
from hub.errors import ConfigError

CHANNELS: dict[str, type[Any]] = {
    "wechat": WeChatChannel,
    "weibo": WeiboChannel,
    "sms": SmsChannel,
    "web": WebChannel,
    "tv": TvChannel,
    "newspaper": NewspaperChannel,
}

_instances: dict[tuple[str, int, int], Channel] = {}
_lock = threading.Lock()


def get_channel(name: str) -> Channel:
    """The adapter for channel ``name``, built from this process's config and settings (cached per config)."""
    from hub.config import get_config
    from hub.settings import get_settings

    cls = CHANNELS.get(name)
    if cls is None:
        raise ConfigError(f"no channel adapter {name!r}; known: {sorted(CHANNELS)}")
    config, settings = get_config(), get_settings()
    key = (name, id(config), id(settings))
    with _lock:
        if key not in _instances:
            _instances[key] = cls(config, settings)
        return _instances[key]


__all__ = ["CHANNELS", "Channel", "get_channel"]
