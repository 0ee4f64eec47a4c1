"""A TV delivery whose package could not be rendered is held for a technician, in words, and retryable."""

from __future__ import annotations

from pathlib import Path

import pytest
from videokit import set_ffmpeg, small_station_env

from hub.errors import QCFailed, RenderError, RenderFailed
from hub.store.db import session_scope
from hub.store.models import DeliveryRow

DEPT = "汉阴县人民政府办公室"


def test_a_qc_failure_is_a_render_failure_not_a_content_rule() -> None:
    assert issubclass(QCFailed, RenderFailed) and not issubclass(RenderFailed, RenderError)


@pytest.mark.slow
def test_a_tv_delivery_whose_render_crashed_is_held_in_words_and_retried_once_fixed(
        tmp_path: Path, hub_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from hub import auth, workflow
    from hub.queue import ledger
    from hub.queue.deliver import deliver_one
    from hub.queue.publish import publish
    from hub.record import Paragraph, Record, Stage
    from hub.web.board import ERROR_WORDS, lines

    small_station_env(tmp_path, hub_home, monkeypatch, ffmpeg="/bin/false")  # every ffmpeg call fails
    record = Record(id="t-tv-crash", title="关于调整城乡低保标准的通知", department=DEPT, stage=Stage.DECISION,
                    body=[Paragraph(text="城市低保标准提高到每人每月720元，自2026年1月1日起执行。")])
    with session_scope() as s:
        auth.add_user(s, "reviewer", "reviewer", DEPT, "video-reviewer")
        row = workflow.save_draft(s, record, actor="system")
        workflow.submit(s, row, "system")
        workflow.approve(s, row, "reviewer")
        version = row.version
    with session_scope() as s:
        ids = [d.id for d in publish(s, version, actor="system", channels=["tv"])]
    assert ids
    deliver_one(ids[0])
    with session_scope() as s:
        d = s.get(DeliveryRow, ids[0])
        assert d is not None
        assert (d.state, d.last_error_class, d.needs_attention) == ("retry_wait", "RenderCrash", True)
        board = next(line for line in lines(s, version=version) if line.id == ids[0])
    assert board.error_words == ERROR_WORDS["RenderCrash"] and "字数超限" not in board.error_words
    assert "ffmpeg" in (board.error_detail or "")

    set_ffmpeg(tmp_path, "/usr/bin/ffmpeg")  # the technician fixes the cause
    with session_scope() as s:
        ledger.retry(s, ids[0], "clerk")
    deliver_one(ids[0])
    with session_scope() as s:
        d = s.get(DeliveryRow, ids[0])
        assert d is not None and d.state in ("submitted", "confirmed"), (d.state, d.last_error_msg)
