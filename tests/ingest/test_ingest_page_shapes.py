"""Government page text in the header shapes, field names and date styles real portals use."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from hub.errors import RecordError
from hub.ingest import ingest_text
from hub.ingest.dates import DateError, parse_date, parse_datetime
from hub.ingest.page import SYNONYMS
from hub.record import Disclosure, Heading, Level
from hub.timeutil import iso_local

BODY = """各镇人民政府，县政府各工作部门、直属机构：
现将有关事项通知如下：
一、总体要求
按照要求做好工作。
二、工作措施
（一）加强领导
成立领导小组。
汉阴县人民政府办公室
二〇一七年十一月十五日
"""


def one(text: str, name: str = "page.txt") -> tuple:
    [item] = ingest_text(text, file=name)
    return item.record, item.warnings


def test_key_value_lines_with_full_width_colons_are_a_header() -> None:
    text = ("关于做好冬季防火工作的通知\n索引号：xzfgzbmzfb/2017-0170\n发布机构：汉阴县人民政府办公室\n"
            "发文字号：汉政办发〔2017〕170号\n发布日期：2017年11月20日 09:30\n成文日期：2017年11月18日\n"
            "主题分类：县政府办文件\n公开属性：主动公开\n时效：有效\n" + BODY)
    r, warnings = one(text)
    assert (r.index_no, r.department, r.doc_no) == ("xzfgzbmzfb/2017-0170", "汉阴县人民政府办公室", "汉政办发〔2017〕170号")
    assert iso_local(r.published_at) == "2017-11-20T09:30:00+08:00"
    assert r.written_on == date(2017, 11, 18)
    assert (r.catalog, r.disclosure, r.validity) == ("县政府办文件", Disclosure.ACTIVE, "有效")
    assert not [w for w in warnings if "missing" in w]


def test_one_field_per_line_is_a_header() -> None:
    text = ("关于做好冬季防火工作的通知\n索引号\nxzfgzbmzfb/2017-0170\n公开主体\n汉阴县应急管理局\n"
            "文号\n汉应急发〔2017〕3号\n公开日期\n2017-11-20\n" + BODY)
    r, warnings = one(text)
    # the header's 公开主体 is read; the document's own 落款 names the issuer, so the header value is kept in extra
    assert (r.index_no, r.extra["发布机构"], r.doc_no) == ("xzfgzbmzfb/2017-0170", "汉阴县应急管理局", "汉应急发〔2017〕3号")
    assert r.department == "汉阴县人民政府办公室"
    assert iso_local(r.published_at) == "2017-11-20T00:00:00+08:00"
    assert any("no time of day" in w for w in warnings)
    assert any("成文日期" in w and "missing" in w for w in warnings)


def test_pipe_rows_with_ascii_and_full_width_bars_and_unknown_fields_kept_in_extra() -> None:
    text = ("关于做好冬季防火工作的通知\n"
            "索引号 | xzfgzbmzfb/2017-0170 | 信息分类: | 县政府办文件 |\n"
            "公开责任部门｜汉阴县人民政府办公室｜体裁分类：｜通知｜\n"
            "文号 | 汉政办发〔2017〕170号 | 生成日期: | 2017/11/20 16:05 |\n" + BODY)
    r, _ = one(text)
    assert r.catalog == "县政府办文件"
    assert r.department == "汉阴县人民政府办公室"
    assert r.extra == {"体裁分类": "通知"}
    assert iso_local(r.published_at) == "2017-11-20T16:05:00+08:00"


def test_a_header_before_the_title_is_read_too() -> None:
    text = "索引号：xzfgzbmzfb/2017-0171\n发布日期：2017-11-21\n关于开展安全检查的通知\n" + BODY
    r, _ = one(text)
    assert r.title == "关于开展安全检查的通知"
    assert r.index_no == "xzfgzbmzfb/2017-0171"


@pytest.mark.parametrize(("label", "field"), sorted(SYNONYMS.items()))
def test_every_synonym_maps_to_its_field(label: str, field: str) -> None:
    values = {"index_no": "abc/2017-0001", "department": "汉阴县财政局", "doc_no": "汉财发〔2017〕1号",
              "published_at": "2017-11-20 10:00", "written_on": "2017年11月19日", "catalog": "财政预决算",
              "disclosure": "依申请公开", "validity": "有效", "title": "标题字段", "addressees": "各镇人民政府",
              "source_name": "汉阴县财政局"}
    r, _ = one(f"通知\n{label}：{values[field]}\n正文第一段。\n")
    got = {"published_at": iso_local(r.published_at), "written_on": r.written_on and r.written_on.isoformat(),
           "disclosure": r.disclosure.value, "addressees": ",".join(r.addressees),
           "source_name": r.department}.get(field, getattr(r, field, None))
    # the header's 标题/名称 wins over the title line (issue 11); a 来源 office is the issuer when nothing else is
    expected = {"published_at": "2017-11-20T10:00:00+08:00", "written_on": "2017-11-19"}.get(field, values[field])
    assert got == expected


def test_a_document_without_header_ingests_with_warnings_for_each_missing_field() -> None:
    r, warnings = one("关于开展安全检查的通知\n" + BODY)
    missing = [w for w in warnings if "missing" in w]
    assert len(missing) == 8
    assert r.index_no is None and r.published_at is None
    assert r.id.startswith("rec-")
    assert r.addressees == ["各镇人民政府", "县政府各工作部门、直属机构"]
    assert r.signature is not None and r.signature.date == date(2017, 11, 15)
    assert [b.number for b in r.body if isinstance(b, Heading)] == ["一、", "二、", "（一）"]


def test_the_id_without_an_index_number_is_stable_for_the_same_file() -> None:
    a, _ = one("关于开展安全检查的通知\n正文。\n", "a.txt")
    b, _ = one("关于开展安全检查的通知\n正文改了。\n", "a.txt")
    c, _ = one("关于开展安全检查的通知\n正文。\n", "b.txt")
    assert a.id == b.id != c.id


def test_township_departments_give_township_level_and_region() -> None:
    r, _ = one("公示\n发布机构：汉阴县城关镇人民政府\n正文。\n")
    assert (r.level, r.region) == (Level.TOWNSHIP, "汉阴县城关镇")


def test_a_catalog_domain_in_the_header_sets_domain_and_a_catalog_item_sets_stage() -> None:
    r, _ = one("公示\n公开目录：征地补偿\n正文。\n")
    assert (r.domain, r.item, r.stage) == ("征地补偿", None, None)
    r, _ = one("公示\n公开目录：征地补偿费用发放\n正文。\n")
    assert (r.domain, r.item, r.stage and r.stage.value) == ("征地补偿", "征地补偿费用发放", "结果")


def test_attachment_lines_become_attachments() -> None:
    r, _ = one("通知\n索引号：a/1\n正文。\n附件：汉阴县政务公开事项目录.xlsx\n汉阴县人民政府办公室\n2017年11月15日\n")
    assert [a.name for a in r.attachments] == ["汉阴县政务公开事项目录.xlsx"]


@pytest.mark.parametrize(("text", "expected"), [
    ("2017年11月15日", date(2017, 11, 15)),
    ("二〇一七年十一月十五日", date(2017, 11, 15)),
    ("二○一七年一月三十一日", date(2017, 1, 31)),
    ("二〇二〇年十二月二十日", date(2020, 12, 20)),
    ("2017-11-15", date(2017, 11, 15)),
    ("2017/1/5", date(2017, 1, 5)),
    ("2017.11.15", date(2017, 11, 15)),
    ("２０１７年１１月１５日", date(2017, 11, 15)),
    ("２０１７－１１－１５", date(2017, 11, 15)),
    (" 2017 年 11 月 15 日 ", date(2017, 11, 15)),
])
def test_chinese_ascii_and_full_width_dates_parse(text: str, expected: date) -> None:
    assert parse_date(text) == expected


def test_times_parse_in_ascii_full_width_and_chinese_forms() -> None:
    for text in ("2017-11-15 14:52", "2017年11月15日 14：52", "2017-11-15T14:52:00", "2017年11月15日14时52分"):
        when = parse_datetime(text)
        assert when is not None and (when.hour, when.minute) == (14, 52), text


@pytest.mark.parametrize("text", ["2017-02-30", "二〇一七年二月三十日", "2017年13月1日", "2017-11-15 25:00"])
def test_impossible_dates_are_errors_not_missing(text: str) -> None:
    with pytest.raises(DateError):
        parse_datetime(text)


def test_an_impossible_date_in_the_header_names_field_and_line() -> None:
    with pytest.raises(RecordError) as err:
        one("通知\n索引号：a/1\n成文日期：2017年2月30日\n正文。\n")
    assert (err.value.file, err.value.line, err.value.field) == ("page.txt", 3, "written_on")


def test_an_unknown_disclosure_value_is_an_error_naming_the_field() -> None:
    with pytest.raises(RecordError) as err:
        one("通知\n公开形式：半公开\n正文。\n")
    assert err.value.field == "disclosure" and err.value.line == 2


def test_page_text_with_crlf_and_bom_reads_like_the_original(sample_path: Path, tmp_path: Path) -> None:
    from hub.ingest import ingest_path

    raw = sample_path.read_bytes()
    variant = tmp_path / "crlf.txt"
    variant.write_bytes(b"\xef\xbb\xbf" + raw.replace(b"\n", b"\r\n"))
    [a] = ingest_path(sample_path)
    [b] = ingest_path(variant)
    assert a.record.content() == b.record.content()


def test_an_edited_page_without_index_number_stays_the_same_record(run_hub, tmp_path: Path) -> None:
    import json

    path = tmp_path / "notice.txt"
    path.write_text("关于开展安全检查的通知\n正文。\n", encoding="utf-8")
    first = json.loads(run_hub("ingest", str(path), "--json").stdout)
    path.write_text("关于开展冬季安全检查的通知\n正文。\n", encoding="utf-8")
    second = json.loads(run_hub("ingest", str(path), "--json").stdout)
    assert first["id"] == second["id"] and first["version"] != second["version"]
    assert second["title"] == "关于开展冬季安全检查的通知"


def test_pipe_tables_in_the_body_become_tables_and_are_not_mistaken_for_a_header() -> None:
    text = ("城关镇临时救助对象公示\n| 序号 | 姓名 | 金额(元) |\n|---|---|---|\n| 1 | 张某某 | 500.00 |\n"
            "| 2 | 李某某 | 600.00 |\n公示期7天。\n")
    r, _ = one(text)
    assert r.extra == {}
    from hub.record import Table

    [table] = [b for b in r.body if isinstance(b, Table)]
    assert table.header == ["序号", "姓名", "金额(元)"]
    assert table.rows == [["1", "张某某", "500.00"], ["2", "李某某", "600.00"]]
    assert r.body[-1].type == "paragraph"
