"""The README's main job: `hub demo` publishes the sample to every channel and every delivery ends confirmed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


def hub(*args: str, cwd: Path, env: dict[str, str], timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hub.cli", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout, check=False)


@pytest.mark.slow
def test_hub_demo_confirms_every_channel_and_hub_status_shows_the_same_deliveries(tmp_path: Path) -> None:
    """Run as a new user would (a fresh var/), in a subprocess: the demo changes its own environment."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env["HUB_VAR"] = str(tmp_path / "var")
    done = hub("demo", cwd=tmp_path, env=env, timeout=1500)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "6 deliveries: confirmed 6" in done.stdout
    assert "五公开 stage 决策" in done.stdout
    status = hub("status", "--json", cwd=tmp_path, env=env, timeout=120)
    assert status.returncode == 0, status.stderr
    data = json.loads(status.stdout)
    deliveries = data["deliveries"]
    assert sorted(d["channel"] for d in deliveries) == ["newspaper", "sms", "tv", "web", "wechat", "weibo"]
    assert {d["state"] for d in deliveries} == {"confirmed"}
    portal = tmp_path / "var" / "site" / "records" / "xzfgzbmzfb-2017-0168" / "index.html"
    assert "汉政办通字〔2017〕168号" in portal.read_text("utf-8")


@pytest.mark.slow
@pytest.mark.timeout(2400)  # two video renders (the sample and its correction)
def test_hub_demo_lifecycle_publishes_corrects_and_withdraws_the_sample_on_every_channel(tmp_path: Path) -> None:
    """``hub demo --lifecycle``: three stage tables, every step confirmed (or the unsent one cancelled by
    the withdrawal), and the ledger lists each step with its purpose."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env["HUB_VAR"] = str(tmp_path / "var")
    done = hub("demo", "--lifecycle", cwd=tmp_path, env=env, timeout=2400)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-3000:]
    for stage in ("== publish ==", "== correct ==", "== withdraw =="):
        assert stage in done.stdout
    status = hub("status", "xzfgzbmzfb-2017-0168", "--json", cwd=tmp_path, env=env, timeout=120)
    assert status.returncode == 0, status.stderr
    rows = json.loads(status.stdout)["deliveries"]
    by = {(d["purpose"], d["channel"]) for d in rows}
    assert {("publish", c) for c in ("web", "wechat", "weibo", "sms", "newspaper", "tv")} <= by
    assert {("correct", c) for c in ("web", "wechat", "weibo", "sms", "newspaper", "tv")} <= by
    assert {("withdraw", c) for c in ("web", "wechat", "weibo", "sms", "newspaper", "tv")} <= by
    assert {d["state"] for d in rows} == {"confirmed"}
