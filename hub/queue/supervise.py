"""Run several Dramatiq CLI groups side by side (``hub worker`` over queues of different prefetch).

Why a parent process at all: Dramatiq sets one prefetch per worker process and its CLI
one set of options per invocation, while the quick queues want a high prefetch and the
video renders a prefetch of 1 (``hub.queue.queues``). So ``hub worker`` with both kinds
starts one ``python -m dramatiq`` per group and stays in front of them, as a service
manager would see one unit: a stop signal (TERM, INT, HUP) goes to every group, which
each shut down gracefully (Dramatiq's own handling: in-flight messages finish or go
back to the broker); when one group exits on its own (its worker died), the others are
stopped too and its exit status is this process's, so the supervisor above restarts the
whole worker, as it would a single Dramatiq CLI.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from types import FrameType

#: how long the groups get to stop after the first one exited before they are killed (s)
STOP_GRACE_S = 600.0


def run_groups(commands: Sequence[tuple[list[str], dict[str, str]]]) -> int:
    """Start each ``(argv, extra env)`` as a child and wait; returns the first child's exit status to end."""
    children: list[subprocess.Popen[bytes]] = []
    forwarded: list[int] = []

    def forward(signum: int, frame: FrameType | None) -> None:
        forwarded.append(signum)
        for child in children:
            if child.poll() is None:
                try:
                    child.send_signal(signal.SIGTERM if signum == signal.SIGINT else signum)
                except OSError:  # it ended meanwhile
                    pass

    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)}
    try:
        for argv, extra in commands:
            children.append(subprocess.Popen(argv, env={**os.environ, **extra}))  # noqa: S603 - our own argv
        status = _wait_first(children)
        forward(signal.SIGTERM, None)
        deadline = time.monotonic() + STOP_GRACE_S
        for child in children:
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        sys.stdout.flush()
        return status
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _wait_first(children: Sequence[subprocess.Popen[bytes]]) -> int:
    """Poll until one child has exited; its status (a signal's as 128 + n, as a shell reports it)."""
    while True:
        for child in children:
            code = child.poll()
            if code is not None:
                return code if code >= 0 else 128 - code
        time.sleep(0.2)
