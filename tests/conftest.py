"""Shared fixtures: an isolated hub home per test, the sandbox, real Redis and PostgreSQL.

Real-server fixtures skip when the server is absent on a developer's machine and
fail in CI (``CI=true``), as Dramatiq's own ``check_redis`` does: CI must never
pass by skipping what guards correctness.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hub.settings import PROJECT_ROOT
from hub.testing.caches import clear_caches
from hub.testing.servers import RedisServer, free_port

SAMPLE = PROJECT_ROOT / "samples" / "hanyin-2017-168-wugongkai.txt"
IN_CI = os.environ.get("CI") == "true"


def need(what: str) -> None:
    """Skip locally, fail in CI."""
    if IN_CI:
        pytest.fail(f"{what} is required in CI")
    pytest.skip(f"{what} not available")


@pytest.fixture(autouse=True)
def hub_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Every test gets its own var/ (SQLite database, artifacts, site, pickup)."""
    var = tmp_path / "var"
    monkeypatch.setenv("HUB_VAR", str(var))
    monkeypatch.delenv("HUB_DATABASE_URL", raising=False)
    monkeypatch.delenv("HUB_BROKER_URL", raising=False)
    monkeypatch.setenv("HUB_CHECK_LINKS_REACHABLE", "0")  # the suite runs air-gapped (127.0.0.1 only)
    # 汇总短信 off unless a test turns it on (tests/channels/test_sms_digest.py): other tests expect each
    # SMS publication to go at once, not after the production default window of 30 minutes
    monkeypatch.setenv("HUB_SMS_DIGEST_WINDOW", "0")
    # the Weibo app behind the console's re-authorisation (config/channels.toml reads it from the environment)
    monkeypatch.setenv("HUB_WEIBO_APP_KEY", "3847650001")
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


#: Debian's start script itself; /usr/sbin/rabbitmq-server is a wrapper that switches to the
#: ``rabbitmq`` user and /var/lib/rabbitmq, which a private test node must not touch
RABBITMQ_SCRIPT = "/usr/lib/rabbitmq/bin/rabbitmq-server"


def rabbitmq_script() -> str | None:
    """The rabbitmq-server start script to run directly (Debian's, else one on PATH), or None."""
    if os.access(RABBITMQ_SCRIPT, os.X_OK):
        return RABBITMQ_SCRIPT
    return shutil.which("rabbitmq-server")


class RabbitMQServer:
    """A private rabbitmq-server: its own node name, ports, epmd, cookie and directories under tmp.

    Why private and not the Debian service: CI has no systemd, the service would listen on
    every interface on 5672 and keep state in /var/lib/rabbitmq across runs. Here the
    AMQP listener, the Erlang distribution port and epmd (``ERL_EPMD_PORT``) are on
    random loopback ports, so parallel sessions do not meet, and ``stop()`` leaves no
    beam or epmd process behind. Booting takes ~8 s, so one server serves a session;
    ``delete_queues`` gives each test empty queues.
    """

    def __init__(self, workdir: Path, script: str) -> None:
        self.workdir, self.script = workdir, script
        self.port, self.dist_port, self.epmd_port = free_port(), free_port(), free_port()
        self.node = f"hubtest{self.port}@localhost"
        self.log = workdir / "server.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/%2F"

    def env(self) -> dict[str, str]:
        """The server's environment: every path under ``workdir``, nothing read from /etc/rabbitmq."""
        w = self.workdir
        (w / "rabbitmq.conf").write_text(
            "loopback_users.guest = true\n"
            # a nearly full disk would block publishers (a hang, not a failure); test data is tiny
            "disk_free_limit.absolute = 1MB\n", "utf-8")
        (w / "enabled_plugins").write_text("[].\n", "utf-8")
        (w / "rabbitmq-env.conf").write_text("", "utf-8")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("RABBITMQ_", "ERL_"))}
        env.pop("NOTIFY_SOCKET", None)  # would make the script exec erl as if under systemd
        env.update({
            "HOME": str(w),  # the Erlang cookie goes here
            "RABBITMQ_NODENAME": self.node, "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port), "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
            "ERL_EPMD_PORT": str(self.epmd_port), "ERL_EPMD_ADDRESS": "127.0.0.1",
            "RABBITMQ_MNESIA_BASE": str(w / "mnesia"), "RABBITMQ_LOG_BASE": str(w / "log"),
            "RABBITMQ_CONFIG_FILE": str(w / "rabbitmq.conf"),
            "RABBITMQ_ADVANCED_CONFIG_FILE": str(w / "advanced.config"),
            "RABBITMQ_CONF_ENV_FILE": str(w / "rabbitmq-env.conf"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(w / "enabled_plugins"),
            "RABBITMQ_PID_FILE": str(w / "rabbitmq.pid"), "ERL_CRASH_DUMP": str(w / "erl_crash.dump"),
        })
        return env

    def start(self, timeout: float = 90) -> RabbitMQServer:
        import pika

        with self.log.open("ab") as fh:
            # foreground mode: the script traps SIGTERM and stops the node cleanly
            self.proc = subprocess.Popen([self.script], env=self.env(), cwd=self.workdir, stdin=subprocess.DEVNULL,
                                         stdout=fh, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"rabbitmq-server exited {self.proc.returncode}: {self.tail()}")
            try:  # the AMQP listener opens last in the boot, so a login means ready
                pika.BlockingConnection(pika.URLParameters(self.url + "?connection_attempts=1&socket_timeout=1")
                                        ).close()
                return self
            except pika.exceptions.AMQPError:
                time.sleep(0.25)
        self.stop()
        raise RuntimeError(f"rabbitmq-server did not accept connections in {timeout:.0f} s: {self.tail()}")

    def tail(self) -> str:
        return self.log.read_text("utf-8", "replace")[-2000:] if self.log.exists() else ""

    def delete_queues(self, names: list[str]) -> None:
        """Delete queues (and so their messages) left by an earlier test; absent ones are fine."""
        import pika

        conn = pika.BlockingConnection(pika.URLParameters(self.url))
        try:
            channel = conn.channel()
            for name in names:
                channel.queue_delete(name)
        finally:
            conn.close()

    def stop(self) -> None:
        """Stop the node (SIGTERM, then SIGKILL of its process group) and then its private epmd."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        # epmd daemonised into its own session; only this port's epmd is asked to exit
        epmd = shutil.which("epmd") or "epmd"
        subprocess.run([epmd, "-port", str(self.epmd_port), "-kill"], capture_output=True, timeout=10,
                       env={**os.environ, "ERL_EPMD_PORT": str(self.epmd_port)})


@pytest.fixture(scope="session")
def rabbitmq_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RabbitMQServer]:
    """One private rabbitmq-server for the session (booting takes seconds); skips locally, fails in CI."""
    script = rabbitmq_script()
    if script is None:
        need("rabbitmq-server")
    try:
        import pika  # noqa: F401
    except ImportError:
        need("pika (pip install -e '.[test]')")
    server = RabbitMQServer(tmp_path_factory.mktemp("rabbitmq"), str(script)).start()
    try:
        yield server
    finally:
        server.stop()
