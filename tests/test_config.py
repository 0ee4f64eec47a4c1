"""channels.toml: validation names the key, secrets come from the environment, routing picks targets."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.config import Secret, expand, get_config, load_config
from hub.errors import ConfigError
from hub.settings import PROJECT_ROOT


def test_the_shipped_config_loads_and_routes_county_records_everywhere() -> None:
    config = get_config()
    targets = config.targets_for({"level": "county"})
    channels = {config.targets[t].channel for t in targets}
    assert channels == {"web", "wechat", "weibo", "sms", "newspaper", "tv"}


def test_township_records_route_to_their_township_account() -> None:
    config = get_config()
    assert "wechat-jianchi" in config.targets_for({"level": "township", "region": "涧池镇"})
    assert "wechat-jianchi" not in config.targets_for({"level": "township", "region": "城关镇"})


def test_a_bad_config_names_the_key(tmp_path: Path) -> None:
    text = (PROJECT_ROOT / "config" / "channels.toml").read_text("utf-8")
    bad = tmp_path / "channels.toml"
    bad.write_text(text.replace('account = "weibo-county"', 'account = "weibo-nowhere"'), "utf-8")
    with pytest.raises(ConfigError, match="targets.weibo-county.account"):
        load_config(bad)
    bad.write_text(text.replace("budget_segments = 1", 'budget_segments = "one"'), "utf-8")
    with pytest.raises(ConfigError, match="render.sms.budget_segments"):
        load_config(bad)


def test_secrets_resolve_from_the_environment_and_never_print(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUB_WECHAT_COUNTY_SECRET", "CANARY_WECHAT_SECRET_7f3a")
    secret = get_config().accounts["wechat-county"].secret("secret_env", "wechat-county")
    assert isinstance(secret, Secret) and secret.value == "CANARY_WECHAT_SECRET_7f3a"
    assert "CANARY" not in repr(secret) and "CANARY" not in str(secret)


def test_a_missing_secret_names_the_variable_not_a_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HUB_WECHAT_COUNTY_SECRET", raising=False)
    with pytest.raises(ConfigError, match="HUB_WECHAT_COUNTY_SECRET"):
        get_config().accounts["wechat-county"].secret("secret_env", "wechat-county")


def test_expand_uses_env_then_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HUB_X", raising=False)
    assert expand("${HUB_X:-http://a}/b") == "http://a/b"
    monkeypatch.setenv("HUB_X", "http://c")
    assert expand("${HUB_X:-http://a}/b") == "http://c/b"
    monkeypatch.delenv("HUB_X")
    with pytest.raises(ConfigError, match="HUB_X"):
        expand("${HUB_X}")


def test_two_approved_sms_templates_sharing_an_id_are_refused(tmp_path: Path) -> None:
    text = (PROJECT_ROOT / "config" / "channels.toml").read_text("utf-8")
    assert 'template_id = "2017170"' in text
    bad = tmp_path / "channels.toml"
    bad.write_text(text.replace('template_id = "2017170"', 'template_id = "2017169"'), "utf-8")
    with pytest.raises(ConfigError, match="already the id of withdraw_template_id"):
        load_config(bad)
