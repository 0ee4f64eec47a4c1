"""``bench/scale.py`` at a small size: the whole county setup runs, every delivery ends confirmed, it reports.

PostgreSQL, redis-server, ``hub serve`` and two ``hub worker`` processes (one per kind of
work) for real; the full size is documented in the bench and in
docs/decisions/2026-12-03-queues-and-scale.md.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import pytest

from hub.settings import PROJECT_ROOT

pytestmark = pytest.mark.integration


def test_the_scale_bench_at_a_small_size_confirms_every_delivery_and_prints_its_figures(pg_url: str) -> None:
    if shutil.which("redis-server") is None:  # as the redis_server fixture: skip locally, fail in CI
        if os.environ.get("CI") == "true":
            pytest.fail("redis-server is required in CI")
        pytest.skip("redis-server not available")
    env = {**os.environ, "HUB_TEST_PG_URL": pg_url, "PYTHONPATH": str(PROJECT_ROOT)}
    for name in ("HUB_VAR", "HUB_DATABASE_URL", "HUB_BROKER_URL", "HUB_CONFIG_DIR"):
        env.pop(name, None)
    out = subprocess.run([sys.executable, str(PROJECT_ROOT / "bench" / "scale.py"), "--records", "8",
                          "--subscribers", "40", "--townships", "2", "--workers", "2", "--threads", "2",
                          "--rate", "8", "--sms-every", "4", "--tv-every", "0", "--timeout", "150",
                          "--portal-seconds", "0.5", "--clients", "1"],
                         env=env, capture_output=True, text=True, timeout=280)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    text = out.stdout
    ledger = re.search(r"ledger: \{([^}]*)\}", text)
    assert ledger and set(re.findall(r"'(\w+)':", ledger.group(1))) == {"confirmed"}, text
    for channel in ("web", "wechat", "weibo", "sms", "newspaper"):
        assert re.search(rf"(?m)^{channel}\s+\d+\s+[\d.]+\s+[\d.]+$", text), (channel, text)
    for path in ("/healthz", "/", "/search", "/records/scale-", "/feed.xml"):
        assert re.search(rf"(?m)^{re.escape(path)}\S*\s+[\d.]+\s+[\d.]+\s+0$", text), (path, text)
    assert re.search(r"(?m)^  worker1 .*\(\d+ processes", text) and "worker2-video" in text, text
    assert "throughput:" in text and "TIMED OUT" not in text
