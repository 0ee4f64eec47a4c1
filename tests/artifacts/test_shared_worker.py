"""Several machines (issue 19): a ``hub worker`` with its own HUB_VAR delivers, the web node serves from the store.

Real: PostgreSQL (the shared ledger), redis-server (the broker), ``moto_server`` (the S3
wire protocol on 127.0.0.1), ``hub worker`` in a subprocess with a HUB_VAR of its own,
and the web app of this process with another HUB_VAR. The worker's home is deleted
before the web node serves, so nothing can come from it. The version's ``video``
rendition is stored by a separate process on the worker's side (a 1920×1080 JPEG
poster, an MP4-named file, the zip) as tests/channels/test_screen_engine.py does: the
video renderer is tested in tests/video; here it would cost 25 s to minutes on the
shared 2-core machine and is not what is tested. The portal's rendition is really
rendered by the worker.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from s3kit import S3Server

from hub.store.db import session_scope
from hub.store.models import DeliveryRow, RenditionRow
from hub.testing.caches import clear_caches

with warnings.catch_warnings():  # starlette warns that its TestClient will move to httpx2 (as tests/web does)
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

DEPT = "汉阴县人民政府办公室"
TOKEN = "tv-pickup-token-for-shared-store"
QUEUE_ENV = {"HUB_QUEUE_LEASE": "3", "HUB_QUEUE_MIN_BACKOFF": "0.3", "HUB_QUEUE_MAX_BACKOFF": "2",
             "HUB_QUEUE_CONFIRM_FIRST": "0.3", "HUB_QUEUE_CONFIRM_MAX": "1", "HUB_QUEUE_TICK": "0.3",
             "HUB_QUEUE_HINT_GRACE": "1", "dramatiq_queue_prefetch": "8"}

#: run on the worker's side: store the version's video rendition (its files go to the bucket)
STORE_VIDEO = textwrap.dedent('''
    import io, sys
    from PIL import Image
    from hub.artifacts import get_store
    from hub.deliverables import Rendition
    from hub.store.db import session_scope
    from hub.store.models import RenditionRow
    from hub.timeutil import utcnow

    version, record_id = sys.argv[1], sys.argv[2]
    store = get_store()
    buf = io.BytesIO()
    Image.new("RGB", (1920, 1080), (180, 30, 30)).save(buf, "JPEG", quality=80)
    poster = store.put(buf.getvalue(), ".jpg", "image/jpeg")
    video = store.put(b"\\x00\\x00\\x00\\x18ftypmp42" + version.encode() * 64, ".mp4", "video/mp4")
    srt = store.put("1\\n00:00:00,000 --> 00:00:02,500\\n城市低保标准提高\\n".encode(), ".srt", "text/plain")
    main = store.put(b"PK\\x03\\x04" + version.encode() * 32, ".zip", "application/zip")
    rendition = Rendition("video", record_id, version, main,
                          files={"poster.jpg": poster, "video.mp4": video, "subtitles.srt": srt},
                          facts={"package": record_id + "-" + version[:12]})
    with session_scope() as s:
        s.add(RenditionRow(version=version, kind="video", sha256=main.sha256, path=str(main.path),
                           bytes=main.bytes, data=rendition.to_json(), created_at=utcnow()))
''')


def sign_in(client: TestClient, name: str, password: str) -> int:
    html = client.get("/console/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert token, "no csrf token on the login page"
    return client.post("/console/login", data={"name": name, "password": password, "csrf_token": token.group(1),
                                               "next": "/console"}, follow_redirects=False).status_code


def approve() -> tuple[str, str]:
    from hub import auth, workflow
    from hub.record import Paragraph, Record, Stage

    record = Record(id="hanyin-shared-store-1", title="关于调整城乡低保标准的通知", department=DEPT,
                    stage=Stage.DECISION, body=[Paragraph(text="城市低保标准提高到每人每月760元。")])
    with session_scope() as s:
        auth.add_user(s, "reviewer", "reviewer", DEPT, "shared-store-reviewer")
    with session_scope() as s:
        row = workflow.save_draft(s, record, actor="system")
        workflow.submit(s, row, "system")
        workflow.approve(s, row, "reviewer")
        return row.version, record.id


@pytest.fixture
def two_machines(s3: S3Server, pg_database: str, redis_server: Any, tmp_path: Path,
                 monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """This process is the web node (the test's HUB_VAR); ``worker_env`` is the other machine's environment."""
    from hub.queue import actors
    from hub.queue.broker import make_broker

    for k, v in QUEUE_ENV.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("HUB_BROKER_URL", str(redis_server.url))
    monkeypatch.setenv("HUB_TV_PICKUP_TOKEN", TOKEN)
    clear_caches()
    broker = actors.rebind_from_settings()
    worker_var = tmp_path / "worker-machine" / "var"
    worker_env = {**os.environ, "HUB_VAR": str(worker_var)}
    try:
        yield {"worker_var": worker_var, "worker_env": worker_env, "log": tmp_path / "worker.log"}
    finally:
        actors.bind(make_broker(None))
        broker.close()


def wait_for(ids: list[int], log: Path, timeout: float = 90) -> dict[str, DeliveryRow]:
    deadline = time.monotonic() + timeout
    while True:
        with session_scope() as s:
            rows = {r.channel: r for r in (s.get(DeliveryRow, i) for i in ids) if r is not None}
            for r in rows.values():
                s.expunge(r)
        if rows["tv"].state == "submitted" and rows["web"].state == "confirmed":
            return rows
        if time.monotonic() > deadline:
            tail = log.read_text("utf-8", "replace")[-3000:] if log.exists() else ""
            raise AssertionError({c: (r.state, r.last_error_msg) for c, r in rows.items()}, tail)
        time.sleep(0.3)


@pytest.mark.postgres
@pytest.mark.slow
def test_a_worker_with_another_home_delivers_a_package_the_web_node_serves_from_the_shared_store(
        two_machines: dict[str, Any], s3: S3Server, hub_home: Path) -> None:
    from hub.queue.publish import publish_and_enqueue
    from hub.web.app import create_app

    version, record_id = approve()
    env = two_machines["worker_env"]
    subprocess.run([sys.executable, "-c", STORE_VIDEO, version, record_id], env=env, check=True, timeout=120)
    ids = publish_and_enqueue(version, actor="system", channels=["web", "tv"])

    with two_machines["log"].open("ab") as log:
        worker = subprocess.Popen([sys.executable, "-m", "hub.cli", "worker", "--processes", "1", "--threads", "2"],
                                  env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            rows = wait_for(ids, two_machines["log"])
        finally:
            os.killpg(worker.pid, signal.SIGTERM)
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(worker.pid, signal.SIGKILL)
                worker.wait(timeout=10)
    assert s3.secret not in two_machines["log"].read_text("utf-8", "replace")  # boto3's keys never logged
    worker_var: Path = two_machines["worker_var"]
    assert (worker_var / "pickup" / "tv" / rows["tv"].provider_ref).is_dir()  # the worker's own pickup area
    shutil.rmtree(worker_var)  # the other machine is gone: the web node has only the database and the bucket
    assert not (hub_home / "artifacts").exists() and not (hub_home / "pickup").exists()

    with session_scope() as s:
        video = {r.kind: r for r in s.query(RenditionRow).filter(RenditionRow.version == version)}
        zip_sha, zip_path = video["video"].sha256, Path(video["video"].path)
        files = video["video"].data["files"]
        web_main = video["web"].data["main"]
    bucket = s3.client()
    zip_bytes = bucket.get_object(Bucket=s3.bucket, Key=s3.key(zip_path.name))["Body"].read()
    assert hashlib.sha256(zip_bytes).hexdigest() == zip_sha

    client = TestClient(create_app(warm_search=False), base_url="http://127.0.0.1")
    head = {"Authorization": f"Bearer {TOKEN}"}
    tv_id = rows["tv"].id
    assert f"/tv/{tv_id}/download" in client.get("/tv", headers=head).text

    # the preview player seeks: a byte range of the video, streamed from the bucket
    mp4_name = Path(files["video.mp4"]["path"]).name
    mp4 = bucket.get_object(Bucket=s3.bucket, Key=s3.key(mp4_name))["Body"].read()
    part = client.get(f"/tv/{tv_id}/media/video.mp4", headers={**head, "Range": "bytes=8-23"})
    assert part.status_code == 206 and part.content == mp4[8:24], part.status_code
    assert part.headers["content-range"] == f"bytes 8-23/{len(mp4)}"
    assert client.get(f"/tv/{tv_id}/media/video.mp4", headers={**head, "Range": f"bytes={len(mp4)}-"}).status_code == 416
    whole = client.get(f"/tv/{tv_id}/media/video.mp4", headers=head)
    assert whole.status_code == 200 and whole.content == mp4
    assert "城市低保标准提高" in client.get(f"/tv/{tv_id}/media/subtitles.vtt", headers=head).text

    # the station downloads the package: assembled here from the bucket, checked, recorded as collected
    got = client.get(f"/tv/{tv_id}/download", headers=head)
    assert got.status_code == 200 and got.content == zip_bytes
    from hub.channels.tv import collected

    with session_scope() as s:
        done = collected(s, rows["tv"].provider_ref)
    assert done is not None and done["matches"] is True and done["by"] == "tv-token"

    # the portal rendition the worker rendered, served to staff by its content name
    assert sign_in(client, "reviewer", "shared-store-reviewer") == 303
    name = Path(web_main["path"]).name
    page = client.get(f"/console/artifacts/{name}")
    assert page.status_code == 200 and page.content == bucket.get_object(
        Bucket=s3.bucket, Key=s3.key(name))["Body"].read()
    assert "content-security-policy" in page.headers
    assert client.get(f"/console/artifacts/{'f' * 64}.html").status_code == 404
