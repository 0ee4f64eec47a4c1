"""Fixtures of the metrics tests: a published sample through the real adapters and the sandbox."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "queue"))

from sandbox_world import Clock, approved_sample, drain, fast_config, publish_undriven  # noqa: E402

CHANNELS = ("web", "wechat", "weibo", "sms")


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    fast_config(tmp_path, monkeypatch)
    yield


def publish(version: str, channels: tuple[str, ...] = CHANNELS) -> list[int]:
    """Publish ``version`` on ``channels`` and drive the engine until every delivery is final."""
    ids = publish_undriven(version, channels)
    drain(ids, clock=Clock())
    return ids


@pytest.fixture
def published(world: None, sandbox: Any) -> str:
    """The sample, published and confirmed on web, WeChat, Weibo and SMS; its version."""
    version = approved_sample(kinds=())
    publish(version)
    return version
