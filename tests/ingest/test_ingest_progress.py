"""``hub ingest`` of many files shows a bar on a terminal only (never in a pipe, a CI log or --json)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import Result

SAMPLES = sorted(str(p) for p in (Path(__file__).parents[2] / "samples").iterdir() if p.suffix in (".md", ".txt"))


def test_no_bar_and_no_escape_codes_when_stderr_is_not_a_terminal(run_hub: Callable[..., Result],
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE"):
        monkeypatch.delenv(name, raising=False)
    result = run_hub("ingest", *SAMPLES)
    assert result.exit_code == 0 and len(SAMPLES) >= 3
    assert "\x1b" not in result.stdout + result.stderr and "解析" not in result.stderr


def test_a_terminal_sees_the_files_counted_and_the_json_stays_clean(run_hub: Callable[..., Result],
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FORCE_COLOR", "1")  # rich treats the output as a terminal
    shown = run_hub("ingest", *SAMPLES)
    assert shown.exit_code == 0
    assert "解析" in shown.stderr and f"{len(SAMPLES)}/{len(SAMPLES)}" in shown.stderr
    as_json = run_hub("ingest", "--json", *SAMPLES)
    assert "\x1b" not in as_json.stdout + as_json.stderr and as_json.stdout.count("\n") == len(SAMPLES)
