"""Phone-key rotation benchmark: N subscribers stored as Fernet tokens (before AES-GCM) → ``rotate_stored``.

    .venv/bin/python bench/phone_rotate.py [--subscribers 100000] [--batch 500]

Runs in a temporary hub home (SQLite). Prints the time of the whole rotation
(read, decrypt, re-encrypt, compare-and-set write, one transaction per batch), and
in the same run the floor: the same decryptions and encryptions in memory with no
database, ratio = floor / rotation. Not a test: numbers only.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--subscribers", type=int, default=100_000)
    ap.add_argument("--batch", type=int, default=500)
    args = ap.parse_args()
    home = tempfile.mkdtemp(prefix="hub-bench-")
    os.environ["HUB_VAR"] = home
    os.environ.pop("HUB_DATABASE_URL", None)
    os.environ.pop("HUB_PHONE_HASH_KEY", None)
    from cryptography.fernet import Fernet
    from sqlalchemy import insert

    from hub.audience import phones
    from hub.store.db import session_scope
    from hub.store.models import SubscriberRow
    from hub.timeutil import utcnow

    old = phones.new_key()
    os.environ["HUB_PHONE_KEY"] = old
    fernet, vault, now, n = Fernet(old.encode()), phones.get_vault(), utcnow(), args.subscribers
    try:
        t0 = time.perf_counter()
        with session_scope() as s:
            for start in range(0, n, 5000):
                s.execute(insert(SubscriberRow), [
                    {"phone_enc": fernet.encrypt(f"+86138{i:08d}".encode()), "phone_hash": vault.hash(f"+86138{i:08d}"),
                     "phone_tail": f"{i:04d}"[-4:], "level": "county", "region": None, "topics": [],
                     "opted_out_at": None, "created_at": now} for i in range(start, min(n, start + 5000))])
        print(f"setup: {n} subscribers stored as Fernet tokens in {time.perf_counter() - t0:.1f} s")
        os.environ["HUB_PHONE_KEY"] = f"{phones.new_key()},{old}"
        with session_scope() as s:
            tokens = list(s.scalars(SubscriberRow.__table__.select().with_only_columns(SubscriberRow.phone_enc)))
        vault = phones.get_vault()
        t0, c0 = time.perf_counter(), time.process_time()
        for token in tokens:
            vault.encrypt(vault.decrypt(token))
        floor_s, floor_cpu = time.perf_counter() - t0, time.process_time() - c0
        t0, c0 = time.perf_counter(), time.process_time()
        report = phones.rotate_stored(session_scope, batch=args.batch)
        rot_s, rot_cpu = time.perf_counter() - t0, time.process_time() - c0
        with session_scope() as s:
            left = phones.key_usage(s).pending
        print(f"rotate: {report.rotated['subscribers']} re-encrypted in {rot_s:.2f} s "
              f"({n / rot_s:,.0f}/s, CPU {rot_cpu:.2f} s, batch {args.batch}); left on an old key: {left}")
        print(f"floor (decrypt + encrypt in memory): {floor_s:.2f} s, CPU {floor_cpu:.2f} s")
        print(f"ratio floor/rotation: {floor_s / rot_s:.2f}; load {os.getloadavg()[0]:.1f}")
    finally:
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
