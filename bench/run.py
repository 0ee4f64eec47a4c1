"""Run every benchmark in turn (``make bench``); each prints its own figures and ratios.

Every benchmark measures its baseline in the same process as the thing it
measures (these machines drift ±30–40 %), so only the ratios are comparable
across runs. Pass ``--only NAME`` to run one.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

#: name → arguments; defaults are the issue's figures, the soak runs its short form.
BENCHES: dict[str, list[str]] = {
    "ingest": ["bench_ingest.py"],
    "renderers": ["renderers.py"],
    "video": ["video.py"],
    "delivery": ["delivery.py"],
    "sms_fanout": ["sms_fanout.py"],
    "soak": ["soak.py", "--short"],
    "web": ["web.py"],
    "web_delivery": ["web_delivery.py"],
    "ledger_writes": ["ledger_writes.py"],
    "phone_rotate": ["phone_rotate.py"],
    "artifacts": ["artifacts.py", "--mb", "64"],
    # the county at moderate size (issue 19; full size: --records 10000 --subscribers 100000, over an hour here)
    "scale": ["scale.py", "--records", "1000", "--subscribers", "10000", "--tv-every", "6"],
}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", choices=sorted(BENCHES), action="append")
    args = ap.parse_args()
    failed = []
    for name in args.only or list(BENCHES):
        script, *rest = BENCHES[name]
        print(f"\n=== {name}: bench/{script} {' '.join(rest)}", flush=True)
        rc = subprocess.call([sys.executable, str(HERE / script), *rest])
        if rc != 0:
            failed.append(name)
    if failed:
        print(f"\nbenchmarks that failed: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
