"""Helpers for engine tests through the real sandbox and the real adapters (no fake channel).

``approved_sample`` stores the 2017 sample, approves it as the demo reviewer and renders
what the channels need; ``drain`` drives the engine's plain functions with a clock the
test controls (jumping to the next due time instead of sleeping), so retry-after and
backoff paths run in milliseconds while every byte still goes over HTTP/SMTP to the
sandbox; ``posts`` counts what the platforms published per (channel, target, recipient).
"""

from __future__ import annotations

import re
import shutil
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from hub.queue.context import Deps
from hub.queue.policy import EngineSettings
from hub.queue.states import State
from hub.store.db import session_scope
from hub.store.models import DeliveryRow

#: inbox kinds that are a publication a citizen sees (uploads and drafts are not)
POST_KINDS = {"wechat": {"publish"}, "weibo": {"status"}, "sms": {"sms"}, "newspaper": {"mail"}}
FINAL = {State.CONFIRMED, State.FAILED, State.EXPIRED, State.CANCELLED}
#: the channels a record goes out on in the lifecycle tests (the TV package is tested under tests/video)
CHANNELS = ("web", "wechat", "weibo", "sms", "newspaper")

FAST = EngineSettings(lease=10, min_backoff=0.5, max_backoff=5, max_attempts=5, confirm_first=0.5, confirm_max=2,
                      tick=0.2, hint_grace=1, write_retry=5)


def fast_config(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """config/ copied with short HTTP timeouts (late answers in seconds) and SMS quiet hours off,
    and a fresh ``HUB_PHONE_KEY`` so the subscribers the sample brings are encrypted as in production."""
    from hub.audience.subscribers import new_key
    from hub.settings import PROJECT_ROOT

    monkeypatch.setenv("HUB_PHONE_KEY", new_key())

    dst = tmp / "config"
    shutil.copytree(PROJECT_ROOT / "config", dst)
    toml = dst / "channels.toml"
    text = toml.read_text("utf-8")
    text = re.sub(r'(?m)^quiet_hours\s*=.*$', 'quiet_hours = ""', text)
    text = re.sub(r'(?m)^(\[accounts\.(wechat-county|wechat-jianchi|weibo-county)\])$',
                  r'\1\ntimeout = [1.0, 1.5]', text)
    text = re.sub(r'(?m)^(\[accounts\.tencent\])$', r'\1\ntimeout = 2', text)
    toml.write_text(text, "utf-8")
    monkeypatch.setenv("HUB_CONFIG_DIR", str(dst))
    return dst


#: the demo accounts' password in these tests (``hub demo`` makes a random one unless HUB_DEMO_PASSWORD is set)
DEMO_PASSWORD = "sandbox-world-demo"


def approved_sample(kinds: tuple[str, ...] = ("web", "wechat", "weibo", "sms", "print")) -> str:
    """The sample stored, submitted, approved and rendered; returns its version."""
    from hub.queue.demo import SAMPLE, _prepare_record

    return _prepare_record(SAMPLE, kinds=kinds, echo=lambda _m: None, password=DEMO_PASSWORD)


def approved_copies(first: str, n: int, *, start: int = 2) -> list[str]:
    """``n`` more approved records: copies of ``first``'s record under new ids and titles (several records a day)."""
    from hub import workflow
    from hub.store import repo

    out = []
    with session_scope() as s:
        _, record = repo.get_version(s, first)
    for i in range(start, start + n):
        copy = record.model_copy(update={"id": f"{record.id}-{i}", "title": f"{record.title}（第{i}号）"})
        with session_scope() as s:
            row = repo.save_version(s, copy, findings=[], warnings=[], actor="author")
            workflow.submit(s, row, "author")
            workflow.approve(s, row, "reviewer", "测试审核通过")
            out.append(row.version)
    return out


@contextmanager
def no_worker() -> Iterator[None]:
    """Hints to the workers dropped inside the block: no worker runs in these tests, ``drain`` takes the steps."""
    from hub.queue import actors

    original = actors.hint
    actors.hint = lambda a, i, d: None  # type: ignore[assignment]
    try:
        yield
    finally:
        actors.hint = original  # type: ignore[assignment]


def publish_undriven(version: str, channels: Sequence[str]) -> list[int]:
    """``version`` published on ``channels`` with no worker told; the test drives the steps with ``drain``."""
    from hub.queue.publish import publish_and_enqueue

    with no_worker():
        return publish_and_enqueue(version, actor="office", channels=list(channels))


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


def drain(ids: list[int], *, clock: Clock, settings: EngineSettings = FAST, max_steps: int = 400,
          between: Any = None) -> dict[int, DeliveryRow]:
    """Run deliver / reconcile / confirm on due rows until all are settled; jump the clock when idle."""
    from hub.queue.confirm import confirm_one
    from hub.queue.deliver import deliver_one
    from hub.queue.reconcile import reconcile_one
    from hub.queue.sweeper import sweep_leases

    deps = Deps(clock=clock, settings=settings, actor="test-drain")
    for step in range(max_steps):
        rows = rows_of(ids)
        if all(r.state in FINAL or r.needs_attention for r in rows.values()):
            return rows
        progressed = False
        for r in rows.values():
            if r.needs_attention or r.state in FINAL:
                continue
            if r.next_attempt_at is not None and r.next_attempt_at > clock():
                continue
            fn = {State.QUEUED: deliver_one, State.RETRY_WAIT: deliver_one, State.UNKNOWN: reconcile_one,
                  State.SUBMITTED: confirm_one}.get(State(r.state))
            if fn is not None:
                fn(r.id, deps=deps)
                progressed = True
        if between is not None:
            between(step)
        if any(r.state == State.SUBMITTED for r in rows.values()):
            # the sandbox finishes some jobs in real time (a WeChat publish stays "publishing" for
            # publish_delay seconds): the test clock jumps, so give real time a little room per step,
            # or a fast machine spends every step before the platform is done (flaky, not wrong)
            time.sleep(0.02)
        if not progressed:
            sweep_leases(deps=deps)
            dues = [r.next_attempt_at or r.lease_expires_at for r in rows_of(ids).values()
                    if r.state not in FINAL and not r.needs_attention]
            future = [d for d in dues if d is not None and d > clock()]
            clock.now = min(future) if future else clock.now + timedelta(seconds=1)
    return rows_of(ids)


def rows_of(ids: list[int]) -> dict[int, DeliveryRow]:
    with session_scope() as s:
        rows = {i: s.get(DeliveryRow, i) for i in ids}
        for r in rows.values():
            if r is not None:
                s.expunge(r)
    return {i: r for i, r in rows.items() if r is not None}


def posts(sandbox: Any) -> Counter[tuple[str, str, str]]:
    """Publications per (channel, account, recipient) in the sandbox inbox."""
    out: Counter[tuple[str, str, str]] = Counter()
    for m in sandbox.messages():
        if m["kind"] in POST_KINDS.get(m["channel"], set()):
            who = str((m.get("content") or {}).get("phone") or "")
            out[(m["channel"], m["account"], who)] += 1
    return out


def assert_truthful(rows: dict[int, DeliveryRow]) -> None:
    """Every delivery final, or unknown / held with a reason; nothing left queued or sending."""
    for r in rows.values():
        assert r.state not in (State.QUEUED, State.SENDING), (r.id, r.channel, r.state)
        if r.state not in (State.CONFIRMED,):
            assert r.last_error_msg, (r.id, r.channel, r.state)
