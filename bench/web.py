"""The portal served over HTTP with N published records, against the same server's /healthz as baseline.

    .venv/bin/python bench/web.py [--records 500] [--rounds 30] [--seconds 5] [--concurrency 4]

The real app (``hub.web.app:create_app``) runs under uvicorn in its own process on 127.0.0.1,
as ``hub serve`` would; this process is the client (keep-alive connections). Prints:

- per page the median latency of ``--rounds`` sequential requests and its ratio to /healthz;
- requests per second of the home page and of /healthz under ``--concurrency`` clients for
  ``--seconds`` each, and their ratio (issue 19: home ≥ 200 req/s at 10,000 records);
- the first search after a publish: one more record published through the workflow (which
  indexes it after its commit), then the time of the first search for its words.

Records are generated (CJK bodies) and stored straight through the repository, then marked
published around the workflow; the search index and the portal's kept counts are caught up once
(``search.sync``, ``counts.recount``) before the server starts. Not a test: numbers only.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rate(base: str, path: str, *, seconds: float, concurrency: int) -> float:
    """Requests per second ``concurrency`` keep-alive clients get from ``path`` in ``seconds``."""
    done = [0] * concurrency
    stop = time.monotonic() + seconds

    def run(i: int) -> None:
        with httpx.Client(base_url=base) as c:
            while time.monotonic() < stop:
                assert c.get(path).status_code == 200
                done[i] += 1

    threads = [threading.Thread(target=run, args=(i,)) for i in range(concurrency)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(done) / (time.monotonic() - t0)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=500)
    ap.add_argument("--rounds", type=int, default=30)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--concurrency", type=int, default=4)
    args = ap.parse_args()
    os.environ["HUB_VAR"] = tempfile.mkdtemp(prefix="hub-bench-web-")

    from sqlalchemy import update

    from hub import workflow
    from hub.record import Heading, Paragraph, Record
    from hub.store import repo
    from hub.store.db import session_scope
    from hub.store.models import VersionRow
    from hub.timeutil import utcnow
    from hub.web import counts, search

    domains = ["征地补偿", "扶贫救灾", "教育", "医疗卫生", "就业", "社会救助", "市场监管", "生态环境"]
    towns = ["城关镇", "涧池镇", "蒲溪镇", "平梁镇", "双乳镇"]
    stages = ["决策", "执行", "管理", "服务", "结果"]

    def record(i: int, extra: str = "") -> Record:
        d = domains[i % len(domains)]
        return Record(id=f"bench-{i:05d}", title=f"{towns[i % 5]}2026年{d}第{i}批信息公开{extra}",
                      department="汉阴县人民政府办公室", stage=stages[i % 5], domain=d, item=f"{d}标准",  # type: ignore[arg-type]
                      level="township", region=towns[i % 5], index_no=f"hy-2026-{i:05d}",  # type: ignore[arg-type]
                      body=[Heading(level=1, number="一、", text="基本情况"),  # type: ignore[call-arg]
                            Paragraph(text=f"根据{d}有关政策，{towns[i % 5]}对第{i}批对象进行了审核，现将结果予以公示。{extra}"
                                      * 3)])  # type: ignore[call-arg]

    t = time.perf_counter()
    with session_scope() as s:
        for i in range(args.records):
            repo.save_version(s, record(i), findings=[], warnings=[], actor="bench")
        s.execute(update(VersionRow).values(state="published", published_at=utcnow()))
    store_s = time.perf_counter() - t
    # the rows were marked published around the workflow, which indexes and counts at publish time: catch up once
    t = time.perf_counter()
    with session_scope() as s:
        search.sync(s)
        counts.recount(s)
    index_s = time.perf_counter() - t

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([sys.executable, "-m", "uvicorn", "--factory", "hub.web.app:create_app",
                               "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
                              env={**os.environ})
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit("the app did not start")
            time.sleep(0.2)
        client = httpx.Client(base_url=base)

        def server_cpu() -> float:
            """CPU seconds the server process used so far (user + system, /proc; 10 ms ticks)."""
            with open(f"/proc/{server.pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

        client.get("/search", params={"q": "征地补偿"})  # the server's first search loads jieba (≈1 s), once

        def median_ms(path: str) -> float:
            client.get(path)
            times = []
            for _ in range(args.rounds):
                t0 = time.perf_counter()
                assert client.get(path).status_code == 200
                times.append((time.perf_counter() - t0) * 1000)
            return statistics.median(times)

        healthz = median_ms("/healthz")
        print(f"{args.records} published records (stored in {store_s:.1f} s; search index and counts caught up "
              f"in {index_s:.1f} s)")
        print(f"{'page':<40}{'median ms':>10}{'× /healthz':>12}")
        print(f"{'/healthz (baseline)':<40}{healthz:>10.1f}{1.0:>12.1f}")
        for path in ("/", "/browse?stage=结果", "/browse?domain=征地补偿&item=征地补偿标准", "/records/bench-00007",
                     "/search?q=征地补偿", "/search?q=涧池镇+审核", "/feed.xml"):
            ms = median_ms(path)
            print(f"{path:<40}{ms:>10.1f}{ms / healthz:>12.1f}")

        base_rps = rate(base, "/healthz", seconds=args.seconds, concurrency=args.concurrency)
        home_rps = rate(base, "/", seconds=args.seconds, concurrency=args.concurrency)
        print(f"requests/s with {args.concurrency} clients for {args.seconds:.0f} s: /healthz {base_rps:.0f}, "
              f"home / {home_rps:.0f} ({home_rps / base_rps:.2f}x /healthz)")

        def server_cpu_ms(path: str, n: int = 200) -> float:
            """The server process's CPU time per request (from /proc): what the load of others does not blur."""
            c0 = server_cpu()
            for _ in range(n):
                client.get(path)
            return (server_cpu() - c0) * 1000 / n

        cpu_base, cpu_home = server_cpu_ms("/healthz"), server_cpu_ms("/")
        print(f"server CPU per request: /healthz {cpu_base:.2f} ms, home / {cpu_home:.2f} ms "
              f"({cpu_home / cpu_base:.2f}x); one core serves ≈{1000 / cpu_base:.0f} and ≈{1000 / cpu_home:.0f} req/s")

        # the first search after a publish through the workflow (indexed after the publish commits)
        fresh = record(args.records, extra="旱厕改造补助")
        with session_scope() as s:
            row = repo.save_version(s, fresh, findings=[], warnings=[], actor="bench")
            s.execute(update(VersionRow).where(VersionRow.version == row.version).values(state="approved"))
        t = time.perf_counter()
        with session_scope() as s:
            workflow.publish(s, row.version, "system")
        publish_ms = (time.perf_counter() - t) * 1000
        c0 = server_cpu()
        t = time.perf_counter()
        found = client.get("/search", params={"q": "旱厕改造补助"}).text
        first_ms = (time.perf_counter() - t) * 1000
        first_cpu = (server_cpu() - c0) * 1000
        assert fresh.title in found, "the record published a moment ago was not found"
        print(f"publish through the workflow (its search document written after the commit): {publish_ms:.0f} ms; "
              f"the first search after it: {first_ms:.1f} ms ({first_cpu:.0f} ms of server CPU)")
        client.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(f"load average: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
