"""The catalog of disclosure items: the shipped pilot domains, and errors that name the key."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from hub.catalog import get_catalog, load_catalog
from hub.channels.registry import channel_names
from hub.errors import ConfigError
from hub.record import Level, Stage
from hub.settings import PROJECT_ROOT, get_settings


def test_the_shipped_catalog_has_the_eight_pilot_domains_and_37_items() -> None:
    catalog = get_catalog()
    names = [d.name for d in catalog.domains]
    assert len(names) == 8 and {"征地补偿", "扶贫救灾"} <= set(names)
    assert catalog.item_count() == 37
    for domain in catalog.domains:
        for item in domain.items:
            assert item.basis and item.deadline and item.cycle
            assert set(item.channels) <= set(channel_names()) and "web" in item.channels
            assert set(item.levels) <= set(Level)


def test_items_are_found_by_name_with_their_stage() -> None:
    found = get_catalog().find_item("征地补偿费用发放")
    assert found is not None
    domain, item = found
    assert domain.name == "征地补偿" and item.stage is Stage.RESULT and item.levels == (Level.TOWNSHIP, Level.VILLAGE)


@pytest.fixture
def catalog_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    config = tmp_path / "config"
    shutil.copytree(PROJECT_ROOT / "config", config)
    monkeypatch.setenv("HUB_CONFIG_DIR", str(config))
    get_settings.cache_clear()
    return config / "catalog.toml"


@pytest.mark.parametrize(("old", "new", "key"), [
    ('levels = ["县级", "乡级", "村级"]', 'levels = ["省级"]', "domains[0].items[0].levels"),
    ('channels = ["web", "wechat"]', 'channels = ["web", "fax"]', "domains[0].items[0].channels"),
    ('stage = "决策"', 'stage = "计划"', "domains[0].items[0].stage"),
    ("cycle_days = 0", 'cycle_days = "0"', "domains[0].items[0].cycle_days"),
    ('code = "zdbc"', 'code = "Zhengdi Buchang"', "domains[0].code"),
    ('basis = "《中华人民共和国土地管理法》第四十七条；', 'bases = "《中华人民共和国土地管理法》第四十七条；', "domains[0].items[0].bases"),
    ('code = "fpjz"', 'code = "zdbc"', "domains[1].code"),
])
def test_a_bad_catalog_is_a_config_error_naming_the_key(catalog_file: Path, old: str, new: str, key: str) -> None:
    text = catalog_file.read_text(encoding="utf-8")
    assert old in text
    catalog_file.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        get_catalog()
    assert str(err.value).startswith(f"catalog.toml: {key}:")


def test_a_missing_or_broken_catalog_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_catalog(tmp_path / "catalog.toml")
    (tmp_path / "catalog.toml").write_text("[[domains]\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_catalog(tmp_path / "catalog.toml")


def test_an_edited_catalog_is_picked_up_without_a_restart(catalog_file: Path) -> None:
    assert get_catalog().domain("征地补偿") is not None
    text = catalog_file.read_text(encoding="utf-8").replace('name = "征地补偿"', 'name = "征地拆迁补偿"', 1)
    catalog_file.write_text(text, encoding="utf-8")
    import os

    os.utime(catalog_file, ns=(1, 1))
    assert get_catalog().domain("征地拆迁补偿") is not None
