"""The board's editable settings (``config/consult.toml``): deadline, abuse limits, topic routing.

A missing file means the defaults below; a mistake is one ``ConfigError`` naming the key.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from hub.auth import DEMO_DEPARTMENT
from hub.config import invalid, read_toml
from hub.settings import get_settings

CONSULT_FILE = "consult.toml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Limits(_Strict):
    per_address: int = Field(default=5, ge=1)
    per_address_window_minutes: int = Field(default=60, ge=1)
    per_contact: int = Field(default=3, ge=1)
    per_contact_window_minutes: int = Field(default=1440, ge=1)
    title_max: int = Field(default=60, ge=5, le=200)
    question_max: int = Field(default=1000, ge=20, le=5000)
    name_max: int = Field(default=20, ge=1, le=50)
    reply_max: int = Field(default=1000, ge=20, le=5000)
    duplicate_hours: int = Field(default=24, ge=0)


class Routing(_Strict):
    items: dict[str, str] = {}
    domains: dict[str, str] = {}


class ConsultSettings(_Strict):
    reply_workdays: int = Field(default=5, ge=1, le=60)
    due_soon_workdays: int = Field(default=1, ge=0, le=30)
    office_department: str = DEMO_DEPARTMENT
    limits: Limits = Limits()
    routing: Routing = Routing()


def load_consult_settings(path: Path) -> ConsultSettings:
    if not path.exists():
        return ConsultSettings()
    try:
        return ConsultSettings.model_validate(read_toml(path))
    except ValidationError as exc:
        raise invalid(path, exc) from None


@lru_cache(maxsize=4)
def _cached(path: Path, mtime_ns: int) -> ConsultSettings:
    return load_consult_settings(path)


def get_consult_settings() -> ConsultSettings:
    """This installation's ``config_dir/consult.toml`` (reloaded when it changes)."""
    path = get_settings().config_dir / CONSULT_FILE
    try:
        mtime = path.stat().st_mtime_ns
    except FileNotFoundError:
        mtime = 0
    return _cached(path, mtime)
