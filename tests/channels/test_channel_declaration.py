"""One declaration per channel: what the class declares and what the hub derives from it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hub.channels.accounts import check
from hub.channels.base import Capability, ChannelBase, LinkUse, Receipt, Target, Withdrawable, capabilities
from hub.channels.registry import (
    CHANNELS,
    channel_names,
    labels,
    link_channels,
    overridable,
    qr_channels,
    rendition_kinds,
    sandbox_modules,
)
from hub.config import get_config
from hub.settings import PROJECT_ROOT
from hub.testing.caches import clear_caches


@pytest.mark.parametrize("name", sorted(CHANNELS))
def test_every_channel_declares_a_chinese_label_a_kind_and_an_account_model(name: str) -> None:
    cls = CHANNELS[name]
    assert cls.name == name and issubclass(cls, ChannelBase)
    assert cls.label and all("\u4e00" <= ch <= "\u9fff" for ch in cls.label)
    assert cls.rendition_kind and isinstance(cls.links, LinkUse)
    assert {Capability.PUBLISH, Capability.STATUS} <= cls.capabilities()


def test_the_lists_that_used_to_repeat_names_come_from_the_declarations() -> None:
    assert channel_names() == tuple(CHANNELS)
    assert labels()["wechat"] == "微信公众号" and labels()["web"] == "政府网站"
    assert rendition_kinds()["tv"] == "video" and rendition_kinds()["newspaper"] == "print"
    assert set(qr_channels()) == {n for n, c in CHANNELS.items() if c.links is LinkUse.QR} | {"poster"}
    assert set(link_channels()) >= set(qr_channels()) and "web" in link_channels()
    assert set(overridable()) == {"sms", "weibo", "wechat"}
    assert "hub.sandbox.wechat" in sandbox_modules() and "hub.sandbox.tencent" in sandbox_modules()


def test_a_method_a_class_defines_is_a_capability_it_has() -> None:
    class Plain(ChannelBase):
        name, label, rendition_kind = "plain", "普通", "web"

        def send(self, rendition: object, target: Target, key: str) -> Receipt: ...

        def status(self, receipt: Receipt, target: Target) -> object: ...

    class Recallable(Plain):
        callbacks = True

        def withdraw(self, receipt: Receipt, target: Target, key: str) -> Receipt: ...

    assert capabilities(Plain) == {Capability.PUBLISH, Capability.STATUS}
    assert Capability.WITHDRAW not in capabilities(Plain)
    assert capabilities(Recallable) == {Capability.PUBLISH, Capability.STATUS, Capability.WITHDRAW,
                                        Capability.CALLBACKS}
    assert isinstance(Recallable(), Withdrawable) and not isinstance(Plain(), Withdrawable)


def test_the_shipped_configuration_is_valid_when_the_secrets_are_set(sandbox_secrets: dict[str, str]) -> None:
    assert check(get_config()) == []


def test_config_check_lists_every_problem_one_line_each_and_exits_2(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sandbox_secrets: dict[str, str]) -> None:
    from hub.cli import _register, app

    _register()
    conf = tmp_path / "config"
    shutil.copytree(PROJECT_ROOT / "config", conf)
    text = (conf / "channels.toml").read_text(encoding="utf-8")
    text = text.replace('app_id = "wxjianchitown00002"', 'app_id = "jianchi"')  # not a WeChat app id
    text = text.replace("batch_size = 200", "batch_size = 200\nbatchsize = 100")  # a misspelt key
    (conf / "channels.toml").write_text(text, encoding="utf-8")
    monkeypatch.setenv("HUB_CONFIG_DIR", str(conf))
    monkeypatch.delenv("HUB_WEIBO_COUNTY_TOKEN")
    clear_caches()
    result = CliRunner().invoke(app, ["config", "check"])
    assert result.exit_code == 2, result.output
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert len(lines) == 3, lines
    assert any("accounts.wechat-jianchi.app_id" in ln for ln in lines)
    assert any("accounts.tencent.batchsize: unknown key" in ln for ln in lines)
    assert any("accounts.weibo-county.access_token_env: environment variable HUB_WEIBO_COUNTY_TOKEN is not set"
               in ln for ln in lines)
    assert all(v not in result.output for v in sandbox_secrets.values())


def test_config_check_exits_0_on_a_clean_configuration(sandbox_secrets: dict[str, str]) -> None:
    from hub.cli import _register, app

    _register()
    result = CliRunner().invoke(app, ["config", "check"])
    assert result.exit_code == 0, result.output
    assert "valid" in result.output


def test_serve_and_worker_warn_of_every_account_problem_at_start_up(
        sandbox_secrets: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from hub.commands.web import warn_config_problems

    monkeypatch.delenv("HUB_SCREEN_SIGNING_KEY")
    warn_config_problems()
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["配置问题 (config): channels.toml: accounts.village-screens.signing_key_env: "
                   "environment variable HUB_SCREEN_SIGNING_KEY is not set"]
