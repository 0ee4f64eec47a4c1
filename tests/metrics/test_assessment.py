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
from hub.metrics.ontime import due_date, limit_days, on_time
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


def test_the_deadline_parser_reads_the_catalogs_working_day_limits() -> None:
    assert limit_days("政策制定或变更之日起20个工作日内") == (20, True)
    assert limit_days("征收土地申请批准后15个工作日内") == (15, True)
    assert limit_days("收费前公示") is None
    assert due_date(date(2026, 11, 2), 5, True) == date(2026, 11, 9)  # Monday + 5 weekdays = next Monday


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
