"""Run at the start of every interpreter the crash tests start (this folder is on their PYTHONPATH).

It installs the ``HUB_FAULT`` crash hook in ``hub worker`` and its Dramatiq processes, so the
production code never imports test code (``hub.queue.hooks`` is a no-op without a hook).
"""

from __future__ import annotations

import os

if os.environ.get("HUB_FAULT"):
    from hub.testing.faults import install_from_env

    install_from_env()
