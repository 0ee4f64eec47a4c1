"""The office's editable settings (``config/office.toml``): windows and thresholds of the desk.

A missing file means the defaults below; a mistake is one ``ConfigError`` naming the key.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from hub.config import invalid, read_toml
from hub.settings import get_settings


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StaleSettings(_Strict):
    new_media_days: int = Field(default=14, ge=1)
    portal_days: int = Field(default=14, ge=1)
    column_days: int = Field(default=183, ge=1)
    columns: dict[str, int] = {}


class MailSettings(_Strict):
    #: the channels.toml account whose SMTP relay sends staff notices
    account: str = "newspaper-desk"


class OfficeSettings(_Strict):
    due_soon_workdays: int = Field(default=5, ge=0)
    expect_since: dt.date | None = None
    interpretation_workdays: int = Field(default=3, ge=0)
    policy_item_words: tuple[str, ...] = ("政策",)
    #: the departments offered on the users page (more come from existing accounts and records)
    departments: tuple[str, ...] = ()
    stale: StaleSettings = StaleSettings()
    mail: MailSettings = MailSettings()


def load_office_settings(path: Path) -> OfficeSettings:
    if not path.exists():
        return OfficeSettings()
    try:
        return OfficeSettings.model_validate(read_toml(path))
    except ValidationError as exc:
        raise invalid(path, exc) from None


@lru_cache(maxsize=4)
def _cached(path: Path, mtime_ns: int) -> OfficeSettings:
    return load_office_settings(path)


def get_office_settings() -> OfficeSettings:
    """This installation's ``config_dir/office.toml`` (reloaded when it changes)."""
    path = get_settings().config_dir / "office.toml"
    try:
        mtime = path.stat().st_mtime_ns
    except FileNotFoundError:
        mtime = 0
    return _cached(path, mtime)
