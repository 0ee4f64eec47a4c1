"""Portal page latency with N published records, against /healthz (the bare app + one query) as baseline.

    .venv/bin/python bench/web.py [--records 500] [--rounds 30]

Prints per page the median ms and the ratio to the baseline measured in the same
process. Records are generated (CJK bodies) and stored straight through the
repository, then marked published; the search index (which the publish transition
keeps current) is caught up by ``search.sync`` before the app starts, and the first
search's time is printed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import warnings


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=500)
    ap.add_argument("--rounds", type=int, default=30)
    args = ap.parse_args()
    os.environ["HUB_VAR"] = tempfile.mkdtemp(prefix="hub-bench-web-")

    from sqlalchemy import update

    from hub.record import Heading, Paragraph, Record
    from hub.store import repo
    from hub.store.db import session_scope
    from hub.store.models import VersionRow
    from hub.timeutil import utcnow

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient
    from hub.web.app import create_app

    domains = ["征地补偿", "扶贫救灾", "教育", "医疗卫生", "就业", "社会救助", "市场监管", "生态环境"]
    towns = ["城关镇", "涧池镇", "蒲溪镇", "平梁镇", "双乳镇"]
    stages = ["决策", "执行", "管理", "服务", "结果"]
    with session_scope() as s:
        for i in range(args.records):
            d = domains[i % len(domains)]
            r = Record(id=f"bench-{i:05d}", title=f"{towns[i % 5]}2026年{d}第{i}批信息公开", department="汉阴县人民政府办公室",
                       stage=stages[i % 5], domain=d, item=f"{d}标准", level="township", region=towns[i % 5],
                       index_no=f"hy-2026-{i:05d}",
                       body=[Heading(level=1, number="一、", text="基本情况"),
                             Paragraph(text=f"根据{d}有关政策，{towns[i % 5]}对第{i}批对象进行了审核，现将结果予以公示。" * 3)])
            repo.save_version(s, r, findings=[], warnings=[], actor="bench")
        s.execute(update(VersionRow).values(state="published", published_at=utcnow()))

    from hub.web import search

    # the rows were marked published around the workflow, which indexes at publish time: catch up once here
    t = time.perf_counter()
    with session_scope() as s:
        search.sync(s)
    index_s = time.perf_counter() - t
    client = TestClient(create_app(warm_search=False))
    t = time.perf_counter()
    client.get("/search", params={"q": "征地补偿"})
    first_ms = (time.perf_counter() - t) * 1000

    def median_ms(path: str) -> float:
        client.get(path)
        times = []
        for _ in range(args.rounds):
            t0 = time.perf_counter()
            assert client.get(path).status_code == 200
            times.append((time.perf_counter() - t0) * 1000)
        return statistics.median(times)

    base = median_ms("/healthz")
    print(f"{args.records} published records; indexing them took {index_s:.1f} s (jieba + FTS5, at publish time); "
          f"the first search took {first_ms:.0f} ms")
    print(f"{'page':<40}{'median ms':>10}{'× /healthz':>12}")
    print(f"{'/healthz (baseline)':<40}{base:>10.1f}{1.0:>12.1f}")
    for path in ("/", "/browse?stage=结果", "/browse?domain=征地补偿&item=征地补偿标准", "/records/bench-00007",
                 "/search?q=征地补偿", "/search?q=涧池镇+审核", "/feed.xml"):
        ms = median_ms(path)
        print(f"{path:<40}{ms:>10.1f}{ms / base:>12.1f}")
    print(f"load average: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
