"""The assessment report: ranking by the configured weights, and the same figures in HTML, PDF and XLSX."""

from __future__ import annotations

import re
import subprocess
from datetime import date, datetime, timedelta
from io import BytesIO
from pathlib import Path

import pytest
from sqlalchemy import update

from hub.metrics import assessment
from hub.metrics.ontime import on_time
from hub.store.db import session_scope
from hub.store.models import VersionRow
from hub.timeutil import SHANGHAI

SAMPLE = Path(__file__).resolve().parents[2] / "samples" / "policy-zhengwu-gongkai-banfa.md"
ITEM = "扶贫政策"  # 公开时限: 政策制定或变更之日起20个工作日内


def _store(record_id: str, department: str, written_on: date, published_on: date) -> str:
    """A published record of ``department`` (the sample's text, another id and dates); its version."""
    from hub.ingest.recordfile import parse_record_file
    from hub.store import repo

    record, _ = parse_record_file(SAMPLE.read_text("utf-8"), file=SAMPLE.name)
    record = record.model_copy(update={
        "id": record_id, "department": department, "item": ITEM, "written_on": written_on,
        "published_at": datetime.combine(published_on, datetime.min.time(), SHANGHAI) + timedelta(hours=10),
        "signature": record.signature.model_copy(update={"office": department, "date": written_on})
        if record.signature else None})
    with session_scope() as s:
        row = repo.save_version(s, record, findings=[], warnings=[], actor="author")
        # arrange: the workflow's publication is not what is under test here
        s.execute(update(VersionRow).where(VersionRow.version == row.version).values(state="published"))
        return row.version


def test_on_time_counts_working_days_on_the_county_calendar_across_national_day() -> None:
    # 20 working days from Fri 2026-09-25: the National Day holiday (10-01..10-07) does not count
    # and the adjusted Saturday 2026-10-10 does, so the deadline is 2026-10-29, not 10-23 (weekdays only)
    from hub.office.calendar import get_calendar

    due = get_calendar().add_workdays(date(2026, 9, 25), 20)
    assert due > date(2026, 10, 23)
    _store("c-holiday", "县丙局", date(2026, 9, 25), due)
    _store("d-late", "县丙局", date(2026, 9, 25), due + timedelta(days=1))
    with session_scope() as s:
        assert on_time(s.query(VersionRow).filter_by(record_id="c-holiday").one()) is True
        assert on_time(s.query(VersionRow).filter_by(record_id="d-late").one()) is False


def test_a_department_with_an_overdue_record_ranks_below_one_without() -> None:
    _store("a-late", "县甲局", date(2026, 10, 1), date(2026, 11, 20))  # 36 weekdays: overdue
    _store("b-ontime", "县乙局", date(2026, 11, 2), date(2026, 11, 6))
    with session_scope() as s:
        late = s.query(VersionRow).filter_by(record_id="a-late").one()
        assert on_time(late) is False
        report = assessment.build(s, period="2026-11")
    ranks = {g.name: g for g in report.groups}
    assert ranks["县乙局"].rank < ranks["县甲局"].rank
    assert ranks["县甲局"].overdue == 1 and ranks["县乙局"].overdue == 0
    w = report.weights
    assert ranks["县乙局"].score - ranks["县甲局"].score == pytest.approx(
        100 * w.on_time / sum(w.model_dump().values()), abs=0.11)


def _html_rows(html: str) -> list[list[str]]:
    table = re.search(r'<table class="ranking">(.*?)</table>', html, re.S)
    assert table
    return [re.findall(r"<td>(.*?)</td>", tr) for tr in re.findall(r"<tr>(.*?)</tr>", table.group(1), re.S)
            if "<td>" in tr]


@pytest.mark.slow
def test_the_reports_xlsx_and_pdf_carry_the_same_numbers_as_the_html(tmp_path: Path) -> None:
    from openpyxl import load_workbook

    _store("a-late", "县甲局", date(2026, 10, 1), date(2026, 11, 20))
    _store("b-ontime", "县乙局", date(2026, 11, 2), date(2026, 11, 6))
    _store("c-ontime", "县乙局", date(2026, 11, 9), date(2026, 11, 10))
    with session_scope() as s:
        report = assessment.build(s, period="2026-11")
    html = assessment.export(report, "html").decode("utf-8")
    rows = _html_rows(html)
    assert len(rows) == 2 and all(len(r) == len(assessment.Report.HEADER) for r in rows)
    assert html.count("data:image/svg+xml;base64,") == 3 and "权重" in html

    wb = load_workbook(BytesIO(assessment.export(report, "xlsx")))
    ws = wb["考核排名"]
    assert [c.value for c in ws[2]] == list(assessment.Report.HEADER)
    assert [[str(c.value) for c in ws[3 + i]] for i in range(len(rows))] == rows

    pdf = tmp_path / "r.pdf"
    pdf.write_bytes(assessment.export(report, "pdf"))
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    lines = [line.split() for line in text.splitlines()]
    for row in rows:
        assert row in lines, (row, text[:800])


def test_one_departments_report_keeps_its_rank_among_all_and_an_unknown_one_is_refused() -> None:
    from hub.errors import InputError

    _store("a-late", "县甲局", date(2026, 10, 1), date(2026, 11, 20))
    _store("b-ontime", "县乙局", date(2026, 11, 2), date(2026, 11, 6))
    with session_scope() as s:
        report = assessment.build(s, period="2026-11", department="县甲局")
        assert [(g.name, g.rank) for g in report.groups] == [("县甲局", 2)] and report.county_groups == 2
        assert {ln.record_id for ln in report.lines} == {"a-late"}
        with pytest.raises(InputError):
            assessment.build(s, period="2026-11", department="县丙局")
        assert assessment.build(s, period="2026-10").groups == []  # first published in November


def test_a_department_that_leaves_a_citizens_question_unanswered_past_its_due_day_ranks_below() -> None:
    from hub.store.models import ConsultationRow
    from hub.timeutil import utcnow

    _store("e-ontime", "县丁局", date(2026, 11, 2), date(2026, 11, 6))
    _store("f-ontime", "县戊局", date(2026, 11, 2), date(2026, 11, 6))
    asked = datetime(2026, 11, 3, 9, tzinfo=SHANGHAI)
    with session_scope() as s:
        for i, (dept, answered) in enumerate((("县丁局", None), ("县戊局", asked + timedelta(days=1)))):
            s.add(ConsultationRow(code_hash=f"{i:064d}", topic_kind="department", topic=dept, department=dept,
                                  title="低保申请", question="请问需要哪些材料？", content_hash=f"{i:064d}",
                                  state="answered" if answered else "open", answer="答复" if answered else None,
                                  answered_at=answered, due_on=date(2026, 11, 10), created_at=asked,
                                  updated_at=answered or asked))
    with session_scope() as s:
        report = assessment.build(s, period="2026-11")
    ranks = {g.name: g for g in report.groups}
    assert utcnow().date() > date(2026, 11, 10)
    assert ranks["县丁局"].parts["consultation"] == 0.0 and ranks["县戊局"].parts["consultation"] == 1.0
    assert ranks["县戊局"].rank < ranks["县丁局"].rank
