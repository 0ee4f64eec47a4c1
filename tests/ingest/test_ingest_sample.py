"""The county's real sample page ingests with every field exact."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from hub.checks import run_checks
from hub.ingest import ingest_path
from hub.record import Disclosure, Heading, Level, Paragraph
from hub.timeutil import iso_local


def test_every_header_field_of_the_sample_comes_out_exactly(sample_path: Path) -> None:
    [item] = ingest_path(sample_path)
    r = item.record
    assert r.id == "xzfgzbmzfb-2017-0168"
    assert r.title == "汉阴县人民政府办公室关于推出“五公开”落地创新措施的通知"
    assert r.index_no == "xzfgzbmzfb/2017-0168"
    assert r.doc_no == "汉政办通字〔2017〕168号"
    assert r.department == "汉阴县人民政府办公室"
    assert r.catalog == "县政府办文件"
    assert r.disclosure is Disclosure.ACTIVE
    assert r.written_on == date(2017, 11, 15)
    assert iso_local(r.published_at) == "2017-11-15T14:52:00+08:00"
    assert r.validity == "有效"
    assert r.addressees == ["各镇人民政府", "县政府各工作部门、直属机构"]
    assert r.signature is not None
    assert (r.signature.office, r.signature.date) == ("汉阴县人民政府办公室", date(2017, 11, 15))
    assert r.level is Level.COUNTY and r.region == "汉阴县"
    assert r.stage is None and r.domain is None
    assert r.extra == {}
    assert r.source is not None and r.source.kind == "page"


def test_the_sample_body_keeps_its_sections_and_the_duplicated_number(sample_path: Path) -> None:
    [item] = ingest_path(sample_path)
    headings = [(b.level, b.number, b.text) for b in item.record.body if isinstance(b, Heading)]
    assert headings == [
        (1, "一、", "指导思想"),
        (1, "二、", "规范公开内容"),
        (1, "二、", "规范发布程序"),
        (1, "三、", "强化政策解读"),
        (1, "四、", "畅通反馈渠道"),
        (2, "(一)", "是创新考核方式"),
        (2, "(二)", "是完善互动渠道"),
    ]
    paragraphs = [b for b in item.record.body if isinstance(b, Paragraph)]
    assert paragraphs[0].text.startswith("为深入贯彻落实中、省、市")
    assert paragraphs[-1].text.startswith("悉心打造“三级平台”")
    assert len(item.record.body) == 16
    # neither the addressees nor the signature leak into the body
    assert all("各镇人民政府,县政府" not in b.text for b in paragraphs)
    assert all(b.text != "汉阴县人民政府办公室" for b in paragraphs)
    dup = [w for w in item.warnings if "二、" in w and "repeats" in w]
    assert len(dup) == 1 and dup[0].startswith("line 12:")


def test_stage_and_domain_are_left_empty_with_a_warning_not_invented(sample_path: Path) -> None:
    [item] = ingest_path(sample_path)
    assert any("stage" in w for w in item.warnings)
    assert any("domain" in w for w in item.warnings)


def test_nothing_in_the_sample_is_flagged_by_the_checks(sample_path: Path) -> None:
    [item] = ingest_path(sample_path)
    assert run_checks(item.record, source_text=item.source_text) == []
    assert run_checks(item.record) == []


def test_hub_ingest_json_prints_the_sample_fields_and_stores_one_version(run_hub, sample_path: Path) -> None:
    result = run_hub("ingest", str(sample_path), "--json")
    assert result.exit_code == 0, result.output
    [line] = result.stdout.strip().splitlines()
    data = json.loads(line)
    expected = {
        "id": "xzfgzbmzfb-2017-0168", "index_no": "xzfgzbmzfb/2017-0168", "doc_no": "汉政办通字〔2017〕168号",
        "department": "汉阴县人民政府办公室", "catalog": "县政府办文件", "disclosure": "主动公开",
        "written_on": "2017-11-15", "published_at": "2017-11-15T14:52:00+08:00", "validity": "有效",
        "stage": None, "domain": None, "level": "county", "region": "汉阴县",
        "addressees": ["各镇人民政府", "县政府各工作部门、直属机构"],
        "signature": {"office": "汉阴县人民政府办公室", "date": "2017-11-15"}, "blocks": 16, "findings": [],
    }
    assert {k: data[k] for k in expected} == expected
    assert len(data["version"]) == 64 and data["warnings"]
    again = json.loads(run_hub("ingest", str(sample_path), "--json").stdout)
    assert again["version"] == data["version"]

    from hub.store import repo
    from hub.store.db import session_scope

    with session_scope() as session:
        assert len(repo.versions_of(session, "xzfgzbmzfb-2017-0168")) == 1


def test_hub_ingest_text_output_names_every_field(run_hub, sample_path: Path) -> None:
    result = run_hub("ingest", str(sample_path))
    assert result.exit_code == 0
    for text in ("xzfgzbmzfb-2017-0168", "汉政办通字〔2017〕168号", "2017-11-15T14:52:00+08:00",
                 "县政府各工作部门、直属机构", "blocks      16", "findings: none"):
        assert text in result.stdout


def test_hub_ingest_stores_the_findings_of_the_gongshi_sample_as_blocking(run_hub) -> None:
    from hub.settings import PROJECT_ROOT
    from hub.store import repo
    from hub.store.db import session_scope

    path = PROJECT_ROOT / "samples" / "gongshi-zhengdi-buchang.md"
    result = run_hub("ingest", str(path), "--json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert len(data["findings"]) == 9 and all(f["blocking"] for f in data["findings"])
    assert "61092119650312864X" not in result.stdout
    with session_scope() as session:
        row, _ = repo.get_version(session, data["id"])
        stored = repo.findings_of(session, row)
        assert sorted(f.kind for f in stored) == ["bank_card"] * 3 + ["id_number"] * 3 + ["mobile"] * 3
