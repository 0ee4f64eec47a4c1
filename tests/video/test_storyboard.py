"""Slides from real documents: never empty, whole clauses, paced, no personal data on air."""

from __future__ import annotations

from hub.record import Heading, Paragraph, Record, Table
from hub.renderers.video.storyboard import POINT_TEXT_CHARS, TABLE_ROWS_PER_PAGE, pages, plan

URL = "http://127.0.0.1:8000/s/abc2345"


def _record(*body: object, title: str = "关于发放2026年耕地地力保护补贴的通知") -> Record:
    return Record(id="t-real", title=title, department="汉阴县农业农村局", doc_no="汉农发〔2026〕3号",
                  body=list(body))


def test_a_table_with_zero_parsed_rows_makes_no_data_slide() -> None:
    record = _record(Heading(level=1, number="一、", text="补贴标准"),
                     Paragraph(text="每亩补贴105元，由各镇统一发放到户。"),
                     Table(caption="主要数据", header=["镇名", "面积", "金额"], rows=[]))
    plans = plan(record, tv_url=URL, site_name="x")
    assert not [p for p in plans if p.kind == "data"]
    assert not any("共0项" in p.narration for p in plans)


def test_points_are_whole_clauses_never_an_ellipsis() -> None:
    long = ("为进一步做好耕地地力保护补贴发放工作，切实保障种粮农民的合法权益，调动农民保护耕地和种粮积极性，"
            "经县政府同意，现将有关事项通知如下。")
    record = _record(Paragraph(text=long), Paragraph(text="补贴对象为拥有耕地承包权的种地农民。"),
                     Paragraph(text="补贴资金通过一卡通直接发放到户，不得截留挪用。"))
    for p in plan(record, tv_url=URL, site_name="x"):
        assert "…" not in p.text and "…" not in p.narration
        assert len(p.text) <= POINT_TEXT_CHARS


def test_a_long_paragraph_is_paced_over_several_slides_at_sentence_or_clause_ends() -> None:
    wall = "".join(f"第{i}项工作要求各镇按时完成摸底核实，做到账实相符。" for i in range(1, 12))
    out = pages(wall)
    assert len(out) >= 4 and "".join(out) == wall
    assert all(len(p) <= POINT_TEXT_CHARS and p.endswith(("。", "，")) for p in out)


def test_a_run_in_subhead_is_a_label_not_a_slide() -> None:
    record = _record(Heading(level=1, number="一、", text="补贴对象和标准"),
                     Paragraph(text="（一）补贴对象。拥有耕地承包权的种地农民。"),
                     Paragraph(text="（二）补贴标准。每亩补贴105元。"),
                     Heading(level=1, number="二、", text="工作要求"),
                     Paragraph(text="各镇要加强资金监管，确保补贴及时足额发放到户。"))
    points = [p for p in plan(record, tv_url=URL, site_name="x") if p.kind == "point"]
    assert points and all(p.text not in ("（一）补贴对象。", "（一）补贴对象") for p in points)
    assert points[0].text == "拥有耕地承包权的种地农民。"


def test_a_long_table_is_shown_in_readable_pages() -> None:
    rows = [[f"城关镇第{i}村", f"{100 + i}亩", f"{(100 + i) * 105}元"] for i in range(1, 15)]
    record = _record(Paragraph(text="各村补贴面积和金额如下。"),
                     Table(caption="补贴发放明细", header=["村名", "面积", "金额"], rows=rows))
    data = [p for p in plan(record, tv_url=URL, site_name="x") if p.kind == "data"]
    assert len(data) == 3
    assert all(p.table is not None and 1 <= len(p.table[2]) <= TABLE_ROWS_PER_PAGE for p in data)
    assert data[0].narration.startswith("补贴发放明细，共14项")


def test_personal_data_never_reaches_a_slide() -> None:
    rows = [["张三", "612426199001011230", "13912345678", "1050元"], ["李四", "", "", "980元"]]
    record = _record(Paragraph(text="补贴发放到户。"),
                     Table(caption="发放名单", header=["姓名", "身份证号", "联系电话", "金额"], rows=rows))
    data = [p for p in plan(record, tv_url=URL, site_name="x") if p.kind == "data"]
    assert data and data[0].table is not None
    assert data[0].table[1] == ["姓名", "金额"]
    shown = "".join("".join(r) for p in data if p.table for r in p.table[2])
    assert "6124261990" not in shown and "1391234" not in shown
    # an ID number in an innocently named column: the table is summarised, not shown
    sneaky = _record(Paragraph(text="补贴发放到户。"),
                     Table(caption="发放名单", header=["姓名", "备注"], rows=[["张三", "612426199001011230"]]))
    assert not [p for p in plan(sneaky, tv_url=URL, site_name="x") if p.kind == "data"]
