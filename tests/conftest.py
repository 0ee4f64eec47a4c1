"""Shared fixtures: an isolated hub home per test, the sandbox, real Redis and PostgreSQL.

Real-server fixtures skip when the server is absent on a developer's machine and
fail in CI (``CI=true``), as Dramatiq's own ``check_redis`` does: CI must never
pass by skipping what guards correctness.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hub.settings import PROJECT_ROOT

SAMPLE = PROJECT_ROOT / "samples" / "hanyin-2017-168-wugongkai.txt"
IN_CI = os.environ.get("CI") == "true"


def need(what: str) -> None:
    """Skip locally, fail in CI."""
    if IN_CI:
        pytest.fail(f"{what} is required in CI")
    pytest.skip(f"{what} not available")


def clear_caches() -> None:
    """Forget per-process caches that depend on the environment (settings, config, engines)."""
    from hub import config, settings
    from hub.store import db

    settings.get_settings.cache_clear()
    config._cached.cache_clear()
    db._engine_for.cache_clear()


@pytest.fixture(autouse=True)
def hub_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Every test gets its own var/ (SQLite database, artifacts, site, pickup)."""
    var = tmp_path / "var"
    monkeypatch.setenv("HUB_VAR", str(var))
    monkeypatch.delenv("HUB_DATABASE_URL", raising=False)
    monkeypatch.delenv("HUB_BROKER_URL", raising=False)
    clear_caches()
    yield var
    clear_caches()


@pytest.fixture
def sample_path() -> Path:
    return SAMPLE


@pytest.fixture
def sandbox_secrets(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Random per-test secrets in the environment, shared by the sandbox and the adapters."""
    from hub.sandbox.app import random_secrets

    values = random_secrets()
    for k, v in values.items():
        monkeypatch.setenv(k, v)
    return values


@pytest.fixture
def sandbox(sandbox_secrets: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """A running sandbox on 127.0.0.1 with every vendor API; adapters point at it through env."""
    from hub.sandbox.app import build_sandbox
    from hub.sandbox.credentials import credentials_from_env
    from hub.sandbox.smtp import start_smtp

    sb = build_sandbox(0, credentials=credentials_from_env()).start()
    smtp_host, smtp_port, stop_smtp = start_smtp(sb)
    monkeypatch.setenv("HUB_SANDBOX_URL", sb.url)
    monkeypatch.setenv("HUB_TENCENT_ENDPOINT", f"127.0.0.1:{sb.port}")
    monkeypatch.setenv("HUB_TENCENT_TTS_ENDPOINT", f"127.0.0.1:{sb.port}")
    monkeypatch.setenv("HUB_SMTP_HOST", smtp_host)
    monkeypatch.setenv("HUB_SMTP_PORT", str(smtp_port))
    clear_caches()
    try:
        yield sb
    finally:
        stop_smtp()
        sb.stop()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RedisServer:
    """A real redis-server on a random loopback port, in a temp dir; kill/restart for fault tests."""

    def __init__(self, workdir: Path, *, appendonly: bool = False) -> None:
        self.workdir, self.port, self.appendonly = workdir, free_port(), appendonly
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        args = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.workdir),
                "--save", "", "--appendonly", "yes" if self.appendonly else "no", "--protected-mode", "yes"]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def shutdown_nosave(self) -> None:
        subprocess.run(["redis-cli", "-p", str(self.port), "SHUTDOWN", "NOSAVE"], capture_output=True, timeout=10)
        if self.proc is not None:
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    if shutil.which("redis-server") is None:
        need("redis-server")
    server = RedisServer(tmp_path).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def pg_url() -> str:
    """The PostgreSQL test database started by scripts/services.sh (``HUB_TEST_PG_URL``).

    Tests do not write into it: ``pg_database`` creates a database of their own beside
    it. It is only where those are created from (the ``hub`` role may create databases).
    """
    url = os.environ.get("HUB_TEST_PG_URL", "")
    if not url:
        need("PostgreSQL (HUB_TEST_PG_URL)")
    _drop_orphaned_databases(url)
    return url


#: prefix of the per-test databases; the creating pytest's pid follows, so leftovers can be told apart
PG_TEST_DB_PREFIX = "hubt_"


def _pg_admin(pg_url: str) -> Any:
    """An autocommit engine on the base test database (CREATE/DROP DATABASE cannot run in a transaction)."""
    import sqlalchemy as sa

    return sa.create_engine(pg_url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)


def _drop_orphaned_databases(pg_url: str) -> None:
    """Drop per-test databases whose pytest process is gone (killed before its teardown ran).

    Only databases of dead pids on this machine go, so other test runs sharing the
    server (parallel sessions, other engineers) keep theirs.
    """
    import sqlalchemy as sa

    engine = _pg_admin(pg_url)
    try:
        with engine.connect() as conn:
            names = conn.execute(sa.text("SELECT datname FROM pg_database WHERE datname LIKE :p"),
                                 {"p": PG_TEST_DB_PREFIX + "%"}).scalars().all()
            for name in names:
                pid = name[len(PG_TEST_DB_PREFIX):].split("_", 1)[0]
                if pid.isdigit() and not Path(f"/proc/{pid}").exists():
                    conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        engine.dispose()


@pytest.fixture
def pg_database(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A new, empty PostgreSQL database of this test's own, selected through HUB_DATABASE_URL.

    Why a database per test and not one shared schema: the crash tests hand the URL to
    ``hub worker`` subprocesses, and several test sessions (CI shards, engineers on one
    machine) use the same server; a shared schema dropped by one would pull the tables
    from under another. Creating one costs ~60 ms. ``WITH (FORCE)`` at teardown ends
    connections a killed worker or a pooled engine left behind.
    """
    import uuid

    import sqlalchemy as sa

    name = f"{PG_TEST_DB_PREFIX}{os.getpid()}_{uuid.uuid4().hex[:12]}"
    url = sa.make_url(pg_url).set(database=name).render_as_string(hide_password=False)
    admin = _pg_admin(pg_url)
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    monkeypatch.setenv("HUB_DATABASE_URL", url)
    clear_caches()
    try:
        yield url
    finally:
        clear_caches()
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, hub_home: Path) -> str:
    """The store under test: this test's SQLite file, then a fresh PostgreSQL schema (same test, twice)."""
    if request.param == "postgresql":
        return str(request.getfixturevalue("pg_database"))
    from hub.settings import get_settings

    return get_settings().database_url


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--update-golden`` rewrites golden files (tests/renderers/golden) instead of comparing (also HUB_UPDATE_GOLDEN=1)."""
    parser.addoption("--update-golden", action="store_true", default=False,
                     help="rewrite golden files instead of comparing with them")

