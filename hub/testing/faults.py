"""The fault tests' crash hook (reliability.md plan E): what ``HUB_FAULT`` says, at the engine's crash points.

The engine only calls ``hub.queue.hooks.crash_point``, a no-op until a hook is
installed; production never imports this module. A worker started by the crash
tests gets ``tests/crash/hooks`` on its ``PYTHONPATH``, whose ``sitecustomize``
calls ``install_from_env()`` at interpreter start, so a worker started with
``HUB_FAULT=after_send:kill`` dies by SIGKILL at exactly that line, as a power
cut or OOM kill would.

``HUB_FAULT`` is a comma-separated list of ``point:action[:channel]``; actions are
``kill`` (SIGKILL this process) and ``raise`` (an ``InjectedFault``). With a
channel given, only deliveries of that channel trip it.
"""

from __future__ import annotations

import os
import signal

from hub.queue.hooks import POINTS, install_crash_hook


class InjectedFault(RuntimeError):
    """Raised at a crash point configured with the ``raise`` action."""


def _parse(raw: str) -> list[tuple[str, str, str | None]]:
    out = []
    for item in raw.split(","):
        parts = item.strip().split(":")
        if len(parts) < 2 or parts[0] not in POINTS:
            continue
        out.append((parts[0], parts[1], parts[2] if len(parts) > 2 and parts[2] else None))
    return out


def env_hook(name: str, channel: str | None) -> None:
    """Do what ``HUB_FAULT`` says at this point (read at each call, so a test may change it)."""
    raw = os.environ.get("HUB_FAULT")
    if not raw:
        return
    for point, action, only in _parse(raw):
        if point != name or (only is not None and only != channel):
            continue
        if action == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        elif action == "raise":
            raise InjectedFault(f"injected fault at {name}")


def install_from_env() -> None:
    """Install ``env_hook`` when ``HUB_FAULT`` is set (a worker process of the crash tests)."""
    if os.environ.get("HUB_FAULT"):
        install_crash_hook(env_hook)
