"""Wrong and sensitive words, links, the checks' configuration and ``hub check``."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hub.checks import run_checks
from hub.checks.settings import load_check_config
from hub.cli import _register, app
from hub.errors import ConfigError
from hub.ingest import ingest_text
from hub.settings import PROJECT_ROOT


def findings_of(body: str) -> list[tuple[str, int | None, int | None, str | None, bool]]:
    text = f"+++\ntitle = \"t\"\n+++\n{body}\n"
    [item] = ingest_text(text, file="x.md")
    return [(f.kind, f.line, f.column, f.suggestion, f.blocking) for f in run_checks(item.record, source_text=text)]


def test_a_wrong_official_term_is_found_with_its_preferred_form_and_place() -> None:
    assert findings_of("我们要不忘出心、牢记使命。") == [("wrong_word", 4, 4, "不忘初心", True)]


def test_sensitive_wording_is_found_with_the_preferred_form() -> None:
    [f] = findings_of("为残废人提供服务。")
    assert f[0] == "sensitive_word" and f[3] == "残疾人"


def test_the_preferred_form_and_listed_exceptions_are_not_flagged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "words.toml").write_text(
        '[[words]]\nwrong = "民工"\npreferred = "农民工"\nexcept = ["居民工作"]\n', encoding="utf-8")
    monkeypatch.setenv("HUB_CONFIG_DIR", str(tmp_path))
    from hub.settings import get_settings

    get_settings.cache_clear()
    assert findings_of("做好农民工和居民工作。") == []
    assert [f[0] for f in findings_of("民工工资")] == ["wrong_word"]


@pytest.mark.parametrize(("line", "kind"), [
    ("详见 http://www.example.com/a.html", "link_unknown_host"),
    ("详见 https://evil.example.cn/", "link_unknown_host"),
    ("详见 http:/www.hanyin.gov.cn/", "link_malformed"),
    ("详见 http//www.hanyin.gov.cn/", None),  # no colon: not a link at all, only a www. host (allowed)
    ("详见 htp://www.hanyin.gov.cn/", "link_malformed"),
    ("点击 javascript:alert(1)", "link_malformed"),
    ("详见 http://bad_host.gov.cn/", "link_malformed"),
    ("详见 http://www.hanyin.gov.cn:99999/", "link_malformed"),
    ("详见 ftp://ftp.hanyin.gov.cn/", "link_malformed"),
    ("登录 www.example.org 查询", "link_unknown_host"),
])
def test_malformed_links_and_unknown_hosts_are_findings(line: str, kind: str | None) -> None:
    got = [f[0] for f in findings_of(line)]
    assert got == ([kind] if kind else [])


@pytest.mark.parametrize("line", [
    "详见 http://www.hanyin.gov.cn/art/2017/11/15/art_1.html。",
    "详见 https://www.gov.cn/zhengce/",
    "详见 [原文](http://www.hanyin.gov.cn/a.html)",
    "登录www.hanyin.gov.cn查询",
    "本站 http://127.0.0.1:8000/r/abc",
])
def test_links_to_allowed_hosts_and_to_the_hub_itself_are_fine(line: str) -> None:
    assert findings_of(line) == []


def test_link_blocking_follows_the_configuration() -> None:
    [(_, _, _, _, malformed)] = findings_of("http:/x.gov.cn")
    [(_, _, _, _, unknown)] = findings_of("http://example.com/")
    config = load_check_config()
    assert (malformed, unknown) == (config.links.blocking_malformed, config.links.blocking_unknown_host)


def test_attachment_urls_and_overrides_are_checked_without_source_text() -> None:
    text = ('+++\ntitle = "t"\n[[attachments]]\nname = "附件"\nurl = "http://example.com/x.pdf"\n'
            '[overrides.weibo]\ntext = "联系13992561234"\n+++\n正文\n')
    [item] = ingest_text(text, file="x.md")
    kinds = sorted(f.kind for f in run_checks(item.record))
    assert kinds == ["link_unknown_host", "mobile"]


def copy_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    config = tmp_path / "config"
    shutil.copytree(PROJECT_ROOT / "config", config)
    monkeypatch.setenv("HUB_CONFIG_DIR", str(config))
    from hub.settings import get_settings

    get_settings.cache_clear()
    return config


@pytest.mark.parametrize(("file", "content", "key"), [
    ("words.toml", '[[words]]\nwrong = "a"\npreferred = "b"\ncolour = 1\n', "words[0].colour"),
    ("words.toml", '[[words]]\nwrong = "a"\npreferred = "b"\nkind = "rude"\n', "words[0].kind"),
    ("words.toml", '[[words]]\nwrong = ""\npreferred = "b"\n', "words[0].wrong"),
    ("checks.toml", '[links]\nallowed_hosts = "gov.cn"\n', "links.allowed_hosts"),
    ("checks.toml", '[links]\nblocking_malformed = "yes"\n', "links.blocking_malformed"),
    ("checks.toml", "[personal_data]\nbank_prefixes = []\n", "personal_data.bank_prefixes"),
])
def test_a_bad_check_configuration_is_a_config_error_naming_the_key(
        file: str, content: str, key: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = copy_config(tmp_path, monkeypatch)
    (config / file).write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_check_config()
    assert str(err.value).startswith(f"{file}: {key}:")


def test_the_shipped_word_list_loads_and_every_entry_has_a_preferred_form() -> None:
    config = load_check_config()
    assert len(config.words) >= 20
    assert all(w.preferred and w.preferred != w.wrong for w in config.words)


def cli() -> CliRunner:
    _register()
    return CliRunner()


def test_hub_check_json_prints_findings_and_exits_1_on_blocking() -> None:
    result = cli().invoke(app, ["check", str(PROJECT_ROOT / "samples" / "gongshi-zhengdi-buchang.md"), "--json"])
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert len(data["findings"]) == 9
    assert {"kind", "line", "column", "excerpt", "suggestion", "blocking"} <= set(data["findings"][0])
    assert "61092119650312864X" not in result.stdout and "13992561234" not in result.stdout


def test_hub_check_exits_0_when_nothing_blocks(sample_path: Path) -> None:
    result = cli().invoke(app, ["check", str(sample_path), "--json"])
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {"findings": []}


def test_hub_check_on_bad_input_is_one_line_and_exit_status_2(tmp_path: Path) -> None:
    path = tmp_path / "gbk.txt"
    path.write_bytes("汉阴县人民政府办公室关于推出的通知".encode("gbk"))
    result = cli().invoke(app, ["check", str(path)])
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and result.stderr.startswith(f"error: {path}:1: [encoding]")
