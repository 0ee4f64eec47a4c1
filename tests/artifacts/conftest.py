"""A real S3-compatible server on 127.0.0.1 for the artifact store: ``moto_server`` in a subprocess.

Why a subprocess and not moto's in-process mock: the hub must talk the S3 wire protocol over
HTTP to a server it does not share memory with, exactly as it talks to MinIO or COS, and the
``hub worker`` of the shared-store test reaches the same server from another process.
What this does and does not prove: docs/decisions/2026-12-03-artifact-store.md.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from s3kit import BUCKET, PREFIX, S3Server, free_port

from hub.testing.caches import clear_caches


@pytest.fixture
def s3(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[S3Server]:
    """``moto_server`` on a free loopback port, a bucket in it, and ``HUB_ARTIFACTS`` pointing the hub at it."""
    exe = shutil.which("moto_server", path=str(Path(sys.executable).parent))
    if exe is None:
        pytest.fail("moto_server is not installed: pip install the test extras (moto[server])")
    port = free_port()
    log = (tmp_path / "moto.log").open("wb")
    proc = subprocess.Popen([exe, "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    endpoint = f"http://127.0.0.1:{port}"
    secret = secrets.token_urlsafe(24)
    # boto3's own variables: the hub reads none of them itself; no ~/.aws file may leak in
    for name, value in {"AWS_ACCESS_KEY_ID": "hubtest" + secrets.token_hex(4), "AWS_SECRET_ACCESS_KEY": secret,
                        "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL_S3": endpoint,
                        "AWS_CONFIG_FILE": str(tmp_path / "no-aws-config"),
                        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-aws-credentials"),
                        "NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, "moto_server did not start"
                time.sleep(0.1)
        server = S3Server(endpoint, BUCKET, PREFIX, secret)
        server.client().create_bucket(Bucket=BUCKET)
        monkeypatch.setenv("HUB_ARTIFACTS", server.url)
        clear_caches()
        yield server
    finally:
        clear_caches()
        os.killpg(proc.pid, 15)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            proc.wait(timeout=10)
        log.close()
