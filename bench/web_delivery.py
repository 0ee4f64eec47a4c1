"""The web delivery's cost against the number of published records (issue 19: flat from 100 to 10,000).

    .venv/bin/python bench/web_delivery.py [--sizes 100,1000] [--n 10000] [--sends 10]

One process, one embedded database that grows: at each size it publishes ``--sends``
fresh records (rendered for real, saved, marked published) and times only
``WebChannel.send`` for each (the record's page, the first pages of its listings, the
archive page it completes, the feed), printing the median and the ratio to the first
size (target ≤ 1.2x). The filler records are copies of one rendered record's web
rendition with their own ids, titles, stages, domains and levels (rendering 10,000 pages
would take longer than the measurement). For reference it also times the whole-site
rebuild (``site_files``; no delivery runs it any more). CPU time is printed beside wall time: on a
shared machine the wall clock swings with the others' load. Not a test: numbers only; CI does not run it.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import statistics
import tempfile
import time
from typing import Any


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="100,1000")
    ap.add_argument("--n", type=int, default=None, help="a last, larger size (10000 for the issue's full size)")
    ap.add_argument("--sends", type=int, default=10)
    ap.add_argument("--no-rebuild", action="store_true", help="skip timing the whole-site rebuild")
    ap.add_argument("--profile", action="store_true", help="print a profile of the sends at each size")
    args = ap.parse_args()
    sizes = [int(x) for x in args.sizes.split(",")] + ([args.n] if args.n else [])
    os.environ["HUB_VAR"] = tempfile.mkdtemp(prefix="hub-bench-webdel-")

    from sqlalchemy import update

    from hub.channels.web import WebChannel
    from hub.config import get_config
    from hub.deliverables import Target
    from hub.record import Paragraph, Record
    from hub.renderers.base import ArtifactStore
    from hub.renderers.context import build_context
    from hub.renderers.web import render_web
    from hub.settings import get_settings
    from hub.store import repo
    from hub.store.db import session_scope
    from hub.store.models import RecordRow, RenditionRow, VersionRow
    from hub.timeutil import utcnow
    from hub.web import counts

    settings = get_settings()
    web = WebChannel(get_config(), settings)
    store = ArtifactStore(settings.artifacts_dir)
    target = Target("web", "portal", "site", {})
    domains = ["征地补偿", "扶贫救灾", "教育", "医疗卫生", "就业", "社会救助", "市场监管", "生态环境"]
    stages = ["决策", "执行", "管理", "服务", "结果"]
    levels = ["county", "township"]
    counter = iter(range(10**9))

    def record(i: int) -> Record:
        return Record(id=f"bench-{i:06d}", title=f"2026年{domains[i % 8]}第{i}批信息公开", department="汉阴县人民政府办公室",
                      stage=stages[i % 5], domain=domains[i % 8], level=levels[i % 2],  # type: ignore[arg-type]
                      body=[Paragraph(text=f"第{i}批对象的审核结果予以公示。" * 3)])  # type: ignore[call-arg]

    def publish(i: int) -> tuple[Any, str]:
        r = record(i)
        with session_scope() as s:
            version = repo.save_version(s, r, findings=[], warnings=[], actor="bench").version
        rendition = render_web(r, build_context(r, version), store)
        with session_scope() as s:
            s.execute(update(VersionRow).where(VersionRow.version == version)
                      .values(state="published", published_at=utcnow()))
            counts.published(s, s.get(VersionRow, version))  # as the workflow's publish transition does
            s.add(RenditionRow(version=version, kind="web", sha256=rendition.main.sha256, path=str(rendition.main.path),
                               bytes=rendition.main.bytes, data=rendition.to_json(), created_at=utcnow()))
        return rendition, f"bench-web-{version}"

    template, _ = publish(next(counter))

    def fill(n: int) -> None:
        """Copies of the template's rendition with their own identity, published now."""
        with session_scope() as s:
            base = s.get(VersionRow, template.version)
            assert base is not None
            now = utcnow()
            records: list[Any] = []
            versions: list[Any] = []
            renditions: list[Any] = []
            for _ in range(n):
                i = next(counter)
                rid, vid = f"bench-{i:06d}", f"{i:064x}"
                records.append(RecordRow(id=rid, created_at=now, updated_at=now))
                versions.append(VersionRow(version=vid, record_id=rid, content=base.content, source=None, state="published",
                                 title=f"副本{i}", department=base.department, stage=stages[i % 5],
                                 domain=domains[i % 8], level=levels[i % 2], warnings=[], created_at=now,
                                 published_at=now))
                entry = {**template.facts["entry"], "record_id": rid, "version": vid, "title": f"副本{i}",
                         "stage": stages[i % 5], "domain": domains[i % 8], "level": levels[i % 2]}
                data = template.to_json()
                renditions.append(RenditionRow(version=vid, kind="web", sha256=template.main.sha256, path=str(template.main.path),
                                   bytes=template.main.bytes, data={**data, "facts": {**data["facts"], "entry": entry}},
                                   created_at=now))
            for batch in (records, versions, renditions):  # in foreign-key order
                s.add_all(batch)
                s.flush()
            counts.recount(s)  # published around the workflow: the kept counts rebuilt once

    def published() -> int:
        with session_scope() as s:
            return s.query(VersionRow).filter(VersionRow.state == "published").count()

    print(f"{'published':>10}{'send median ms':>16}{'× first':>9}{'cpu median ms':>15}{'× first':>9}{'rebuild ms':>12}")
    first: tuple[float, float] | None = None
    for size in sizes:
        profile = cProfile.Profile() if args.profile else None
        fill(max(0, size - published()))
        times, cpu = [], []
        for _ in range(args.sends):
            rendition, key = publish(next(counter))
            if profile is not None:
                profile.enable()
            t0, c0 = time.perf_counter(), time.process_time()
            web.send(rendition, target, key)
            times.append((time.perf_counter() - t0) * 1000)
            cpu.append((time.process_time() - c0) * 1000)
            if profile is not None:
                profile.disable()
        ms, cpu_ms = statistics.median(times), statistics.median(cpu)
        first = first or (ms, cpu_ms)
        rebuild = ""
        if not args.no_rebuild:
            t0 = time.perf_counter()
            web.site_files()
            rebuild = f"{(time.perf_counter() - t0) * 1000:.0f}"
        print(f"{size:>10}{ms:>16.1f}{ms / first[0]:>9.2f}{cpu_ms:>15.1f}{cpu_ms / first[1]:>9.2f}{rebuild:>12}")
        if profile is not None:
            pstats.Stats(profile).sort_stats("tottime").print_stats(12)
    print(f"load average: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
