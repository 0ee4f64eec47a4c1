"""Forget the per-process caches that depend on the environment: tests switch homes and databases.

One place for it: the test suites (tests/conftest.py and tests/crash/conftest.py) each
point the hub at a new var/ or database per test, and a cache left behind would send the
next test's writes to the last test's database.
"""

from __future__ import annotations


def clear_caches() -> None:
    """Settings, config and engines forgotten; the group-commit threads of old databases stopped."""
    from hub import artifacts, config, settings
    from hub.queue import policy
    from hub.store import db, groupcommit

    groupcommit.close_all()
    settings.get_settings.cache_clear()
    artifacts._store.cache_clear()
    config._cached.cache_clear()
    db._engine_for.cache_clear()
    policy.engine_settings.cache_clear()
