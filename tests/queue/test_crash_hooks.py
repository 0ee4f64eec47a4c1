"""Crash points are a no-op hook in production; only the fault tests install one (issue 16)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from hub.queue import hooks


def test_the_delivery_path_loads_no_test_code() -> None:
    code = ("import sys, hub.queue.actors, hub.queue.deliver, hub.queue.broker; "
            "print(sorted(m for m in sys.modules if m.startswith('hub.testing')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_a_crash_point_does_nothing_without_a_hook_and_calls_an_installed_one(monkeypatch: pytest.MonkeyPatch) -> None:
    from hub.testing.faults import InjectedFault, env_hook

    monkeypatch.setenv("HUB_FAULT", "after_send:raise:sms")
    hooks.crash_point("after_send", channel="sms")  # no hook installed: nothing happens
    seen: list[tuple[str, str | None]] = []
    try:
        hooks.install_crash_hook(lambda name, channel: seen.append((name, channel)))
        hooks.crash_point("before_send", channel="web")
        assert seen == [("before_send", "web")]
        hooks.install_crash_hook(env_hook)
        hooks.crash_point("after_send", channel="web")  # another channel: not tripped
        with pytest.raises(InjectedFault):
            hooks.crash_point("after_send", channel="sms")
    finally:
        hooks.install_crash_hook(None)
