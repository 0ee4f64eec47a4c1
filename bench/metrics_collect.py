"""Metrics collection benchmark: 10,000 published records' WeChat and Weibo figures from the sandbox.

    .venv/bin/python bench/metrics_collect.py [--records 10000] [--days 30] [--baseline 1000]

Runs in a temporary hub home (SQLite) against the sandbox in this process. It seeds
``--records`` published versions, each confirmed on WeChat (``wechat-county``) and
Weibo (``weibo-county``), published over the last ``--days`` days, and the sandbox
with the matching articles and posts (their counters grow as ``hub.sandbox.engagement``
says). Then it runs one collection pass (``hub.metrics.collect.collect``) and prints
the time and the API calls per platform.

Baseline, in the same process: the same pass with no batching (``metrics_batch = 1``:
one ``statuses/count`` per post, one datacube call per article) over ``--baseline``
records, scaled to ``--records``. Ratio = batched / baseline.

Quotas (what "within the quotas" is measured against; the platforms publish them per
account and change them, so they are assumptions stated here, not facts the sandbox
enforces): Weibo ``statuses/count`` 1,000 calls per hour for an authorised app;
WeChat datacube 5,000 calls per day (errcode 45009 past it). Not a test: numbers only.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

WEIBO_HOURLY_QUOTA = 1000
DATACUBE_DAILY_QUOTA = 5000
WEIBO_COUNT = "/2/statuses/count.json"
DATACUBE = "/datacube/getarticletotal"


def seed(sb: Any, n: int, days: int, now: datetime) -> None:
    """n versions confirmed on WeChat and Weibo, and the sandbox's articles and posts behind them."""
    from sqlalchemy import insert

    from hub.store.db import session_scope
    from hub.store.models import DeliveryRow, RecordRow, VersionRow

    app_id = "wxhanyincounty0001"
    wechat, weibo = sb.vendor("wechat"), sb.vendor("weibo")
    for key in ("publishes", "articles"):
        wechat.setdefault(key, {})
    weibo.setdefault("statuses", {})
    records, versions, deliveries = [], [], []
    for i in range(n):
        at = now - timedelta(days=1 + (i % days), minutes=i % 600)
        rid, ver = f"bench-{i:05d}", f"{i:064x}"
        depts = ("县教育局", "县民政局", "县财政局", "县卫健局", "县农业农村局")
        records.append({"id": rid, "department": depts[i % 5], "current_version": ver, "created_at": at,
                        "updated_at": at})
        versions.append({"version": ver, "record_id": rid, "content": "{}", "state": "published",
                         "title": f"基准记录 {i}", "department": depts[i % 5], "level": "county",
                         "item": "扶贫政策", "published_at": at, "warnings": [], "created_at": at})
        pid, msg_data_id, idstr = str(2247480000 + i), str(2247490000 + i), str(4800000000000000 + i)
        wechat["publishes"][pid] = {"appid": app_id, "publish_id": pid, "msg_data_id": msg_data_id,
                                    "article_id": f"a{i}", "articles": [{"title": f"基准 {i}", "url": ""}],
                                    "final_at": at.timestamp(), "final_status": 0, "settled": True}
        weibo["statuses"][idstr] = {"status": {"id": int(idstr), "idstr": idstr}, "digest": idstr, "uid": 1,
                                    "at": at.timestamp(), "account": "weibo-county"}
        for channel, target, ref, raw in (("wechat", "wechat-county", pid, {"msg_data_id": msg_data_id}),
                                          ("weibo", "weibo-county", idstr, {"idstr": idstr})):
            deliveries.append({
                "record_id": rid, "version": ver, "channel": channel, "target": target,
                "idempotency_key": f"{channel}-{i}", "state": "confirmed", "attempts": 1, "redeliveries": 0,
                "provider_ref": ref, "needs_attention": False, "created_at": at, "updated_at": at,
                "receipt": {"provider_ref": ref, "accepted_at": at.isoformat(), "confirmed": True, "raw": raw}})
    with session_scope() as s:
        s.execute(insert(RecordRow), records)
        s.execute(insert(VersionRow), versions)
        s.execute(insert(DeliveryRow), deliveries)


def run_pass(sb: Any, now: datetime) -> tuple[float, int, int, int, float]:
    """One collection pass: (seconds, Weibo calls, datacube calls, rows written, CPU seconds of the process)."""
    from hub.metrics.collect import collect

    w0, d0 = sb.hit_count(WEIBO_COUNT, "GET"), sb.hit_count(DATACUBE)
    started, cpu = time.perf_counter(), time.process_time()
    report = collect(now=now, channels=["wechat", "weibo"])
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    failures = [f for t in report.channels.values() for f in t.failures]
    if failures:
        raise SystemExit(f"collection refused: {failures}")
    rows = sum(t.rows for t in report.channels.values())
    return seconds, sb.hit_count(WEIBO_COUNT, "GET") - w0, sb.hit_count(DATACUBE) - d0, rows, cpu


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=10_000)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--baseline", type=int, default=1_000)
    args = ap.parse_args()

    home = tempfile.mkdtemp(prefix="hub-bench-metrics-")
    os.environ["HUB_VAR"] = home
    os.environ.pop("HUB_DATABASE_URL", None)
    from hub.sandbox.app import build_sandbox, random_secrets
    from hub.sandbox.credentials import credentials_from_env

    for k, v in random_secrets().items():
        os.environ[k] = v
    sb = build_sandbox(0, credentials=credentials_from_env()).start()
    os.environ["HUB_SANDBOX_URL"] = sb.url
    now = datetime.now(UTC)

    from hub.channels import registry

    # the baseline first: no batching, one call per record
    seed(sb, args.baseline, args.days, now)
    saved = {n: registry.declaration(n).metrics_batch for n in ("wechat", "weibo")}
    for n in saved:
        registry.declaration(n).metrics_batch = 1
    try:  # one receipt per call: one statuses/count per post, one or two datacube days per article
        base_s, base_w, base_d, _, base_cpu = run_pass(sb, now)
    finally:
        for n, v in saved.items():
            registry.declaration(n).metrics_batch = v
    scale = args.records / args.baseline

    from hub.store.db import session_scope
    from hub.store.models import DeliveryRow, EngagementRow, RecordRow, VersionRow

    with session_scope() as s:  # start the measured pass from an empty hub
        for model in (EngagementRow, DeliveryRow, VersionRow, RecordRow):
            s.query(model).delete()
    sb.reset()
    seed(sb, args.records, args.days, now)
    secs, weibo_calls, cube_calls, rows, cpu = run_pass(sb, now)
    sb.stop()

    print(f"records: {args.records} published over {args.days} days, each on WeChat and Weibo")
    print(f"batched:  {secs:.2f} s ({cpu:.1f} s CPU, hub and in-process sandbox), {rows} rows; Weibo statuses/count {weibo_calls} calls "
          f"(quota {WEIBO_HOURLY_QUOTA}/hour), WeChat datacube {cube_calls} calls (quota {DATACUBE_DAILY_QUOTA}/day)")
    print(f"baseline: {base_s:.2f} s ({base_cpu:.1f} s CPU) for {args.baseline} records unbatched → "
          f"{base_s * scale:.1f} s ({base_cpu * scale:.1f} s CPU), "
          f"{int(base_w * scale)} Weibo calls, {int(base_d * scale)} datacube calls for {args.records}")
    print(f"ratio batched/baseline: time {secs / (base_s * scale):.3f}, CPU {cpu / max(1e-9, base_cpu * scale):.3f}, "
          f"Weibo calls "
          f"{weibo_calls / max(1, base_w * scale):.3f}, datacube calls {cube_calls / max(1, base_d * scale):.3f}")
    within = weibo_calls <= WEIBO_HOURLY_QUOTA and cube_calls <= DATACUBE_DAILY_QUOTA
    print(f"within the quotas: {'yes' if within else 'NO'}; within minutes: {'yes' if secs < 300 else 'NO'}")


if __name__ == "__main__":
    main()
