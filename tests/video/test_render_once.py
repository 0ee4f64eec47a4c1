"""One render per (version, profile) across processes; a killed render leaves nothing half-written.

Real processes, a real SQLite database (the claim table) and the real ffmpeg behind a
wrapper that logs every call, so "exactly one encode" is counted, not assumed.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from videokit import encodes, small_station_env

WORKER = r'''
import json, sys, threading, traceback
from hub.record import Heading, Paragraph, Record
from hub.renderers import RENDERERS
from hub.renderers.base import ArtifactStore
from hub.renderers.context import build_context
from hub.settings import get_settings

record = Record(id="t-once", title="关于调整城乡低保标准的通知", department="汉阴县民政局",
                doc_no="汉民发〔2026〕7号",
                body=[Heading(level=1, number="一、", text="调整标准"),
                      Paragraph(text="城市低保标准提高到每人每月720元。"),
                      Heading(level=1, number="二、", text="执行时间"),
                      Paragraph(text="自2026年1月1日起执行。")])
ctx = build_context(record, record.version_hash())
store = ArtifactStore(get_settings().artifacts_dir)
out, errors = [], []
def one():
    try:
        r = RENDERERS["video"](record, ctx, store)
    except BaseException:  # a thread's exception would otherwise only reach stderr, and rc stays 0
        errors.append(traceback.format_exc())
        return
    out.append({"sha": r.main.sha256, "folder": r.facts["folder"]})
threads = [threading.Thread(target=one) for _ in range(int(sys.argv[1]))]
for t in threads: t.start()
for t in threads: t.join()
print(json.dumps(out))
if errors:
    sys.exit("\n".join(errors))
'''


@pytest.fixture
def env(tmp_path: Path, hub_home: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    return small_station_env(tmp_path, hub_home, monkeypatch)


def worker(tmp_path: Path, env: dict[str, str], threads: int) -> subprocess.Popen[str]:
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    return subprocess.Popen([sys.executable, str(script), str(threads)], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def claim_rows() -> list[tuple[str, int, str | None]]:
    from sqlalchemy import select

    from hub.store.db import session_scope
    from hub.store.models import RenderClaimRow

    with session_scope() as s:
        return [(r.state, r.attempts, r.error) for r in s.scalars(select(RenderClaimRow))]


@pytest.mark.slow
def test_five_concurrent_renders_from_two_processes_encode_once_and_all_get_the_package(
        tmp_path: Path, env: dict[str, str], hub_home: Path) -> None:
    procs = [worker(tmp_path, env, 3), worker(tmp_path, env, 2)]
    results = []
    for p in procs:
        out, err = p.communicate(timeout=600)
        assert p.returncode == 0, err[-2000:]
        results += json.loads(out.strip().splitlines()[-1])
    assert len(results) == 5
    assert len(encodes(tmp_path)) == 1, encodes(tmp_path)
    assert len({r["sha"] for r in results}) == 1 and len({r["folder"] for r in results}) == 1
    video = hub_home / "artifacts" / "video"
    assert sorted(p.name for p in video.iterdir() if not p.name.startswith(".")) == [
        Path(results[0]["folder"]).name, Path(results[0]["folder"]).name + ".zip"]
    assert not any((video / ".staging").glob("*"))
    assert claim_rows() == [("done", 1, None)]


@pytest.mark.slow
def test_a_render_killed_mid_encode_is_taken_over_and_leaves_no_partial_folder(
        tmp_path: Path, env: dict[str, str], hub_home: Path) -> None:
    proc = worker(tmp_path, env, 1)
    deadline = time.monotonic() + 300
    while not encodes(tmp_path):  # wait until the encode has started
        assert proc.poll() is None and time.monotonic() < deadline, "the render never reached its encode"
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    video = hub_home / "artifacts" / "video"
    staged = [p for p in (video / ".staging").glob("*")]
    assert staged, "the killed render should have left its staging folder"
    assert not [p for p in video.iterdir() if not p.name.startswith(".")], "nothing published by the killed render"
    assert claim_rows()[0][0] == "running"

    again = worker(tmp_path, env, 1)
    out, err = again.communicate(timeout=600)
    assert again.returncode == 0, err[-2000:]
    folder = Path(json.loads(out.strip().splitlines()[-1])[0]["folder"])
    qc = json.loads((folder / "qc.json").read_text(encoding="utf-8"))
    assert qc["pass"] is True and folder.with_name(folder.name + ".zip").is_file()
    assert not any((video / ".staging").glob("*")), "the next start swept the killed render's staging"
    pid = str(proc.pid)
    assert not [p for p in Path("/dev/shm").glob("hub-video-*") if f"-{pid}-" in p.name]
    assert not [p for p in Path("/tmp").glob("hub-video-*") if f"-{pid}-" in p.name]
    state, attempts, _ = claim_rows()[0]
    assert (state, attempts) == ("done", 2)
    assert len(encodes(tmp_path)) == 2
