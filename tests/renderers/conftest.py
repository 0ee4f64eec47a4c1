"""Fixtures of the renderer tests: the four frozen records, a fixed public URL, an artifact store.

The records in ``records/*.json`` were produced once from ``samples/`` by the ingest
parser and are frozen here, so renderer goldens change only when a renderer does.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from renderkit import PUBLIC_URL

from hub.record import Record
from hub.renderers.base import ArtifactStore, RenderContext
from hub.renderers.context import build_context
from hub.testing.caches import clear_caches


@pytest.fixture(autouse=True)
def public_url(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("HUB_PUBLIC_URL", PUBLIC_URL)
    clear_caches()
    return PUBLIC_URL


@pytest.fixture
def store(tmp_path: Path) -> ArtifactStore:
    return ArtifactStore(tmp_path / "artifacts")


@pytest.fixture
def ctx_of() -> Callable[[Record], RenderContext]:
    def make(record: Record) -> RenderContext:
        return build_context(record, record.version_hash())

    return make


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden", default=False)) or os.environ.get("HUB_UPDATE_GOLDEN") == "1"
