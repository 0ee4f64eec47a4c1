"""Issue 11: a feed entry re-posting a 国务院 document lands in the office's queue, the office assigns
a department (``hub assign``), that department's author edits it, its reviewer approves it, and the
renditions say the county office 转发国务院…."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner
from workflowkit import DEPT

import hub.commands.departments  # noqa: F401 - registers the commands
import hub.commands.records  # noqa: F401
import hub.commands.workflow  # noqa: F401
from hub import workflow
from hub.cli import app
from hub.errors import PermissionDenied
from hub.ingest.issuer import ISSUER_KEY
from hub.record import Paragraph
from hub.store import repo
from hub.store.db import session_scope

FEED = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>汉阴县人民政府</title><link>http://127.0.0.1/</link><description>d</description>
<item><title>国务院关于取消和下放一批行政许可事项的决定</title><link>http://127.0.0.1/art/2019/3/1/a1.html</link>
<guid>a1</guid><pubDate>Fri, 01 Mar 2019 09:00:00 +0800</pubDate>
<description>&lt;p&gt;经研究论证，国务院决定取消和下放一批行政许可事项，现予公布。&lt;/p&gt;</description></item>
</channel></rss>
"""


def hub(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_a_re_posted_state_council_entry_goes_to_the_office_is_assigned_edited_approved_and_reads_as_re_posted(
    staff: str, tmp_path: Path,
) -> None:
    feed = tmp_path / "gwy.xml"
    feed.write_text(FEED, encoding="utf-8")
    code, out, err = hub("ingest", str(feed), "--json")
    assert code == 0, err
    data = json.loads(out)
    rid = data["id"]
    # no hub department answers for 国务院: none is set, the issuer is kept as found, the office must choose
    assert data["department"] is None and data["issuer"] == "国务院"
    assert any("公开责任部门待政务公开办指定" in w for w in data["warnings"])
    assert not [f for f in data["findings"] if f["kind"] == "issuer_missing"]  # the issuer is known
    with session_scope(staff) as s:
        office_sees = {r.record_id for r in repo.list_versions(s, current_only=True)}
        author_sees = {r.record_id for r in repo.list_versions(s, department=DEPT, current_only=True)}
        assert rid in office_sees and rid not in author_sees

    code, _, err = hub("assign", rid, "--department", DEPT, "--as", "author")
    assert code == 2 and "record.assign" in err
    code, _, err = hub("assign", rid, "--department", "国务院", "--as", "office")
    assert code == 2 and "不是本平台的部门" in err and DEPT in err
    code, out, err = hub("assign", rid, "--department", DEPT, "--as", "office")
    assert code == 0, err
    assert f"公开责任部门 {DEPT}" in out

    with session_scope(staff) as s:
        [audit] = repo.audit_rows(s, subject=rid, action="record.assign")
        assert audit.actor == "office" and audit.detail["department"] == DEPT and audit.detail["issuer"] == "国务院"
        assert rid in {r.record_id for r in repo.list_versions(s, department=DEPT, current_only=True)}
        record = repo.record_of(repo.find_version(s, rid))
        assert record.department == DEPT and record.extra[ISSUER_KEY] == "国务院"
        # the department's author edits it (the issuer stays as found) ...
        edited = record.model_copy(update={"body": [*record.body, Paragraph(text="本县各部门遵照执行。")]})
        v = workflow.save_draft(s, edited, actor="author").version
        # ... an author of another department may not
        try:
            workflow.save_draft(s, edited, actor="author_b")
            raise AssertionError("author_b edited another department's record")
        except PermissionDenied:
            pass
    assert hub("submit", v, "--as", "author")[0] == 0
    code, out, err = hub("approve", v, "--as", "reviewer", "--comment", "同意转发")
    assert code == 0, err
    assert out.strip().endswith("approved")

    from hub.renderers import RENDERERS
    from hub.renderers.base import ArtifactStore
    from hub.renderers.context import build_context, issuer_line
    from hub.renderers.video.storyboard import plan

    with session_scope(staff) as s:
        approved = repo.record_of(repo.find_version(s, v))
    assert issuer_line(approved) == f"{DEPT}转发国务院"
    store = ArtifactStore(tmp_path / "artifacts")
    ctx = build_context(approved, v)
    wechat = RENDERERS["wechat"](approved, ctx, store).files["content"].path.read_text(encoding="utf-8")
    assert f"{DEPT}转发国务院" in wechat.split("</section>", 1)[0]
    sms = RENDERERS["sms"](approved, ctx, store)
    assert "国务院" in sms.main.path.read_text(encoding="utf-8")
    title_card = plan(approved, tv_url=ctx.page_url, site_name="")[0]
    assert title_card.meta["department"] == f"{DEPT}转发国务院"
