"""County scale: one county and 20 township accounts, N records published over time, M subscribers.

    .venv/bin/python bench/scale.py [--records 1000] [--subscribers 10000] [--townships 20] [--workers 3]
                                    [--rate 5] [--sms-every 40] [--tv-every 1] [--timeout 1800]

Full size (issue 19): ``--records 10000 --subscribers 100000``. CI runs a small size as a test
(``tests/queue/test_scale_bench.py``). Everything runs on 127.0.0.1 and stops itself
(``--timeout`` bounds the delivery phase; every process this script started is stopped at
the end, the PostgreSQL database it created is dropped).

What runs, as in production on one machine:

* PostgreSQL (``--pg-url``, else ``HUB_TEST_PG_URL``, else ``scripts/services.sh``): a database
  of this run's own; a private redis-server as the broker;
* the sandbox (WeChat, Weibo, Tencent SMS, the newspaper desk's SMTP) in a process of its own;
* ``hub serve`` (the portal and ``/tv``) and ``--workers`` ``hub worker`` processes, each a
  subprocess: with 2 or more, one is ``--queues video`` and the others ``--queues
  deliveries,confirm`` (the queues by kind of work); with 1, one ``hub worker`` takes every queue;
* a config with the county's accounts plus one WeChat account and target per township, routes
  per township; the county office (office), one reviewer per township (reviewer) and the county's;
* a publisher (this process) that publishes the approved records at ``--rate`` per second through
  ``hub.app.deliveries.publish`` (what the console and ``hub publish`` call), and a simulated
  TV station that downloads every ready package from ``/tv/<id>/download`` with the pickup token.

What it prints:

* throughput: records published per second, deliveries confirmed per second (first publish → last
  confirmation);
* p50/p99 publish-to-confirmed per channel (the TV figure includes the station's pick-up, polled
  every second);
* the web delivery's cost (its send: ``sending`` → ``confirmed`` in the ledger) around the 100th
  published record against the last ones (≈ N);
* portal requests/s for the home page, a search, a record page and the feed against the same
  server's ``/healthz`` (the yardstick, measured in the same run);
* peak memory (VmHWM) per process: the server, each worker (its Dramatiq processes summed and
  listed), the sandbox, Redis, and this process (publisher, station, load generator).

Load knobs, so a run fits a shared machine: SMS goes to every ``--sms-every``-th record's
audience (county subscribers for county records, the township's for township records; Tencent's
per-number limit of 10 a day, enforced by the sandbox too, holds the rest until midnight), the TV
package to every ``--tv-every``-th county record, rendered at 640×360 with narration off unless
``--full-video``. A county record is every ``--townships + 1``-th record.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TOWNS = ["城关镇", "涧池镇", "蒲溪镇", "平梁镇", "双乳镇", "铁佛寺镇", "漩涡镇", "汉阳镇", "双河口镇", "观音河镇",
         "酒店镇", "上七镇", "龙垭镇", "凤亭镇", "太平镇", "石泉镇", "金星镇", "永宁镇", "东河镇", "安乐镇"]
DOMAINS = ["征地补偿", "扶贫救灾", "教育", "医疗卫生", "市场监管", "生态环境", "社会救助"]
SMS_DOMAIN = "就业"  # the records that also go to SMS subscribers (routes below)
TV_STAGE = "结果"    # the county records that also go to the TV station
STAGES = ["决策", "执行", "管理", "服务"]
COUNTY = "汉阴县人民政府办公室"
FINAL = {"confirmed", "failed", "expired", "cancelled"}


def town_department(town: str) -> str:
    return f"{town}人民政府"


# --- configuration -----------------------------------------------------------------------------


def write_config(dst: Path, townships: int, *, small_video: bool) -> None:
    """The project's config plus one WeChat account, target and route per township; SMS and TV by route."""
    shutil.copytree(ROOT / "config", dst)
    toml = dst / "channels.toml"
    text = toml.read_text("utf-8")
    text = re.sub(r'(?m)^quiet_hours\s*=.*$', 'quiet_hours = ""', text)
    text = text[:text.index("[[routes]]")]  # the bench's own routing below
    lines = [text]
    for k, town in enumerate(TOWNS[:townships], start=1):
        lines.append(f"""
[accounts.wechat-town{k:02d}]
channel = "wechat"
api_base = "${{HUB_SANDBOX_URL:-http://127.0.0.1:8765}}/cgi-bin/"
app_id = "wxbenchtown{k:07d}"
secret_env = "HUB_WECHAT_TOWN{k:02d}_SECRET"
callback_token_env = "HUB_WECHAT_CALLBACK_TOKEN"

[targets.wechat-town{k:02d}]
channel = "wechat"
account = "wechat-town{k:02d}"
region = "{town}"
""")
    lines.append(f"""
[[routes]]
name = "county records"
match = {{ level = ["county"] }}
targets = ["portal", "wechat-county", "weibo-county", "newspaper-ankang"]

[[routes]]
name = "county records to SMS subscribers"
match = {{ level = ["county"], domain = ["{SMS_DOMAIN}"] }}
targets = ["sms-county"]

[[routes]]
name = "county results to the TV station"
match = {{ level = ["county"], stage = ["{TV_STAGE}"] }}
targets = ["tv-county"]

[[routes]]
name = "township records to their subscribers"
match = {{ level = ["township"], domain = ["{SMS_DOMAIN}"] }}
targets = ["sms-township"]
""")
    for k, town in enumerate(TOWNS[:townships], start=1):
        lines.append(f"""
[[routes]]
name = "{town}"
match = {{ level = ["township"], region = ["{town}"] }}
targets = ["portal", "wechat-town{k:02d}"]
""")
    toml.write_text("".join(lines), "utf-8")
    if small_video:
        from hub.testing.stations import use_small_station

        use_small_station(dst, "bench-small")


# --- PostgreSQL ----------------------------------------------------------------------------------


def base_pg_url(given: str | None) -> str:
    url = given or os.environ.get("HUB_TEST_PG_URL")
    if url:
        return url
    out = subprocess.run([str(ROOT / "scripts" / "services.sh")], capture_output=True, text=True, timeout=120,
                         check=True)
    return out.stdout.strip().splitlines()[-1]


@contextmanager
def pg_database(base: str) -> Iterator[str]:
    """A database of this run's own on the server of ``base``; dropped at the end."""
    import sqlalchemy as sa

    name = f"hubbench_{os.getpid()}_{int(time.time())}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield sa.make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        from hub.testing.caches import clear_caches

        clear_caches()
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


# --- processes -----------------------------------------------------------------------------------


@dataclass
class Proc:
    """A subprocess this run started (in a session of its own, so its Dramatiq children stop with it)."""

    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def tree(self) -> list[int]:
        """This process and its descendants (from /proc)."""
        out, todo = [], [self.popen.pid]
        while todo:
            pid = todo.pop()
            out.append(pid)
            for task in Path(f"/proc/{pid}/task").glob("*"):
                try:
                    todo += [int(c) for c in (task / "children").read_text().split()]
                except OSError:
                    pass
        return out

    def stop(self) -> None:
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(timeout=10)


def start(name: str, argv: list[str], logs: Path, env: dict[str, str]) -> Proc:
    log = logs / f"{name}.log"
    fh = log.open("ab")
    popen = subprocess.Popen(argv, env=env, stdout=fh, stderr=subprocess.STDOUT,  # noqa: S603 - our own argv
                             start_new_session=True)
    fh.close()
    return Proc(name, popen, log)


def peak_kib(pid: int) -> int:
    """VmHWM (peak resident set) of ``pid`` in KiB, 0 when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def wait_http(url: str, timeout: float = 60) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f} s")


def serve_sandbox(port: int, smtp_port: int) -> None:
    """The sandbox and the newspaper desk's SMTP in a process of their own, until SIGTERM.

    Why not in the bench's process: the fakes answer thousands of calls while this process
    publishes and polls; sharing one GIL, the adapters' read timeouts fired on the fakes'
    slowness and the run measured the bench instead of the hub.
    """
    from hub.sandbox.app import build_sandbox
    from hub.sandbox.credentials import credentials_from_env
    from hub.sandbox.smtp import start_smtp

    sb = build_sandbox(port, credentials=credentials_from_env()).start()
    _, _, stop_smtp = start_smtp(sb, port=smtp_port)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    print(f"sandbox {sb.url}, SMTP 127.0.0.1:{smtp_port}", flush=True)
    done.wait()
    stop_smtp()
    sb.stop()


# --- the county's data ---------------------------------------------------------------------------


@dataclass
class Plan:
    """What to publish: record ids in publishing order and who publishes them."""

    refs: list[str] = field(default_factory=list)
    county: int = 0
    sms: int = 0
    tv: int = 0


def seed(args: argparse.Namespace) -> Plan:
    """Accounts, subscribers and ``--records`` approved records (not yet published)."""
    from hub import auth, workflow
    from hub.audience import subscribers
    from hub.record import Heading, Paragraph, Record
    from hub.store import repo
    from hub.store.db import session_scope

    towns = TOWNS[:args.townships]
    password = "bench-" + os.urandom(6).hex()
    with session_scope() as s:
        auth.add_user(s, "county-office", "office", COUNTY, password)
        auth.add_user(s, "county-reviewer", "reviewer", COUNTY, password)
        for k, town in enumerate(towns, start=1):
            auth.add_user(s, f"town{k:02d}-reviewer", "reviewer", town_department(town), password)
    t0 = time.perf_counter()
    county_share = max(1, args.subscribers // 5)
    with session_scope() as s:
        for i in range(args.subscribers):
            phone = f"+861380{i:07d}"
            if i < county_share:
                subscribers.upsert(s, phone, level="county")
            else:
                subscribers.upsert(s, phone, level="township", region=towns[i % len(towns)])
    print(f"seeded {args.subscribers} subscribers ({county_share} county-wide, the rest by township) "
          f"in {time.perf_counter() - t0:.1f} s", flush=True)

    plan = Plan()
    t0 = time.perf_counter()
    county_every = len(towns) + 1
    county_seen = 0
    rng = random.Random(19)
    with session_scope() as s:
        for i in range(args.records):
            county = i % county_every == 0
            town = towns[i % len(towns)]
            sms = rng.random() < 1 / args.sms_every  # spread over the townships (a stride would hit one)
            domain = SMS_DOMAIN if sms else DOMAINS[i % len(DOMAINS)]
            stage = STAGES[i % len(STAGES)]
            if county:
                county_seen += 1
                tv = args.tv_every > 0 and county_seen % args.tv_every == 1 % args.tv_every
                stage = TV_STAGE if tv else stage
                plan.tv += int(tv)
            plan.county += int(county)
            plan.sms += int(sms)
            dept = COUNTY if county else town_department(town)
            record = Record(
                id=f"scale-{i:06d}", title=f"{'汉阴县' if county else town}2026年{domain}信息公开（第{i}号）",
                department=dept, stage=stage, domain=domain, item=f"{domain}标准",
                level="county" if county else "township", region=None if county else town,
                index_no=f"hy-scale-{i:06d}",
                body=[Heading(level=1, number="一、", text="基本情况"),
                      Paragraph(text=f"根据{domain}有关政策，{'县' if county else town}对第{i}批对象进行了审核，"
                                     "现将结果予以公示，公示期内如有异议请向有关部门反映。" * 2)])
            row = repo.save_version(s, record, findings=[], warnings=[], actor="system")
            workflow.submit(s, row, "system")
            reviewer = "county-reviewer" if county else f"town{towns.index(town) + 1:02d}-reviewer"
            workflow.approve(s, row, reviewer)
            plan.refs.append(record.id)
            if i % 500 == 499:
                s.commit()
    print(f"approved {args.records} records ({plan.county} county, {plan.sms} with SMS, {plan.tv} with a TV "
          f"package) in {time.perf_counter() - t0:.1f} s", flush=True)
    return plan


# --- the run -------------------------------------------------------------------------------------


class Publisher(threading.Thread):
    """Publishes the plan's records at ``rate`` per second through the application layer."""

    def __init__(self, refs: list[str], rate: float, stop: threading.Event) -> None:
        super().__init__(name="bench-publisher", daemon=True)
        self.refs, self.rate, self.stop_event = refs, rate, stop
        self.done = 0
        self.errors: list[str] = []
        self.first = self.last = 0.0

    def run(self) -> None:
        from hub.app import deliveries

        self.first = time.monotonic()
        for n, ref in enumerate(self.refs):
            due = self.first + n / self.rate
            while not self.stop_event.is_set() and time.monotonic() < due:
                time.sleep(min(0.05, due - time.monotonic()))
            if self.stop_event.is_set():
                return
            try:
                deliveries.publish(ref, actor="county-office", via="bench")
                self.done += 1
            except Exception as exc:  # noqa: BLE001 - counted and printed: a benchmark reports, it does not stop
                self.errors.append(f"{ref}: {type(exc).__name__}: {exc}"[:200])
        self.last = time.monotonic()


class Station(threading.Thread):
    """The TV station: every second, downloads each package ready on ``/tv`` (the pickup token)."""

    def __init__(self, base: str, token: str, stop: threading.Event) -> None:
        super().__init__(name="bench-station", daemon=True)
        self.base, self.token, self.stop_event = base, token, stop
        self.collected: set[int] = set()
        self.errors: list[str] = []

    def run(self) -> None:
        import httpx
        from sqlalchemy import select

        from hub.store.db import read_scope
        from hub.store.models import DeliveryRow

        with httpx.Client(timeout=60, headers={"Authorization": f"Bearer {self.token}"}) as client:
            while not self.stop_event.wait(1.0):
                try:
                    with read_scope() as conn:
                        ready = conn.execute(select(DeliveryRow.id).where(DeliveryRow.channel == "tv",
                                                                          DeliveryRow.state == "submitted")).scalars()
                        ids = [i for i in ready if i not in self.collected]
                except Exception as exc:  # noqa: BLE001 - a busy database: look again in a second
                    self.errors.append(type(exc).__name__)
                    continue
                for did in ids:
                    r = client.get(f"{self.base}/tv/{did}/download")
                    if r.status_code == 200:
                        self.collected.add(did)
                    else:
                        self.errors.append(f"tv/{did}/download: HTTP {r.status_code}")


def ledger_counts(record_prefix: str = "scale-") -> dict[str, int]:
    from sqlalchemy import func, select

    from hub.store.db import read_scope
    from hub.store.models import DeliveryRow

    with read_scope() as conn:
        rows = conn.execute(select(DeliveryRow.state, func.count()).where(DeliveryRow.record_id.like(
            record_prefix + "%")).group_by(DeliveryRow.state)).all()
    return {state: int(n) for state, n in rows}


def settled(counts: dict[str, int]) -> bool:
    return sum(n for s, n in counts.items() if s not in FINAL) == 0


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def report_latency() -> tuple[dict[str, list[float]], list[tuple[float, float]], float, float]:
    """Per channel publish→confirmed seconds; web (publish time, send seconds); first publish, last confirm."""
    from sqlalchemy import select

    from hub.store.db import read_scope
    from hub.store.models import DeliveryEventRow, DeliveryRow

    D, E = DeliveryRow, DeliveryEventRow
    with read_scope() as conn:
        deliveries = conn.execute(select(D.id, D.channel, D.created_at, D.state)
                                  .where(D.record_id.like("scale-%"), D.purpose == "publish")).all()
        events = conn.execute(select(E.delivery_id, E.to_state, E.at).join(D, D.id == E.delivery_id)
                              .where(D.record_id.like("scale-%")).order_by(E.id)).all()
    confirmed_at: dict[int, Any] = {}
    sending_at: dict[int, Any] = {}
    for did, to_state, at in events:
        if to_state == "confirmed":
            confirmed_at.setdefault(did, at)
        elif to_state == "sending":
            sending_at[did] = at  # the last attempt's claim
    by_channel: dict[str, list[float]] = defaultdict(list)
    web: list[tuple[float, float]] = []
    first = min((d.created_at for d in deliveries), default=None)
    last = max(confirmed_at.values(), default=None)
    for d in deliveries:
        done = confirmed_at.get(d.id)
        if done is None:
            continue
        by_channel[d.channel].append((done - d.created_at).total_seconds())
        if d.channel == "web" and d.id in sending_at:
            web.append((d.created_at.timestamp(), (done - sending_at[d.id]).total_seconds()))
    web.sort()
    span = (last - first).total_seconds() if first is not None and last is not None else float("nan")
    return by_channel, web, span, float(len(confirmed_at))


def portal_rates(base: str, record_id: str, seconds: float, clients: int) -> list[tuple[str, float, int]]:
    """Requests/s per path over ``seconds`` with ``clients`` threads (each its own keep-alive connection)."""
    import httpx

    paths = ["/healthz", "/", "/search?q=" + SMS_DOMAIN, f"/records/{record_id}", "/feed.xml"]
    out = []
    for path in paths:
        with httpx.Client(base_url=base, timeout=60) as warm:
            warm.get(path)
        counts, bad = [0] * clients, [0] * clients
        end = time.monotonic() + seconds

        def hammer(k: int, path: str = path, end: float = end, counts: list[int] = counts,
                   bad: list[int] = bad) -> None:
            with httpx.Client(base_url=base, timeout=30) as c:
                while time.monotonic() < end:
                    if c.get(path).status_code == 200:
                        counts[k] += 1
                    else:
                        bad[k] += 1

        threads = [threading.Thread(target=hammer, args=(k,)) for k in range(clients)]
        t0 = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        out.append((path, sum(counts) / (time.monotonic() - t0), sum(bad)))
    return out


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt  # a TERM stops the run through the same clean-up as Ctrl-C


def run(args: argparse.Namespace) -> int:
    signal.signal(signal.SIGTERM, _interrupt)
    work = Path(tempfile.mkdtemp(prefix="hub-bench-scale-"))
    logs = work / "logs"
    logs.mkdir()
    os.environ["HUB_VAR"] = str(work / "var")
    os.environ["HUB_CONFIG_DIR"] = str(work / "config")
    os.environ["HUB_CHECK_LINKS_REACHABLE"] = "0"
    os.environ["HUB_SMS_DIGEST_WINDOW"] = str(args.digest_window)
    if not args.full_video:
        os.environ["HUB_TTS"] = "none"
    write_config(work / "config", args.townships, small_video=not args.full_video)
    procs: list[Proc] = []
    stop = threading.Event()
    from hub.testing.servers import RedisServer, free_port

    redis = RedisServer(work).start()
    database = pg_database(base_pg_url(args.pg_url))
    db_url = database.__enter__()
    try:
        from hub.audience.subscribers import new_key
        from hub.sandbox.app import random_secrets
        from hub.testing.caches import clear_caches

        clear_caches()
        sandbox_port, smtp_port = free_port(), free_port()
        os.environ.update(random_secrets())  # fresh secrets: the sandbox accepts exactly these
        os.environ.update({
            "HUB_DATABASE_URL": db_url, "HUB_BROKER_URL": redis.url, "HUB_PHONE_KEY": new_key(),
            "HUB_TV_PICKUP_TOKEN": os.urandom(16).hex(),
            "HUB_SANDBOX_URL": f"http://127.0.0.1:{sandbox_port}",
            "HUB_TENCENT_ENDPOINT": f"127.0.0.1:{sandbox_port}",
            "HUB_TENCENT_TTS_ENDPOINT": f"127.0.0.1:{sandbox_port}",
            "HUB_SMTP_HOST": "127.0.0.1", "HUB_SMTP_PORT": str(smtp_port)})
        clear_caches()
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        procs.append(start("sandbox", [sys.executable, str(Path(__file__).resolve()), "--serve-sandbox",
                                       f"{sandbox_port},{smtp_port}"], logs, env))
        wait_http(f"http://127.0.0.1:{sandbox_port}/_sandbox/messages")
        from hub.queue import actors
        from hub.store.db import get_engine

        get_engine()  # the schema, before any process uses the database
        actors.rebind_from_settings()
        plan = seed(args)

        port = free_port()
        base = f"http://127.0.0.1:{port}"
        os.environ["HUB_PUBLIC_URL"] = base
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        hub_cli = [sys.executable, "-m", "hub.cli"]
        procs.append(start("serve", [*hub_cli, "serve", "--host", "127.0.0.1", "--port", str(port)], logs, env))
        if args.workers == 1:
            kinds = [[]]
        else:
            kinds = [["--queues", "deliveries,confirm"]] * (args.workers - 1) + [["--queues", "video"]]
        for n, extra in enumerate(kinds):
            name = f"worker{n + 1}" + ("-video" if "video" in extra else "")
            procs.append(start(name, [*hub_cli, "worker", "--processes", "1", "--threads",
                                      str(args.threads), *extra], logs, env))
        wait_http(base + "/healthz")

        publisher = Publisher(plan.refs, args.rate, stop)
        station = Station(base, os.environ["HUB_TV_PICKUP_TOKEN"], stop)
        t0 = time.monotonic()
        publisher.start()
        station.start()
        deadline = t0 + args.timeout
        counts: dict[str, int] = {}
        last_print = 0.0
        while time.monotonic() < deadline:
            time.sleep(1.0)
            counts = ledger_counts()
            if publisher.last and settled(counts):
                break
            if time.monotonic() - last_print > 15:
                last_print = time.monotonic()
                print(f"  t={time.monotonic() - t0:5.0f} s published {publisher.done}/{len(plan.refs)} "
                      f"ledger {dict(sorted(counts.items()))}", flush=True)
            dead = [p.name for p in procs if p.popen.poll() is not None]
            if dead:
                print(f"stopped early: {', '.join(dead)} exited (logs in {logs})", flush=True)
                break
        wall = time.monotonic() - t0
        timed_out = not settled(counts) or not publisher.last
        stop.set()
        publisher.join(timeout=30)
        station.join(timeout=30)
        print_results(args, plan, publisher, station, counts, wall, timed_out)

        print("\nportal (hub serve, one uvicorn process) after the run:", flush=True)
        sample_id = plan.refs[len(plan.refs) // 2]
        rates = portal_rates(base, sample_id, args.portal_seconds, args.clients)
        yard = rates[0][1] or float("nan")
        print(f"{'path':<34}{'req/s':>9}{'× /healthz':>12}{'errors':>8}")
        for path, rps, bad in rates:
            print(f"{path:<34}{rps:>9.1f}{rps / yard:>12.2f}{bad:>8}")

        print("\npeak memory (VmHWM, MiB):")
        for p in procs:
            pids = p.tree()
            peaks = [peak_kib(pid) / 1024 for pid in pids]
            print(f"  {p.name:<16}{sum(peaks):8.0f}  ({len(pids)} processes: "
                  f"{', '.join(f'{m:.0f}' for m in peaks)})")
        if redis.proc is not None:
            print(f"  {'redis-server':<16}{peak_kib(redis.proc.pid) / 1024:8.0f}")
        print(f"  {'bench':<16}{peak_kib(os.getpid()) / 1024:8.0f}")
        if args.keep:
            print(f"\nlogs: {logs}")
        print(f"load average: {os.getloadavg()[0]:.1f}")
        return 1 if timed_out or publisher.errors else 0
    finally:
        stop.set()
        for p in reversed(procs):
            p.stop()
        redis.stop()
        database.__exit__(None, None, None)  # after every process that used it stopped
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


def print_results(args: argparse.Namespace, plan: Plan, publisher: Publisher, station: Station,
                  counts: dict[str, int], wall: float, timed_out: bool) -> None:
    from sqlalchemy import func, select

    from hub.store.db import read_scope
    from hub.store.models import SmsRecipientRow

    by_channel, web, span, confirmed = report_latency()
    with read_scope() as conn:
        numbers = int(conn.scalar(select(func.count()).select_from(SmsRecipientRow)) or 0)
    print(f"\n{args.records} records ({plan.county} county, {args.townships} townships), {args.subscribers} "
          f"subscribers, {args.workers} hub worker(s), PostgreSQL + Redis")
    pub_s = (publisher.last or time.monotonic()) - publisher.first
    print(f"published {publisher.done} records in {pub_s:.1f} s ({publisher.done / max(pub_s, 1e-9):.1f}/s)"
          + (f"; {len(publisher.errors)} refused, first: {publisher.errors[0]}" if publisher.errors else ""))
    print(f"ledger: {dict(sorted(counts.items()))}; SMS numbers: {numbers}; TV packages collected: "
          f"{len(station.collected)}" + (f" ({len(station.errors)} station errors)" if station.errors else ""))
    print(f"throughput: {confirmed:.0f} deliveries confirmed in {span:.1f} s = {confirmed / span:.1f}/s "
          f"(wall {wall:.1f} s{', TIMED OUT' if timed_out else ''})")
    print(f"\n{'channel':<12}{'confirmed':>10}{'p50 s':>9}{'p99 s':>9}   publish → confirmed")
    for channel in sorted(by_channel):
        v = by_channel[channel]
        print(f"{channel:<12}{len(v):>10}{pct(v, 50):>9.2f}{pct(v, 99):>9.2f}")
    if len(web) >= 40:
        k = 20
        around = max(0, min(len(web) - 2 * k, 100 - k // 2))
        early = [s for _, s in web[around:around + k]]
        late = [s for _, s in web[-k:]]
        e_ms, l_ms = statistics.median(early) * 1000, statistics.median(late) * 1000
        print(f"\nweb delivery (send: claim → confirmed), median of {k}: at ≈{around + k // 2} published "
              f"{e_ms:.0f} ms, at ≈{len(web)} published {l_ms:.0f} ms: {l_ms / e_ms:.2f}×")
    else:
        print(f"\nweb delivery cost: too few web deliveries ({len(web)}) to compare early and late")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=1000)
    ap.add_argument("--subscribers", type=int, default=10000)
    ap.add_argument("--townships", type=int, default=20, choices=range(1, len(TOWNS) + 1), metavar="1..20")
    ap.add_argument("--workers", type=int, default=3, help="hub worker processes (≥ 2: the last one video-only)")
    ap.add_argument("--threads", type=int, default=8, help="threads per worker process (quick queues)")
    ap.add_argument("--rate", type=float, default=5.0, help="records published per second")
    ap.add_argument("--sms-every", type=int, default=40,
                    help="every k-th record goes to SMS subscribers (keep each number under the operator's "
                         "10 SMS a day: beyond it Tencent holds them until midnight, and so does the sandbox)")
    ap.add_argument("--tv-every", type=int, default=1, help="every k-th county record goes to TV (0: none)")
    ap.add_argument("--full-video", action="store_true", help="the station's 1080p profile and narration")
    ap.add_argument("--digest-window", default="0",
                    help="HUB_SMS_DIGEST_WINDOW (default 0: publish-to-confirmed measures the engine, not the 30 min "
                         "the production default holds an SMS for company)")
    ap.add_argument("--timeout", type=float, default=1800.0, help="seconds the delivery phase may take at most")
    ap.add_argument("--portal-seconds", type=float, default=5.0, help="seconds of load per portal page")
    ap.add_argument("--clients", type=int, default=4, help="concurrent portal clients")
    ap.add_argument("--pg-url", default=None, help="PostgreSQL server (default HUB_TEST_PG_URL or scripts/services.sh)")
    ap.add_argument("--keep", action="store_true", help="keep the work directory (logs, var/)")
    ap.add_argument("--serve-sandbox", metavar="PORT,SMTP_PORT", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.serve_sandbox:
        port, smtp_port = (int(x) for x in args.serve_sandbox.split(","))
        serve_sandbox(port, smtp_port)
        return 0
    if args.records < 1 or args.workers < 1 or args.sms_every < 1 or args.rate <= 0:
        ap.error("--records, --workers, --sms-every and --rate must be positive")
    return run(args)


if __name__ == "__main__":
    sys.exit(main())

