"""Fixtures of the metrics tests: a published sample through the real adapters and the sandbox."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "queue"))

from sandbox_world import Clock, approved_sample, drain, fast_config  # noqa: E402

CHANNELS = ("web", "wechat", "weibo", "sms")


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    from hub.audience.subscribers import new_key

    fast_config(tmp_path, monkeypatch)
    monkeypatch.setenv("HUB_PHONE_KEY", new_key())
    yield


def publish(version: str, channels: tuple[str, ...] = CHANNELS) -> list[int]:
    """Publish ``version`` on ``channels`` and drive the engine until every delivery is final."""
    from hub.queue import actors
    from hub.queue.publish import publish_and_enqueue

    original = actors.hint
    actors.hint = lambda a, i, d: None  # type: ignore[assignment]  # no worker: drain() runs the steps
    try:
        ids = publish_and_enqueue(version, actor="office", channels=list(channels))
    finally:
        actors.hint = original  # type: ignore[assignment]
    drain(ids, clock=Clock())
    return ids


@pytest.fixture
def published(world: None, sandbox: Any) -> str:
    """The sample, published and confirmed on web, WeChat, Weibo and SMS; its version."""
    version = approved_sample(kinds=())
    publish(version)
    return version
