"""Per-feed configuration (``config/ingest.toml`` ``[feeds."<glob>"]``): the issuer of entries that name no
office, and the hub department that publishes a feed's entries (issue 11)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from hub.errors import ConfigError
from hub.ingest import ingest_path
from hub.ingest.issuer import ISSUER_KEY
from hub.renderers.context import issuer_line
from hub.settings import PROJECT_ROOT, get_settings

FEED = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>汉阴县 通知公告</title><link>http://127.0.0.1/</link><description>d</description>
<item><title>关于开展冬季安全检查的通知</title><link>http://127.0.0.1/a/1.html</link><guid>g1</guid>
<description>&lt;p&gt;各镇人民政府：全县开展冬季安全检查。&lt;/p&gt;</description></item>
<item><title>国务院关于取消一批行政许可事项的决定</title><link>http://127.0.0.1/a/2.html</link><guid>g2</guid>
<description>&lt;p&gt;国务院决定取消一批行政许可事项。&lt;/p&gt;</description></item>
</channel></rss>"""


@pytest.fixture
def config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    config = tmp_path / "config"
    shutil.copytree(PROJECT_ROOT / "config", config)
    monkeypatch.setenv("HUB_CONFIG_DIR", str(config))
    get_settings.cache_clear()
    yield config
    get_settings.cache_clear()


def _feed(tmp_path: Path, name: str) -> Path:
    path = tmp_path / "feeds" / name
    path.parent.mkdir(exist_ok=True)
    path.write_text(FEED, encoding="utf-8")
    return path


def test_a_configured_feed_gives_its_entries_an_issuer_and_a_department_the_entries_own_words_win(
        tmp_path: Path, config_dir: Path) -> None:
    (config_dir / "ingest.toml").write_text(
        'departments = ["汉阴县人民政府办公室"]\n'
        '[feeds."*/feeds/anjian-*.xml"]\nissuer = "汉阴县应急管理局"\ndepartment = "汉阴县人民政府办公室"\n',
        encoding="utf-8")
    plain, gwy = ingest_path(_feed(tmp_path, "anjian-2026.xml"))
    # the entry names no office: the feed's configured issuer, published by the configured department
    assert plain.record.department == "汉阴县人民政府办公室"
    assert plain.record.extra[ISSUER_KEY] == "汉阴县应急管理局"
    assert any("config/ingest.toml" in w for w in plain.warnings)
    assert issuer_line(plain.record) == "汉阴县人民政府办公室转发汉阴县应急管理局"
    # an entry that names its office keeps it: the configuration is the last resort for the issuer
    assert gwy.record.extra[ISSUER_KEY] == "国务院" and gwy.record.department == "汉阴县人民政府办公室"
    assert issuer_line(gwy.record) == "汉阴县人民政府办公室转发国务院"


def test_a_feed_no_rule_matches_keeps_the_entry_without_an_office(tmp_path: Path, config_dir: Path) -> None:
    (config_dir / "ingest.toml").write_text('[feeds."*/feeds/anjian-*.xml"]\nissuer = "汉阴县应急管理局"\n',
                                            encoding="utf-8")
    plain, gwy = ingest_path(_feed(tmp_path, "other.xml"))
    assert plain.record.department is None and ISSUER_KEY not in plain.record.extra
    assert any("未识别发布机构" in w for w in plain.warnings)
    assert gwy.record.department == "国务院"  # hub.departments.route decides who answers for it when stored


def test_a_misspelt_key_of_the_feed_configuration_is_one_error_naming_it(tmp_path: Path, config_dir: Path) -> None:
    (config_dir / "ingest.toml").write_text('[feeds."*.xml"]\nissuer = "x"\ndepartmnet = "y"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"ingest.toml: feeds\.\*\.xml\.departmnet: unknown key"):
        ingest_path(_feed(tmp_path, "a.xml"))
