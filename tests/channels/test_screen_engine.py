"""The village screens through the real engine: publish a village record, a screen's fetch confirms it.

Real: the embedded broker and worker, the ledger, the adapter, the hub's web app
on a loopback port serving the signed playlist, and the sandbox's fake screen
pulling it over HTTP (``POST /_sandbox/screens/pull``). The version's video
rendition is stored by the test (a 1920×1080 JPEG still and an MP4-named file):
the video renderer is tested in tests/video and by ``hub demo``; here it would
cost 25 s to 5 minutes on the shared 2-core machine, and its QC pass failed
intermittently under load ("Failed to inject frame into filter network"),
which is not what this test is about.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from test_screen import VILLAGE, live_hub  # noqa: F401 - the fixture is used by name

from hub.channels.registry import get_channel
from hub.channels.screen import playlist
from hub.deliverables import Receipt, Rendition
from hub.queue.states import State
from hub.store.db import session_scope
from hub.store.models import DeliveryRow


def village_record() -> Any:
    from hub.record import Heading, Paragraph, Record

    return Record.model_validate({
        "id": "wuyi-2026-caiwu-q1", "title": "五一村2026年第一季度村级财务收支公开", "index_no": "hyx-2026-0101",
        "department": "汉阴县人民政府办公室", "stage": "结果", "domain": "村务公开", "validity": "有效",
        "level": "village", "region": VILLAGE,
        "body": [Heading(level=1, number="一、", text="收入"),
                 Paragraph(text="本季度村集体收入十二万元，支出八万元，明细已在村公示栏张贴，欢迎村民监督。")]})


def approve(record: Any) -> str:
    from hub import auth, workflow
    from hub.checks import run_checks
    from hub.store import repo

    with session_scope() as s:
        auth.seed_demo_users(s, "test-password-1")
    with session_scope() as s:
        row = workflow.save_draft(s, record, actor="author", findings=run_checks(record))
        for f in repo.findings_of(s, row):
            if f.blocking:
                workflow.waive(s, f.id, "reviewer", "test fixture")
        workflow.submit(s, row, "author")
        workflow.approve(s, row, "reviewer")
        return row.version


def store_video(version: str) -> None:
    """The version's ``video`` rendition as the package makes it: zip main, the still and the video beside it."""
    import io

    from PIL import Image

    from hub.renderers.base import ArtifactStore
    from hub.settings import get_settings
    from hub.store.models import RenditionRow
    from hub.timeutil import utcnow

    store = ArtifactStore(get_settings().artifacts_dir)
    buf = io.BytesIO()
    Image.new("RGB", (1920, 1080), (180, 30, 30)).save(buf, "JPEG", quality=80)
    poster = store.put(buf.getvalue(), ".jpg", "image/jpeg")
    video = store.put(b"\x00\x00\x00\x18ftypmp42" + version.encode(), ".mp4", "video/mp4")
    main = store.put(b"PK" + version.encode(), ".zip", "application/zip")
    rendition = Rendition("video", "wuyi-2026-caiwu-q1", version, main,
                          files={"poster.jpg": poster, "video.mp4": video}, facts={"package": "wuyi"})
    with session_scope() as s:
        s.add(RenditionRow(version=version, kind="video", sha256=main.sha256, path=str(main.path), bytes=main.bytes,
                           data=rendition.to_json(), created_at=utcnow()))


def wait_for(ids: list[int], states: set[str], timeout: float) -> dict[str, DeliveryRow]:
    deadline = time.monotonic() + timeout
    while True:
        with session_scope() as s:
            rows = {r.target: r for r in (s.get(DeliveryRow, i) for i in ids) if r is not None}
            for r in rows.values():
                s.expunge(r)
        if all(r.state in states for r in rows.values()):
            return rows
        ended = {t: (r.state, r.last_error_msg) for t, r in rows.items()
                 if r.state in (State.FAILED, State.EXPIRED, State.CANCELLED) and r.state not in states}
        assert not ended, ended
        assert time.monotonic() < deadline, {t: (r.state, r.last_error_class, r.last_error_msg) for t, r in rows.items()}
        time.sleep(0.3)


def test_a_village_record_reaches_its_screens_and_a_withdrawal_takes_it_off(
        sandbox: Any, live_hub: str, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    from hub.queue import actors
    from hub.queue.confirm import poll_now
    from hub.queue.publish import publish_and_enqueue
    from hub.queue.runtime import start_embedded_worker

    version = approve(village_record())
    store_video(version)
    worker = start_embedded_worker(threads=2)
    try:
        ids = publish_and_enqueue(version, actor="office")
        rows = wait_for(ids, {State.SUBMITTED, State.CONFIRMED}, timeout=120)
        assert set(rows) == {"portal", "screens-wuyi"}
        screen_row = rows["screens-wuyi"]
        assert screen_row.state == State.SUBMITTED  # on the playlist, no screen has it yet
        assert [i["id"] for i in playlist(VILLAGE)["items"]] == [screen_row.provider_ref]

        pulled = httpx.post(f"{sandbox.url}/_sandbox/screens/pull", trust_env=False, timeout=60).json()
        assert pulled["screens"][0]["playing"] == [screen_row.provider_ref], pulled
        with session_scope() as s:
            due = poll_now(s, delivery_id=screen_row.id)
        for d in due:
            actors.hint("confirm", d, None)
        rows = wait_for(ids, {State.CONFIRMED}, timeout=60)
        assert rows["screens-wuyi"].state == State.CONFIRMED

        # withdrawal (the application layer calls this capability; here the adapter directly)
        target = __import__("hub.queue.context", fromlist=["target_for"]).target_for("screens-wuyi")
        receipt = Receipt(provider_ref=str(screen_row.provider_ref), accepted_at=screen_row.updated_at)
        done = get_channel("screen").withdraw(receipt, target, "withdraw-" + screen_row.idempotency_key)  # type: ignore[attr-defined]
        assert done.confirmed and playlist(VILLAGE)["items"] == []
        again = httpx.post(f"{sandbox.url}/_sandbox/screens/pull", trust_env=False, timeout=60).json()
        assert again["screens"][0]["dropped"] == [screen_row.provider_ref]
        assert again["screens"][0]["playing"] == []
        inbox = httpx.get(f"{sandbox.url}/_sandbox/", trust_env=False).text
        assert "村务公开电子屏" in inbox
    finally:
        worker.stop()
