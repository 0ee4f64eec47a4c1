"""The channel registry: every configured channel has an adapter honouring the contract's class attributes."""

from __future__ import annotations

import pytest

from hub.channels.registry import CHANNELS, get_channel
from hub.config import get_config
from hub.errors import ConfigError

#: contracts.md: channel → rendition kind
KINDS = {"wechat": "wechat", "weibo": "weibo", "sms": "sms", "web": "web", "tv": "video", "newspaper": "print"}


def test_every_channel_of_the_contract_is_registered_with_its_rendition_kind() -> None:
    assert {name: cls.rendition_kind for name, cls in CHANNELS.items() if name in KINDS} == KINDS
    assert all(cls.name == name for name, cls in CHANNELS.items())


def test_every_configured_target_has_an_adapter() -> None:
    assert {t.channel for t in get_config().targets.values()} <= set(CHANNELS)


@pytest.mark.parametrize("name", sorted(KINDS))
def test_get_channel_builds_one_instance_per_process(name: str) -> None:
    first = get_channel(name)
    assert first is get_channel(name)
    for attr in ("send", "lookup", "status"):
        assert callable(getattr(first, attr))
    assert isinstance(first.idempotent_upsert, bool) and isinstance(first.can_lookup, bool)


def test_an_unknown_channel_is_a_config_error_naming_it() -> None:
    with pytest.raises(ConfigError, match="fax"):
        get_channel("fax")
