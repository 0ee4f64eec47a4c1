"""bench/delivery.py and bench/ledger_writes.py stay runnable (tiny sizes; their figures are not judged here)."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from hub.settings import PROJECT_ROOT


def _run(*args: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    env.pop("HUB_VAR", None)  # the benches make their own home
    proc = subprocess.run([sys.executable, *args], cwd=PROJECT_ROOT, env=env, text=True, capture_output=True,
                          timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def test_the_delivery_bench_delivers_every_row_and_prints_its_ratio() -> None:
    out = _run("bench/delivery.py", "--n", "60", "--rounds", "1", "--brokers", "embedded")
    assert re.search(r"embedded\s+median ratio\s+\d\.\d\d over 1 rounds", out), out


def test_the_ledger_write_bench_times_the_three_paths() -> None:
    out = _run("bench/ledger_writes.py", "--moves", "40", "--rounds", "1")
    for name in ("core", "driver_sql", "raw_cursor"):
        assert re.search(rf"^{name}\s+median", out, re.M), out
