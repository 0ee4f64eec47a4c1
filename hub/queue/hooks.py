"""Crash points: named places in the engine where a fault test may stop the process.

Why in the product code: the interesting crashes happen between two lines of the
engine (after the platform accepted, before the ledger recorded). The engine calls
``crash_point("after_send", channel=...)`` there. In production no hook is
installed and a crash point does nothing; the fault tests install one
(``hub.testing.faults``, through ``install_crash_hook``) in the worker processes
they start. This module imports nothing, so the delivery path does not load any
test code. Points: ``before_send``, ``after_send``, ``after_commit``, ``before_ack``.
"""

from __future__ import annotations

from collections.abc import Callable

POINTS = ("before_send", "after_send", "after_commit", "before_ack")

#: called with (point, channel or None) at every crash point
CrashHook = Callable[[str, str | None], None]

_hook: CrashHook | None = None


def install_crash_hook(hook: CrashHook | None) -> None:
    """Install (or with None remove) the process's crash hook: tests only."""
    global _hook
    _hook = hook


def crash_point(name: str, *, channel: str | None = None) -> None:
    """Give the installed hook this point; nothing when none is installed (production)."""
    hook = _hook
    if hook is not None:
        hook(name, channel)
