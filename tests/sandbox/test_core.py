"""The sandbox core: routing, fault knobs, inbox persistence."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from hub.sandbox.core import Sandbox, SandboxRequest, SandboxResponse


def echo(req: SandboxRequest, sb: Sandbox) -> SandboxResponse:
    sb.record("test", "post", "acct", {"body": req.body.decode()}, ref=req.arg("ref"))
    return SandboxResponse.json({"ok": True})


def started(tmp: Path | None = None, seed: int = 1) -> Sandbox:
    sb = Sandbox(0, state_file=tmp, seed=seed)
    sb.route("POST", "/echo", "test", echo)
    return sb.start()


def test_a_request_is_routed_and_recorded_with_its_reference() -> None:
    with started() as sb:
        r = httpx.post(f"{sb.url}/echo?ref=k1", content=b"hello", timeout=5)
        assert r.json() == {"ok": True}
        assert r.headers["content-type"] == "application/json"
        [msg] = sb.messages("test")
        assert msg["ref"] == "k1" and msg["content"] == {"body": "hello"}


def test_unknown_paths_are_404() -> None:
    with started() as sb:
        assert httpx.get(f"{sb.url}/nope", timeout=5).status_code == 404


def test_5xx_fault_answers_before_the_platform_applies_anything() -> None:
    with started() as sb:
        sb.set_faults("test", error_5xx_rate=1.0)
        assert httpx.post(f"{sb.url}/echo", content=b"x", timeout=5).status_code == 503
        assert sb.messages("test") == []


def test_drop_fault_applies_then_closes_without_an_answer() -> None:
    with started() as sb:
        sb.set_faults("test", drop_rate=1.0)
        with pytest.raises(httpx.RemoteProtocolError):
            httpx.post(f"{sb.url}/echo", content=b"x", timeout=5)
        assert len(sb.messages("test")) == 1


def test_late_fault_applies_then_answers_after_the_clients_timeout() -> None:
    with started() as sb:
        sb.set_faults("test", late_rate=1.0, late_seconds=1.0)
        with pytest.raises(httpx.ReadTimeout):
            httpx.post(f"{sb.url}/echo", content=b"x", timeout=httpx.Timeout(5, read=0.3))
        assert len(sb.messages("test")) == 1


def test_unknown_fault_knobs_are_refused() -> None:
    sb = Sandbox(0)
    with pytest.raises(ValueError, match="unknown fault knob"):
        sb.set_faults("test", explode=1)


def test_a_restarted_sandbox_remembers_what_it_accepted(tmp_path: Path) -> None:
    state = tmp_path / "sandbox.json"
    with started(state) as sb:
        httpx.post(f"{sb.url}/echo", content=b"kept", timeout=5)
    with started(state) as again:
        assert [m["content"]["body"] for m in again.messages("test")] == ["kept"]
