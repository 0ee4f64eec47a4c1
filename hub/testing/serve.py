"""Serve the hub's web app on 127.0.0.1 from a thread, for tests that need a real HTTP server.

Browser tests (Playwright) and device tests (a village screen pulling its playlist) talk to the
app over a socket; the three test modules that do so share this one start-and-stop routine.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def serving(app: Any, port: int, *, start_timeout: float = 30.0) -> Iterator[None]:
    """Run ``app`` under uvicorn on 127.0.0.1:``port`` until the block ends; fail if it does not start."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="hub-serve", daemon=True)
    thread.start()
    deadline = time.monotonic() + start_timeout
    while not server.started:
        if time.monotonic() >= deadline or not thread.is_alive():
            server.should_exit = True
            raise RuntimeError(f"the web app did not start on 127.0.0.1:{port}")
        time.sleep(0.05)
    try:
        yield
    finally:
        server.should_exit = True
        thread.join(timeout=15)
