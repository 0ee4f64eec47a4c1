"""Named crash points for the fault tests (reliability.md plan E); a no-op unless ``HUB_FAULT`` is set.

Why in the product code: the interesting crashes happen between two lines of
the engine (after the platform accepted, before the ledger recorded). The
engine calls ``crash_point("after_send")`` there; a test worker started with
``HUB_FAULT=after_send:kill`` dies by SIGKILL at exactly that line, as a
power cut or OOM kill would. Points: ``before_send``, ``after_send``,
``after_commit``, ``before_ack``.

``HUB_FAULT`` is a comma-separated list of ``point:action[:channel]``; actions are
``kill`` (SIGKILL this process) and ``raise`` (an ``InjectedFault``). With a
channel given, only deliveries of that channel trip it.
"""

from __future__ import annotations

import os
import signal

POINTS = ("before_send", "after_send", "after_commit", "before_ack")


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


def crash_point(name: str, *, channel: str | None = None) -> None:
    """Do what ``HUB_FAULT`` says at this point; nothing when it is unset (production)."""
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
