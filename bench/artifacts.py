"""The artifact store with a package-sized file: local directory vs S3-compatible (moto_server on 127.0.0.1).

Prints, for one file of ``--mb`` MiB: put_file (hash + copy / multipart upload), fetching it on
another node (``local``: download into that node's cache, hash-checked) and streaming it whole
(``stream``), each as MiB/s and as a ratio to the local directory measured in the same run (where
the other node shares the directory, so "fetch" is only a lookup); and
the peak of Python's traced allocations during the S3 transfer, to show the package is never held
in memory (it stays a few MiB whatever ``--mb`` is). moto keeps objects in its own process's
memory, so the S3 figures say what the hub's side costs, not what MinIO or COS would do.

    .venv/bin/python bench/artifacts.py --mb 64
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

from hub.artifacts import ArtifactStore, S3Backend


def timed(fn: Callable[[], object]) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mb", type=int, default=64)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="hub-bench-artifacts-"))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    exe = Path(sys.executable).with_name("moto_server")
    proc = subprocess.Popen([str(exe), "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    os.environ.update({"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": secrets.token_hex(16),
                       "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL_S3": f"http://127.0.0.1:{port}",
                       "NO_PROXY": "127.0.0.1"})
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.1)
        source = work / "package.zip"
        with source.open("wb") as fh:
            for _ in range(args.mb):
                fh.write(os.urandom(1 << 20))
        results: dict[str, dict[str, float]] = {}
        for label, remote in (("local", None), ("s3", S3Backend("bench", "hub"))):
            if remote is not None:
                remote.client.create_bucket(Bucket="bench")
            store = ArtifactStore(work / label / "a", remote)
            # the other node: its own empty cache of the bucket; on a shared directory, the same directory
            other = ArtifactStore(work / label / "b", remote) if remote else store
            tracemalloc.start()
            put = args.mb / timed(lambda store=store: store.put_file(source, ".zip", "application/zip"))
            peak_put = tracemalloc.get_traced_memory()[1] / (1 << 20)
            tracemalloc.stop()
            art_name = next((work / label / "a").rglob("*.zip")).name
            art = store.put_file(source, ".zip", "application/zip")  # the second put: a no-op
            tracemalloc.start()
            fetch = args.mb / timed(lambda other=other, art=art: other.local(art))
            stream = args.mb / timed(lambda src=(remote or store), n=art_name: sum(len(b) for b in src.stream(n)))
            peak_get = tracemalloc.get_traced_memory()[1] / (1 << 20)
            tracemalloc.stop()
            results[label] = {"put_file MiB/s": put, "fetch on another node MiB/s": fetch,
                              "stream from the backend MiB/s": stream, "peak traced MiB (put)": peak_put,
                              "peak traced MiB (fetch+stream)": peak_get}
        print(f"artifact store, one {args.mb} MiB package")
        for key in results["local"]:
            local, s3 = results["local"][key], results["s3"][key]
            ratio = f"{s3 / local:6.3f}x local" if "MiB/s" in key else ""
            print(f"  {key:32} local {local:8.1f}   s3 {s3:8.1f}   {ratio}")
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
