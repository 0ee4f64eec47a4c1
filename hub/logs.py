"""Logging configured once per process, at each entry point (``hub`` CLI, ``hub serve``, ``hub worker``).

Why here and not in the adapters: a library module must not decide where
records go or how they look; the process that runs decides. So every entry
point calls ``configure()`` once, which applies one ``logging.config.dictConfig``:

* one handler on the root logger, on stderr;
* its format is JSON lines (one object per record: time, level, logger,
  message, exception) when ``HUB_LOG_FORMAT=json`` or when stderr is not a
  terminal (a service manager, a container, CI), and readable text lines in a
  terminal (``HUB_LOG_FORMAT=text`` forces those);
* a redaction **filter** on that handler (``hub.redact.RedactingFilter``) that
  scrubs every record, whichever logger it came from, of secrets, secret
  parameters, phone and ID numbers before any formatter sees it;
* the chatty HTTP loggers (``hub.redact.NOISY_LOGGERS``) held at WARNING.

``hub worker`` runs Dramatiq's CLI, which installs its own handler in each
worker process (writing to a pipe the parent prints); ``configure_worker()``
puts the same filter and formatter on that handler instead of replacing it.
"""

from __future__ import annotations

import json
import logging
import logging.config
import os
import sys
from datetime import UTC, datetime
from typing import Any, Literal

from hub.errors import ConfigError
from hub.redact import NOISY_LOGGERS, RedactingFilter

Format = Literal["json", "text"]

TEXT_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
#: LogRecord attributes that are not "extra" fields
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime",
                                                                              "exc_type_name"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line, for log collectors (journald, Loki, ELK) that parse fields, not text."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = record.exc_text or self.formatException(record.exc_info)
        if record.exc_text:
            data["exception"] = record.exc_text
        if record.stack_info:
            data["stack"] = record.stack_info
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                data[key] = value if isinstance(value, str | int | float | bool | None) else str(value)
        return json.dumps(data, ensure_ascii=False)


def log_format(stream: Any = None) -> Format:
    """``HUB_LOG_FORMAT`` if set (json|text), else text on a terminal and JSON lines everywhere else."""
    wanted = os.environ.get("HUB_LOG_FORMAT", "").strip().lower()
    if wanted in ("json", "text"):
        return wanted  # type: ignore[return-value]
    if wanted:
        raise ConfigError(f"HUB_LOG_FORMAT: {wanted!r} 不是 json 或 text")
    stream = sys.stderr if stream is None else stream
    isatty = getattr(stream, "isatty", None)
    return "text" if callable(isatty) and isatty() else "json"


def config_dict(fmt: Format, *, level: str = "INFO") -> dict[str, Any]:
    """The one ``dictConfig`` of the hub (kept as data so ``hub serve`` can hand it to uvicorn too)."""
    formatter: dict[str, Any] = ({"()": JsonFormatter} if fmt == "json"
                                 else {"format": TEXT_FORMAT, "datefmt": "%Y-%m-%d %H:%M:%S"})
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"redact": {"()": RedactingFilter}},
        "formatters": {"hub": formatter},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "stream": "ext://sys.stderr",
                                "formatter": "hub", "filters": ["redact"]}},
        "root": {"level": level, "handlers": ["stderr"]},
        "loggers": {
            **{name: {"level": "WARNING"} for name in NOISY_LOGGERS},
            # uvicorn's loggers go through the root handler (same format, same filter)
            **{name: {"handlers": [], "propagate": True} for name in ("uvicorn", "uvicorn.error", "uvicorn.access")},
        },
    }


def configure(fmt: Format | None = None, *, level: str | None = None) -> Format:
    """Apply the hub's logging configuration to this process (idempotent: applying it again replaces it)."""
    chosen = fmt or log_format()
    logging.config.dictConfig(config_dict(chosen, level=level or os.environ.get("HUB_LOG_LEVEL", "INFO").upper()))
    return chosen


def configure_worker() -> None:
    """In a Dramatiq worker process: keep its pipe handler, give it the hub's filter and format."""
    fmt = log_format()  # the worker inherits the stderr of `hub worker`: a terminal, or a journal
    formatter: logging.Formatter = (JsonFormatter() if fmt == "json"
                                    else logging.Formatter(TEXT_FORMAT, "%Y-%m-%d %H:%M:%S"))
    root = logging.getLogger()
    if not root.handlers:
        configure(fmt)
        return
    for handler in root.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
        handler.setFormatter(formatter)
    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
