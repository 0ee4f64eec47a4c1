"""The logging configuration each entry point applies (``hub.logs``) scrubs every record in both formats."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest

from hub import logs

SECRET = "CANARY_LOG_SECRET_5e6f7a8b"
PHONE = "13800000003"


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """dictConfig changes the process's root logger: put back what pytest had."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    noisy = {name: logging.getLogger(name).level for name in ("httpx", "urllib3", "uvicorn")}
    try:
        yield
    finally:
        for handler in root.handlers[:]:
            if handler not in handlers:
                root.removeHandler(handler)
        for handler in handlers:
            if handler not in root.handlers:
                root.addHandler(handler)
        root.setLevel(level)
        for name, lvl in noisy.items():
            logging.getLogger(name).setLevel(lvl)


@pytest.mark.parametrize("fmt", ["json", "text"])
def test_a_phone_number_and_a_secret_logged_through_any_logger_come_out_redacted(
        fmt: logs.Format, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        restore_logging: None) -> None:
    monkeypatch.setenv("HUB_SOMETHING_SECRET", SECRET)
    logs.configure(fmt)
    for name in ("some.library", "hub.channels.sms", "uvicorn.error"):
        logging.getLogger(name).warning("calling %s for %s with secret=%s", PHONE, f"+86{PHONE}", SECRET)
    try:
        raise RuntimeError(f"vendor echoed {PHONE} and {SECRET}")
    except RuntimeError:
        logging.getLogger("another").exception("failed")
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) >= 4 and PHONE not in err and SECRET not in err
    assert "+86*******0003" in err
    if fmt == "json":
        records = [json.loads(line) for line in lines if line.startswith("{")]
        assert [r["logger"] for r in records] == ["some.library", "hub.channels.sms", "uvicorn.error", "another"]
        assert "RuntimeError" in records[-1]["exception"] and records[0]["level"] == "WARNING"
    else:
        assert "WARNING some.library: calling +86*******0003" in err and "Traceback" in err


def test_the_format_follows_the_variable_and_else_the_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    class Tty:
        def isatty(self) -> bool:
            return True

    monkeypatch.delenv("HUB_LOG_FORMAT", raising=False)
    assert logs.log_format(Tty()) == "text"
    assert logs.log_format(object()) == "json"
    monkeypatch.setenv("HUB_LOG_FORMAT", "text")
    assert logs.log_format(object()) == "text"
    monkeypatch.setenv("HUB_LOG_FORMAT", "xml")
    from hub.errors import ConfigError

    with pytest.raises(ConfigError, match="HUB_LOG_FORMAT"):
        logs.log_format()


def test_a_dramatiq_worker_keeps_its_handler_and_gets_the_filter_and_format(
        monkeypatch: pytest.MonkeyPatch, restore_logging: None) -> None:
    import io

    monkeypatch.setenv("HUB_LOG_FORMAT", "json")
    root = logging.getLogger()
    for handler in root.handlers[:]:
        root.removeHandler(handler)
    pipe = io.StringIO()
    handler = logging.StreamHandler(pipe)  # what Dramatiq's CLI installs in a worker process (a pipe)
    root.addHandler(handler)
    logs.configure_worker()
    logs.configure_worker()  # twice: still one filter
    logging.getLogger("dramatiq.worker").error("send to %s failed", PHONE)
    assert root.handlers == [handler] and len(handler.filters) == 1
    assert json.loads(pipe.getvalue())["message"] == "send to +86*******0003 failed"
