"""Helpers of the ingest tests: running the ``hub`` CLI in-process."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from typer.testing import CliRunner, Result

from hub.cli import _register, app


@pytest.fixture
def run_hub() -> Callable[..., Result]:
    """Run ``hub ARGS...`` in-process (stdout and stderr kept apart)."""
    _register()
    runner = CliRunner()

    def run(*args: str) -> Result:
        return runner.invoke(app, list(args), catch_exceptions=False)

    return run
