"""render_version / get_rendition against the real store (SQLite per test), and ``hub render``."""

from __future__ import annotations

import json

import pytest
from renderkit import load_record
from sqlalchemy import func, select
from typer.testing import CliRunner

from hub.channels.registry import link_channels
from hub.errors import NotFound, RenderError
from hub.renderers.context import short_code
from hub.renderers.service import get_rendition, render_version
from hub.store import repo
from hub.store.db import session_scope
from hub.store.models import RenditionRow, ShortLinkRow

KINDS = ["summary", "qr", "sms", "wechat", "weibo", "web", "print"]


def _save(name: str) -> str:
    record = load_record(name)
    with session_scope() as s:
        return repo.save_version(s, record, findings=[], warnings=[], actor="tester").version


def test_render_version_stores_renditions_and_one_short_link_per_channel(public_url: str) -> None:
    """Seven rows in renditions, seven short links pointing at the page, codes as context computes them."""
    version = _save("sample")
    with session_scope() as s:
        out = render_version(s, "xzfgzbmzfb-2017-0168", kinds=KINDS)
    assert [r.kind for r in out] == KINDS
    with session_scope() as s:
        assert s.scalar(select(func.count()).select_from(RenditionRow)) == len(KINDS)
        links = {row.channel: row for row in s.scalars(select(ShortLinkRow))}
    assert set(links) == set(link_channels())
    for channel, row in links.items():
        assert row.code == short_code(version, channel) and row.version == version
        assert row.target_url == f"{public_url}/records/xzfgzbmzfb-2017-0168"


def test_a_second_render_reuses_the_stored_renditions() -> None:
    """Same version, same context: the stored rows come back, nothing is added."""
    _save("sample")
    with session_scope() as s:
        first = render_version(s, "xzfgzbmzfb-2017-0168", kinds=["sms", "web"])
    with session_scope() as s:
        ids = {r.kind: r.id for r in s.scalars(select(RenditionRow))}
        again = render_version(s, "xzfgzbmzfb-2017-0168", kinds=["sms", "web"])
    with session_scope() as s:
        assert {r.kind: r.id for r in s.scalars(select(RenditionRow))} == ids
    assert [r.main.sha256 for r in again] == [r.main.sha256 for r in first]


def test_a_published_interpretation_updates_the_policy_page_on_the_next_render() -> None:
    """The policy's page is rendered again (row updated) once its 解读 exists, and links to it."""
    policy = _save("policy")
    with session_scope() as s:
        [before] = render_version(s, policy, kinds=["web"])
    _save("jiedu")
    with session_scope() as s:
        [after] = render_version(s, policy, kinds=["web"])
    assert after.main.sha256 != before.main.sha256
    assert load_record("jiedu").title in after.main.path.read_text()
    with session_scope() as s:
        assert get_rendition(s, policy, "web").main.sha256 == after.main.sha256
        jiedu = render_version(s, "hanyin-2026-zwgk-banfa-jiedu", kinds=["web"])[0]
    assert 'href="/records/hanyin-2026-zwgk-banfa"' in jiedu.main.path.read_text()


def test_unknown_kinds_and_missing_renditions_are_not_found() -> None:
    """A kind that does not exist, or a rendition never made, is NotFound."""
    version = _save("sample")
    with session_scope() as s, pytest.raises(NotFound):
        render_version(s, version, kinds=["fax"])
    with session_scope() as s, pytest.raises(NotFound):
        get_rendition(s, version, "print")


def test_a_short_code_taken_by_another_version_fails_loudly() -> None:
    """A collision would send readers to the wrong record: RenderError, nothing stored."""
    version = _save("sample")
    from hub.timeutil import utcnow

    with session_scope() as s:
        s.add(ShortLinkRow(code=short_code(version, "tv"), record_id="other", version="0" * 64, channel="tv",
                           target_url="x", scans=0, created_at=utcnow()))
    with session_scope() as s, pytest.raises(RenderError, match="collides"):
        render_version(s, version, kinds=["sms"])


def test_hub_render_prints_each_rendition_as_json() -> None:
    """`hub render ID --json`: kind, path, sha256, bytes and facts (SMS segments and chars, QR data)."""
    from hub.cli import _register, app

    _register()
    _save("sample")
    args = ["render", "xzfgzbmzfb-2017-0168", "--json", *(a for k in KINDS for a in ("--kind", k))]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    out = {r["kind"]: r for r in json.loads(result.output)}
    assert list(out) == KINDS
    assert out["sms"]["segments"] == 1 and out["sms"]["chars"] > 0
    assert set(out["qr"]["data"]) == set(link_channels())
    assert all({"path", "sha256", "bytes"} <= set(r) for r in out.values())


def test_hub_render_of_an_unknown_record_is_one_line_and_status_2() -> None:
    """Bad input is a clean error, not a traceback."""
    from hub.cli import _register, app

    _register()
    result = CliRunner().invoke(app, ["render", "no-such-record"])
    assert result.exit_code == 2 and "error:" in result.output


def test_render_ref_renders_between_two_short_transactions() -> None:
    """render_ref reads, renders with no transaction open, then stores; a second call reuses."""
    from hub.renderers.service import render_ref

    version = _save("sample")
    first = render_ref("xzfgzbmzfb-2017-0168", ["sms", "qr"])
    with session_scope() as s:
        assert {r.kind for r in s.scalars(select(RenditionRow))} == {"sms", "qr"}
        assert get_rendition(s, version[:12], "sms").main.sha256 == first[0].main.sha256
    assert [r.main.sha256 for r in render_ref(version, ["sms", "qr"])] == [r.main.sha256 for r in first]


def test_two_workers_rendering_the_same_version_do_not_fail() -> None:
    """Both plan before either stores: the later store finds the earlier rows, one row per kind stays, same bytes.

    (On PostgreSQL two stores can also race between read and insert; that unique-row
    IntegrityError is absorbed by the savepoint in ``service._store``.)"""
    from hub.renderers import service

    _save("sample")
    with session_scope() as s:
        a = service._plan(s, "xzfgzbmzfb-2017-0168", ["sms"])
    with session_scope() as s:
        b = service._plan(s, "xzfgzbmzfb-2017-0168", ["sms"])
    ra, rb = service._render(a), service._render(b)
    with session_scope() as s:
        service._store(s, a, ra)
    with session_scope() as s:
        service._store(s, b, rb)
    with session_scope() as s:
        assert s.scalar(select(func.count()).select_from(RenditionRow)) == 1
        assert s.scalar(select(func.count()).select_from(ShortLinkRow)) == len(link_channels())
    assert ra["sms"].main.sha256 == rb["sms"].main.sha256


def test_hub_render_renders_every_kind_it_can_and_names_the_ones_it_could_not() -> None:
    """A WeChat title over its limit fails WeChat only; the other kinds are rendered; exit status 1 (issue 11)."""
    from hub.cli import _register, app
    from hub.record import ChannelOverride

    record = load_record("sample")
    broken = record.model_copy(update={"overrides": {"wechat": ChannelOverride(title="长" * 80)}})
    with session_scope() as s:
        repo.save_version(s, broken, findings=[], warnings=[], actor="tester")
    _register()
    result = CliRunner().invoke(app, ["render", broken.id, *sum((["--kind", k] for k in KINDS), [])])
    assert result.exit_code == 1
    assert "error: wechat:" in result.stderr and "1 kind(s) not rendered: wechat" in result.stderr
    rendered = {line.split()[0] for line in result.stdout.splitlines()}
    assert rendered == set(KINDS) - {"wechat"}


def test_render_of_a_version_with_unresolved_personal_data_writes_no_number_in_clear() -> None:
    """The 公示 sample's IDs, cards and mobiles are masked in every rendition while its findings block."""
    from hub.checks import run_checks
    from hub.renderers.service import render_ref_all

    record = load_record("gongshi")
    with session_scope() as s:
        repo.save_version(s, record, findings=run_checks(record), warnings=[], actor="tester")
    renditions, failed = render_ref_all(record.id, kinds=["web", "wechat", "summary"])
    assert not failed
    for r in renditions:
        text = r.main.path.read_text(encoding="utf-8")
        for number in ("61092119650312864X", "13992561234", "6222025783086271497"):
            assert number not in text, (r.kind, number)
