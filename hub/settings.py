"""Process-wide settings, read from the environment once.

Everything here has a working default for the embedded mode (SQLite under
``var/``, the in-process broker, the sandbox channels), so ``hub demo`` needs no
configuration at all.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

#: The repository root when running from a checkout (config/ and templates/ live there).
PROJECT_ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True, slots=True)
class Settings:
    """Where things live and which servers to use.

    Parameters:
      var_dir(Path): state of this installation (database, artifacts, site, pickup). ``HUB_VAR``.
      database_url(str): SQLAlchemy URL. ``HUB_DATABASE_URL``; default SQLite in WAL mode under var/.
      broker_url(str|None): ``redis://`` or ``amqp://``; None selects the embedded broker. ``HUB_BROKER_URL``.
      config_dir(Path): channels.toml, catalog.toml, words.toml. ``HUB_CONFIG_DIR``.
      templates_dir(Path): Jinja2 templates. ``HUB_TEMPLATES_DIR``.
      public_url(str): the portal's public base URL, used in links and QR codes. ``HUB_PUBLIC_URL``.
    """

    var_dir: Path
    database_url: str
    broker_url: str | None
    config_dir: Path
    templates_dir: Path
    public_url: str

    @property
    def artifacts_dir(self) -> Path:
        """This node's artifact directory: the store itself by default, or its cache of an object store.

        Read and write artifacts through ``hub.artifacts.get_store()`` (``HUB_ARTIFACTS`` may move them)."""
        return self.var_dir / "artifacts"

    @property
    def site_dir(self) -> Path:
        """The portal's published pages and feed, written by the web channel."""
        return self.var_dir / "site"

    @property
    def pickup_dir(self) -> Path:
        """The TV station's and newspaper's pickup area."""
        return self.var_dir / "pickup"


def _env_path(name: str, default: Path) -> Path:
    value = os.environ.get(name)
    return Path(value).resolve() if value else default


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this process; tests call ``get_settings.cache_clear()`` after changing the env."""
    var_dir = _env_path("HUB_VAR", Path.cwd() / "var")
    return Settings(
        var_dir=var_dir,
        database_url=os.environ.get("HUB_DATABASE_URL") or f"sqlite:///{var_dir / 'hub.db'}",
        broker_url=os.environ.get("HUB_BROKER_URL") or None,
        config_dir=_env_path("HUB_CONFIG_DIR", PROJECT_ROOT / "config"),
        templates_dir=_env_path("HUB_TEMPLATES_DIR", PROJECT_ROOT / "templates"),
        public_url=(os.environ.get("HUB_PUBLIC_URL") or "http://127.0.0.1:8000").rstrip("/"),
    )
