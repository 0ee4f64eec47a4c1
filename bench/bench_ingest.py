"""Ingest and check throughput, as ratios against reading+decoding the same bytes (same process).

    .venv/bin/python bench/bench_ingest.py

Inputs: the county sample page; the same page repeated to ~2 MB; a generated 公示
list of 2,000 rows (Markdown table with checksum-valid IDs, mobiles and cards).
Not a test: it prints numbers for the report and for spotting regressions.
"""

from __future__ import annotations

import random
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "checks"))

from pii_gen import bank_card, id_number, mobile  # noqa: E402

from hub.checks import run_checks  # noqa: E402
from hub.ingest import ingest_path  # noqa: E402
from hub.ingest.textio import read_text  # noqa: E402
from hub.settings import PROJECT_ROOT  # noqa: E402


def best(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    tmp = Path(tempfile.mkdtemp())
    sample = PROJECT_ROOT / "samples" / "hanyin-2017-168-wugongkai.txt"
    text = sample.read_text(encoding="utf-8")
    title, rest = text.split("\n", 1)
    head = "\n".join(rest.split("\n")[:4])
    body = "\n".join(rest.split("\n")[4:-3])
    big = tmp / "big.txt"
    big.write_text(title + "\n" + head + "\n" + "\n".join([body] * 170) + "\n汉阴县人民政府办公室\n2017年11月15日\n",
                   encoding="utf-8")
    rng = random.Random(1)
    rows = [f"| {n} | 某某 | {id_number(rng)} | {mobile(rng)} | {bank_card(rng)} | 500.00 |" for n in range(2000)]
    gs = tmp / "gs.md"
    gs.write_text('+++\ntitle = "公示"\n+++\n\n| 序号 | 姓名 | 身份证 | 手机 | 卡号 | 金额 |\n|---|---|---|---|---|---|\n'
                  + "\n".join(rows) + "\n", encoding="utf-8")
    print(f"{'input':28} {'bytes':>9} {'read+decode':>12} {'ingest':>9} {'x':>6} {'checks':>9} {'x':>6} findings")
    for name, path, repeat in (("sample page", sample, 50), ("page x170 (~0.8 MB)", big, 3), ("公示 2000 rows", gs, 3)):
        base = best(lambda p=path: read_text(p), repeat)
        ing = best(lambda p=path: ingest_path(p), repeat)
        [item] = ingest_path(path)
        chk = best(lambda i=item: run_checks(i.record, source_text=i.source_text), repeat)
        n = len(run_checks(item.record, source_text=item.source_text))
        print(f"{name:28} {path.stat().st_size:>9} {base * 1e3:>10.2f}ms {ing * 1e3:>7.1f}ms {ing / base:>6.0f} "
              f"{chk * 1e3:>7.1f}ms {chk / base:>6.0f} {n}")


if __name__ == "__main__":
    main()
