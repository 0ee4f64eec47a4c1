"""Personal data in a 公示 list is caught, every time; public numbers are not flagged."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest
from pii_gen import bank_card, id_number, luhn_complete, mobile

from hub.checks import Finding, run_checks
from hub.checks.personal import id_checksum_ok, is_bank_card, is_id_number, luhn_ok, mask
from hub.ingest import ingest_path, ingest_text
from hub.settings import PROJECT_ROOT

HEADER = '+++\ntitle = "城关镇2026年度临时救助对象公示"\nindex_no = "cgz/2026-0031"\ndoc_no = "城政发〔2026〕31号"\n+++\n\n'


def gongshi(rows: list[tuple[str, str, str]], *, style: str = "table") -> str:
    """A 公示 list, as a Markdown table or as prose lines, one person per row."""
    lines = ["经审核，现将临时救助对象公示如下：", ""]
    if style == "table":
        lines += ["| 序号 | 姓名 | 身份证号 | 手机 | 银行卡号 | 金额(元) |", "|---|---|---|---|---|---|"]
        lines += [f"| {n} | 某某{n} | {i} | {m} | {c} | {500 + n}.00 |" for n, (i, m, c) in enumerate(rows, 1)]
    else:
        lines += [f"{n}. 某某{n}，身份证号码{i}，联系电话{m}，收款账号{c}，救助金{500 + n}元。"
                  for n, (i, m, c) in enumerate(rows, 1)]
    lines += ["", "监督电话：0915-5212345", "公示时间：2026年11月20日至2026年11月26日"]
    return HEADER + "\n".join(lines) + "\n"


@pytest.mark.parametrize("style", ["table", "prose"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_generated_id_number_mobile_and_bank_card_in_a_gongshi_list_is_caught(style: str, seed: int) -> None:
    rng = random.Random(seed)
    rows = [(id_number(rng), mobile(rng), bank_card(rng)) for _ in range(40)]
    text = gongshi(rows, style=style)
    [item] = ingest_text(text, file="gs.md")
    findings = run_checks(item.record, source_text=text)
    lines = text.split("\n")
    expected: list[tuple[str, int, int, str]] = []
    for value, kind in [(v, k) for row in rows for v, k in zip(row, ("id_number", "mobile", "bank_card"), strict=True)]:
        n = next(i for i, line in enumerate(lines) if value in line)
        expected.append((kind, n + 1, lines[n].index(value) + 1, mask(kind, value)))
    got = [(f.kind, f.line, f.column, f.suggestion) for f in findings]
    assert sorted(got) == sorted(expected)
    assert all(f.blocking for f in findings)
    # no finding shows a full number, anywhere
    for f in findings:
        for row in rows:
            for value in row:
                assert value not in f.excerpt and value not in (f.suggestion or "")


def test_without_source_text_findings_point_into_the_rendered_record_lines() -> None:
    rng = random.Random(7)
    rows = [(id_number(rng), mobile(rng), bank_card(rng)) for _ in range(5)]
    [item] = ingest_text(gongshi(rows), file="gs.md")
    findings = run_checks(item.record)
    assert len(findings) == 15
    from hub.checks.text import record_lines

    lines = record_lines(item.record)
    for f in findings:
        assert f.line is not None and f.column is not None
        value = lines[f.line - 1][f.column - 1:]
        assert re.match(r"[0-9X]{11,19}", value)


def test_the_mask_keeps_four_digits_each_side_as_in_the_brief() -> None:
    # a checksum-valid ID whose last four are 2515, as in the example
    body = next(f"610921198003{day:02d}251" for day in range(1, 29) if id_checksum_ok(f"610921198003{day:02d}2515"))
    assert mask("id_number", body + "5") == "6109**********2515"
    finding = run_checks_on_line(f"身份证号：{body}5")
    assert finding.suggestion == "6109**********2515"
    assert finding.excerpt == "身份证号：6109**********2515"


def run_checks_on_line(line: str) -> Finding:
    [item] = ingest_text(f"公示\n{line}\n", file="x.txt")
    findings = [f for f in run_checks(item.record, source_text=item.source_text) if f.line == 2]
    assert len(findings) == 1, findings
    return findings[0]


@pytest.mark.parametrize("line", [
    "联系电话：139 9256 1234",
    "联系电话：139-9256-1234",
    "联系电话：+86 139 9256 1234",
    "联系电话：8613992561234",
    "卡号：6222 0257 8308 6271 497",
    "身份证：610921 19650312 864X",
    "身份证：61092119650312864x",
    "身份证：６１０９２１１９６５０３１２８６４Ｘ",
])
def test_spaced_hyphenated_prefixed_and_full_width_forms_are_caught(line: str) -> None:
    f = run_checks_on_line(line)
    assert f.blocking and "*" in (f.suggestion or "")


@pytest.mark.parametrize("line", [
    "监督电话：0915-5212345",
    "监督电话：09155212345",
    "咨询电话：0915—5212345、12345",
    "索引号：xzfgzbmzfb/2017-0168",
    "索引号：SY310107202603028",
    "文号：汉政办通字〔2017〕168号",
    "日期：20171115 至 20171126",
    "补偿金额：13992561234元",
    "总金额：¥13992561234",
    "面积：13992561234.50平方米",
    "序号 610921196503128641",  # wrong check digit
    "编号 610921196502308646",  # impossible birth date (Feb 30)
    "编号 000000000000000000",
    "订单号 6222025783086271498",  # Luhn fails
    "流水号 1234567890123456",  # Luhn-valid? not a known BIN either way
    "号码 12012345678",  # 120 is not a mobile prefix
    "号码 139925612345",  # 12 digits
    "统一社会信用代码：91610921MA70X1234K",
    "网址 http://www.hanyin.gov.cn/art/2017/11/15/art_13992561234.html",
])
def test_public_numbers_identifiers_dates_and_amounts_are_not_flagged(line: str) -> None:
    [item] = ingest_text(f"公示\n{line}\n", file="x.txt")
    assert [f for f in run_checks(item.record, source_text=item.source_text)
            if f.kind in ("id_number", "mobile", "bank_card")] == []


def test_a_number_right_after_a_url_in_chinese_text_is_still_caught() -> None:
    f = run_checks_on_line("详见http://www.hanyin.gov.cn/a.html联系人电话13992561234")
    assert f.kind == "mobile"


def test_the_records_own_index_number_is_never_flagged_even_when_it_looks_like_a_mobile() -> None:
    text = '+++\ntitle = "t"\nindex_no = "13992561234"\n+++\n\n索引号 13992561234 见上。\n'
    [item] = ingest_text(text, file="x.md")
    assert run_checks(item.record, source_text=text) == []


@pytest.mark.parametrize("path", sorted((PROJECT_ROOT / "samples").iterdir()), ids=lambda p: p.name)
def test_only_the_gongshi_sample_has_personal_data(path: Path) -> None:
    findings = [f for i in ingest_path(path) for f in run_checks(i.record, source_text=i.source_text)]
    if path.name == "gongshi-zhengdi-buchang.md":
        assert sorted(f.kind for f in findings) == ["bank_card"] * 3 + ["id_number"] * 3 + ["mobile"] * 3
    else:
        assert findings == []


def test_validators_agree_with_the_generators() -> None:
    rng = random.Random(11)
    for _ in range(500):
        assert is_id_number(id_number(rng))
        card = bank_card(rng)
        assert luhn_ok(card) and is_bank_card(card, ("62", "4", "52", "955"))
    assert luhn_complete("7992739871") == "79927398713"  # the textbook Luhn example


def test_finding_json_has_exactly_the_contract_keys() -> None:
    f = run_checks_on_line("电话13992561234")
    assert f.to_json() == {"kind": "mobile", "line": 2, "column": 3, "excerpt": "电话139****1234",
                           "suggestion": "139****1234", "blocking": True}


def test_an_unallocated_mobile_prefix_is_caught_after_a_phone_cue_and_in_a_phone_column() -> None:
    """179… is no carrier's prefix, but after 电话/手机/联系方式 or in a 联系电话 column it is a mobile (issue 11)."""
    text = HEADER + "联系人：张某，手机：17912345678。\n\n| 序号 | 姓名 | 联系电话 |\n|---|---|---|\n| 1 | 李某 | 17987654321 |\n"
    [item] = ingest_text(text, file="p.md")
    findings = run_checks(item.record, source_text=text)
    assert sorted(f.suggestion for f in findings if f.kind == "mobile") == ["179****4321", "179****5678"]
    assert "17912345678" not in " ".join(f.excerpt for f in findings)
    # without a cue or a phone column an unallocated 11-digit number is left alone (a serial, a code)
    [plain] = ingest_text(HEADER + "项目编号17912345678已登记。\n", file="q.md")
    assert not [f for f in run_checks(plain.record) if f.kind == "mobile"]


def test_the_excerpt_of_a_neighbouring_finding_never_shows_another_number_in_clear() -> None:
    text = HEADER + "电话：17912345678，身份证：61092119650312864X\n"
    [item] = ingest_text(text, file="p.md")
    findings = run_checks(item.record, source_text=text)
    excerpts = " ".join(f.excerpt for f in findings)
    assert "17912345678" not in excerpts and "61092119650312864X" not in excerpts
