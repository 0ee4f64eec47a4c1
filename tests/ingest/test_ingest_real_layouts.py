"""The layouts of issue 11, one test each: real pages read by principle, nothing silently lost."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from hub.checks import run_checks
from hub.ingest import ingest_text
from hub.record import Paragraph, Table
from hub.renderers.context import issuer_line

BODY = "各乡镇人民政府，县直各部门：\n现将有关事项通知如下。\n一、总体要求\n按照要求做好工作。\n汉阴县人民政府\n2020年3月2日\n"


def one(text: str, name: str = "page.txt"):  # type: ignore[no-untyped-def]
    [item] = ingest_text(text, file=name)
    return item.record, item.warnings


def test_several_pairs_on_one_line_with_an_empty_value_at_the_end_are_read_not_refused() -> None:
    r, warnings = one("关于做好防汛工作的通知\n索引号: 11/2020-00123 组配分类: 应急管理\n生成日期: 2020-03-02 文号:\n" + BODY)
    assert (r.index_no, r.catalog, r.doc_no) == ("11/2020-00123", "应急管理", None)
    assert r.published_at is not None and any("文号 is empty" in w for w in warnings)


def test_label_value_pairs_separated_by_spaces_only_do_not_swallow_each_other() -> None:
    r, _ = one("关于做好防汛工作的通知\n索引号 11/2020-00123 发布机构 汉阴县蒲溪镇 文号 浏览量 321\n" + BODY)
    assert (r.index_no, r.doc_no, r.extra.get("浏览量")) == ("11/2020-00123", None, "321")
    assert r.extra["发布机构"] == "汉阴县蒲溪镇"  # the document's signature names the issuer


def test_an_empty_header_value_does_not_end_the_header_nor_become_the_title() -> None:
    r, _ = one("索引号：11/2020-00123\n主 题 词：\n关于做好防汛工作的通知\n文号：汉政发〔2020〕3号\n" + BODY)
    assert r.title == "关于做好防汛工作的通知" and r.doc_no == "汉政发〔2020〕3号"


def test_a_pipe_header_carrying_the_name_gives_the_title_and_keeps_the_addressees() -> None:
    r, _ = one("名称 | 关于做好防汛工作的通知 | 文号 | 汉政发〔2020〕3号 |\n索引号 | 11/2020-00123 | 发布机构 | 汉阴县人民政府 |\n" + BODY)
    assert r.title == "关于做好防汛工作的通知"
    assert r.addressees == ["各乡镇人民政府", "县直各部门"]


def test_a_page_without_a_title_keeps_it_empty_with_a_warning_and_cannot_be_taken_from_the_text() -> None:
    r, warnings = one("各乡镇人民政府，县直各部门：\n为做好防汛工作，现通知如下。\n一、加强值守\n汛期实行24小时值班。\n")
    assert r.title == "" and any("未识别标题" in w for w in warnings)
    assert r.addressees == ["各乡镇人民政府", "县直各部门"]


def test_a_document_on_one_line_is_cut_into_paragraphs_and_keeps_every_sentence() -> None:
    sentences = [f"第{n}项工作要按时完成，责任落实到人，确保各项任务落到实处。" for n in range(1, 40)]
    text = "".join(sentences)
    r, _ = one(text)
    assert r.title == ""
    kept = "".join(b.text for b in r.body if isinstance(b, Paragraph))
    assert kept == text and len(r.body) > 3


def test_doc_number_under_the_title_bullets_letter_o_dates_and_synonyms_are_all_read() -> None:
    text = ("关于做好防汛工作的通知\n汉政发〔2007〕3号\n• 2007-03-02 10:15\n• 来源: 汉阴县水利局\n"
            "主题分类：水利\n组配分类：应急\n" + BODY.replace("2020年3月2日", "二OO七年三月二日"))
    r, warnings = one(text)
    assert r.doc_no == "汉政发〔2007〕3号" and r.catalog == "水利" and r.extra["组配分类"] == "应急"
    assert any("组配分类" in w and "disagrees" in w for w in warnings)
    assert r.signature is not None and r.signature.date == date(2007, 3, 2)
    assert r.extra["来源"] == "汉阴县水利局"


def test_a_signature_in_the_middle_of_an_issuing_notice_leaves_the_rules_it_issues_in_the_body() -> None:
    text = ("汉阴县人民政府办公室关于印发《汉阴县防汛预案》的通知\n各乡镇人民政府：\n现将《汉阴县防汛预案》印发给你们，请认真执行。\n"
            "汉阴县人民政府办公室\n2020年3月2日\n汉阴县防汛预案\n第一章 总则\n第一条 为做好防汛工作，制定本预案。\n")
    r, _ = one(text)
    assert r.signature is not None and r.signature.office == "汉阴县人民政府办公室"
    assert r.body_text()[-1] == "第一条 为做好防汛工作，制定本预案。"


def test_tables_one_cell_per_line_and_space_aligned_become_tables_never_empty_ones() -> None:
    cells = "序号|\n姓名|\n金额|\n1|\n张某某|\n500|\n2|\n李某某|\n600|\n"
    r, _ = one("城关镇救助对象公示\n" + cells + "公示期7天。\n")
    [table] = [b for b in r.body if isinstance(b, Table)]
    assert table.header == ["序号", "姓名", "金额"] and table.rows == [["1", "张某某", "500"], ["2", "李某某", "600"]]
    r, _ = one("城关镇救助对象公示\n序号  姓名    金额\n1     张某某  500\n2     李某某  600\n公示期7天。\n")
    [table] = [b for b in r.body if isinstance(b, Table)]
    assert table.rows[1] == ["2", "李某某", "600"]
    r, _ = one("城关镇救助对象公示\n| 序号 | 姓名 |\n|---|---|\n公示期7天。\n")
    assert not [b for b in r.body if isinstance(b, Table)]  # a header without rows stays text
    assert "序号 姓名" in r.body_text()


def test_no_issuer_on_the_page_is_a_blocking_finding_never_the_site_owner() -> None:
    r, warnings = one("关于做好防汛工作的通知\n为做好防汛工作，现通知如下。\n")
    assert r.department is None and any("未识别发布机构" in w for w in warnings)
    findings = run_checks(r)
    assert [(f.kind, f.excerpt, f.blocking) for f in findings] == [("issuer_missing", "未识别发布机构", True)]


def test_a_re_posted_state_council_decision_is_the_state_councils_and_reads_as_re_posted() -> None:
    r, _ = one("国务院关于取消一批行政许可事项的决定\n发布机构：汉阴县人民政府办公室\n各省、自治区、直辖市人民政府：\n经研究论证，决定取消一批行政许可事项。\n")
    assert r.department == "国务院" and r.extra["发布机构"] == "汉阴县人民政府办公室"
    assert issuer_line(r) == "汉阴县人民政府办公室转发国务院"


def test_ingest_explain_names_the_line_of_every_field(run_hub, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    page = tmp_path / "p.txt"
    page.write_text("关于做好防汛工作的通知\n索引号：11/2020-00123\n" + BODY, encoding="utf-8")
    out = run_hub("ingest", "--explain", str(page)).stdout
    assert "    1  title" in out and "    2  header 索引号 → index_no" in out
    assert "signature office" in out and "发布机构 汉阴县人民政府" in out


def test_show_json_carries_the_body_as_text_blocks(run_hub, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    page = tmp_path / "p.txt"
    page.write_text("关于做好防汛工作的通知\n索引号：11/2020-00999\n" + BODY, encoding="utf-8")
    data = json.loads(run_hub("ingest", str(page), "--json").stdout)
    shown = json.loads(run_hub("show", data["id"], "--json").stdout)
    assert shown["body"][0] == {"type": "paragraph", "text": "现将有关事项通知如下。"}
    assert {"type": "heading", "text": "一、总体要求"} in shown["body"]


def test_a_signature_date_whose_year_month_day_glyphs_were_lost_is_read_and_the_publication_note_stays() -> None:
    r, _ = one("关于印发某县应急预案的通知\n各乡镇人民政府：\n现将预案印发给你们，请认真贯彻执行。\n"
               "某县人民政府办公室\n(此件公开发布)\n{ 2017 6 23\n")
    assert r.signature is not None and r.signature.office == "某县人民政府办公室"
    assert r.written_on == date(2017, 6, 23)
    assert "(此件公开发布)" in r.body_text()
    # three numbers with no office above them are no signature
    r, _ = one("关于某事的通知\n各乡镇人民政府：\n现将有关事项通知如下。\n2017 6 23\n")
    assert r.signature is None and r.written_on is None


def test_a_title_printed_twice_differently_takes_the_documents_own_and_says_so() -> None:
    r, warnings = one("索引号\nyx/2024-00033\n发布机构\n云县财政局\n云县2023年“三公”经费决算情况说明\n\n"
                      "云县2023“三公”经费决算情况说明\n根据县政府工作安排，现将情况公开如下。\n")
    assert r.title == "云县2023“三公”经费决算情况说明"
    assert any("标题两处不同" in w and "云县2023年“三公”经费决算情况说明" in w for w in warnings)
    assert "云县2023年“三公”经费决算情况说明" in r.extra["页面其他文字"]  # kept, not dropped
