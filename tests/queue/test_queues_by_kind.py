"""Queues by kind of work: video renders on their own queue (prefetch 1), deliveries on theirs.

Through a real redis-server and real ``hub worker --queues ...`` subprocesses (Dramatiq's CLI);
the renders are real (ffmpeg, narration off), the web delivery writes the real portal.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path[:0] = [str(Path(__file__).resolve().parents[1] / "crash")]

from crashkit import QUEUE_ENV, WorkerProcess  # noqa: E402 - needs the path above

from hub.errors import InputError  # noqa: E402
from hub.queue import actors, queues  # noqa: E402
from hub.queue.broker import make_broker  # noqa: E402
from hub.queue.states import State  # noqa: E402
from hub.testing.stations import use_small_station  # noqa: E402


def test_parse_queues_reads_a_comma_list_and_refuses_unknown_names() -> None:
    assert queues.parse_queues(None) == ("deliveries", "confirm", "video")
    assert queues.parse_queues("video") == ("video",)
    assert queues.parse_queues(" confirm, deliveries ") == ("deliveries", "confirm")
    with pytest.raises(InputError, match="videos"):
        queues.parse_queues("deliveries,videos")


def test_worker_groups_put_video_alone_with_prefetch_one_and_one_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("dramatiq_queue_prefetch", raising=False)
    groups = queues.worker_groups(queues.QUEUES, threads=8)
    assert [(g.queues, g.prefetch, g.threads) for g in groups] == [
        (("deliveries", "confirm"), queues.FAST_PREFETCH, 8), (("video",), 1, 1)]
    assert [g.queues for g in queues.worker_groups(["video"], threads=8)] == [("video",)]
    monkeypatch.setenv("dramatiq_queue_prefetch", "8")  # an operator's choice applies to the quick queues only
    assert [g.prefetch for g in queues.worker_groups(queues.QUEUES, threads=2)] == [8, 1]


def test_tv_and_screen_sends_go_on_the_video_queue_and_their_withdrawals_do_not() -> None:
    assert queues.deliver_queue("tv") == queues.deliver_queue("screen") == "video"
    assert {queues.deliver_queue(c) for c in ("web", "wechat", "weibo", "sms", "newspaper")} == {"deliveries"}
    assert queues.deliver_queue("tv", "withdraw") == "deliveries"
    assert queues.deliver_queue("a-test-fake") == "deliveries"
    assert actors.ACTORS["deliver_video"].queue_name == "video"
    assert actors.ACTORS["deliver"].queue_name == "deliveries"


def test_the_embedded_worker_consumes_every_queue_with_no_flag() -> None:
    from hub.queue.runtime import start_embedded_worker

    handle = start_embedded_worker(threads=1)
    try:
        assert {"deliveries", "confirm", "video"} <= set(handle.worker.consumers)
    finally:
        handle.stop()
        actors.bind(make_broker(None))


@pytest.fixture
def kind_world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, redis_server: Any) -> Iterator[dict[str, Any]]:
    """Redis as the broker, the sample approved (its web rendition made, its 640×360 video left to a worker)."""
    from sandbox_world import approved_sample, fast_config

    from hub.testing.caches import clear_caches

    use_small_station(fast_config(tmp_path, monkeypatch), "test-small")
    monkeypatch.setenv("HUB_TTS", "none")
    for k, v in QUEUE_ENV.items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("dramatiq_queue_prefetch")  # the groups' own prefetch, not the crash tests' 8
    monkeypatch.setenv("HUB_BROKER_URL", redis_server.url)
    clear_caches()
    version = approved_sample(kinds=("web",))
    actors.rebind_from_settings()
    import redis

    client = redis.Redis.from_url(redis_server.url)
    try:
        yield {"version": version, "log": tmp_path / "worker.log", "redis": client}
    finally:
        client.close()
        actors.bind(make_broker(None))


def _wait(pred: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.integration
@pytest.mark.slow
def test_a_video_worker_renders_one_at_a_time_and_a_delivery_worker_leaves_renders_alone(
        kind_world: dict[str, Any]) -> None:
    """``--queues video`` takes TV renders one message at a time and no send; ``--queues deliveries,confirm``
    takes the sends and leaves every render message on the broker."""
    from sandbox_world import rows_of

    from hub.queue.publish import publish_and_enqueue

    r = kind_world["redis"]
    ids = publish_and_enqueue(kind_world["version"], actor="office", channels=["web", "tv"])
    by = {row.channel: row.id for row in rows_of(ids).values()}
    web, tv = by["web"], by["tv"]
    for _ in range(2):  # duplicate hints (a claim turns them into no-ops): three render messages wait
        actors.hint("deliver", tv, None)
    assert r.llen("dramatiq:video") == 3 and r.llen("dramatiq:deliveries") == 1

    def in_flight() -> int:
        return sum(int(r.scard(k)) for k in r.scan_iter("dramatiq:__acks__.*.video"))

    video = WorkerProcess(kind_world["log"], args=["--queues", "video", "--processes", "1"])
    samples: list[tuple[int, int]] = []
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and rows_of([tv])[tv].state in (State.QUEUED, State.SENDING):
            samples.append((in_flight(), int(r.llen("dramatiq:video"))))
            time.sleep(0.05)
        assert rows_of([tv])[tv].state == State.SUBMITTED, rows_of([tv])[tv].last_error_msg
        # while the first render ran, the worker held one message and the others waited on the broker
        rendering = [(held, waiting) for held, waiting in samples if held]
        assert rendering and max(held for held, _ in rendering) == 1
        assert max(waiting for _, waiting in rendering) >= 2
        web_row = rows_of([web])[web]
        assert web_row.state == State.QUEUED and web_row.attempts == 0  # no send taken by the video worker
        assert r.llen("dramatiq:deliveries") >= 1
    finally:
        video.stop()

    for _ in range(2):  # render messages while only the delivery worker runs
        actors.hint("deliver", tv, None)
    quick = WorkerProcess(kind_world["log"], args=["--queues", "deliveries,confirm", "--processes", "1",
                                                   "--threads", "2"])
    try:
        _wait(lambda: rows_of([web])[web].state == State.CONFIRMED, 60, "the web delivery")
        time.sleep(1.0)
        assert r.llen("dramatiq:video") >= 2  # every render message is still on the broker
        assert not list(r.scan_iter("dramatiq:__acks__.*.video"))
        assert rows_of([tv])[tv].attempts == 1  # the one send the video worker made
    finally:
        quick.stop()


def _children(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            out += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return out


def _cmdline(pid: int) -> list[str]:
    return [a for a in Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0") if a]


def _environ(pid: int) -> dict[str, str]:
    pairs = (item.partition("=") for item in Path(f"/proc/{pid}/environ").read_bytes().decode().split("\0") if item)
    return {k: v for k, _, v in pairs}


@pytest.mark.integration
def test_hub_worker_with_no_flag_runs_one_dramatiq_per_group_and_a_term_stops_both(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, redis_server: Any) -> None:
    monkeypatch.setenv("HUB_BROKER_URL", redis_server.url)
    monkeypatch.delenv("dramatiq_queue_prefetch", raising=False)
    worker = WorkerProcess(tmp_path / "worker.log", {"dramatiq_queue_prefetch": ""},
                           args=["--processes", "1", "--threads", "2"])
    try:
        _wait(lambda: len(_children(worker.proc.pid)) == 2, 30, "two Dramatiq CLIs")
        log = tmp_path / "worker.log"
        _wait(lambda: log.read_text(errors="replace").count("ready for action") == 2, 60, "both groups booted")
        groups = {}
        for child in _children(worker.proc.pid):
            argv = _cmdline(child)
            groups[tuple(argv[argv.index("--queues") + 1:])] = (argv[argv.index("--threads") + 1],
                                                                _environ(child)["dramatiq_queue_prefetch"])
        assert groups == {("deliveries", "confirm"): ("2", str(queues.FAST_PREFETCH)), ("video",): ("1", "1")}
        import os
        import signal

        os.kill(worker.proc.pid, signal.SIGTERM)  # the service manager stops the unit: both groups stop
        assert worker.wait_exit(60) == 0
        assert not _children(worker.proc.pid)
    finally:
        worker.stop()
