"""The status contract (plan H): stuck, unknown and held rows first; counts per state and channel; health."""

from __future__ import annotations

from datetime import timedelta

import pytest
from engine_fakes import Engine

from hub.errors import Ambiguous
from hub.queue.deliver import deliver_one
from hub.queue.reconcile import reconcile_one
from hub.queue.status import ledger_families, status_json, table
from hub.queue.sweeper import tick
from hub.store.db import session_scope


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_status_lists_people_work_and_stuck_rows_first_with_counts(engine: Engine) -> None:
    ok = engine.add("web")
    engine.channels["blind"].script = [("land", Ambiguous("timeout"))]
    held = engine.add("blind")
    old = engine.add("fake")
    deliver_one(ok, deps=engine.deps())
    deliver_one(held, deps=engine.deps())
    engine.clock.advance(engine.settings.queued_stuck + 60)
    reconcile_one(held, deps=engine.deps())
    with session_scope() as s:
        data = status_json(s, now=engine.clock())
    ids = [d["id"] for d in data["deliveries"]]
    assert ids[0] == held and ids.index(old) < ids.index(ok)
    first = data["deliveries"][0]
    assert first["needs_attention"] and first["state"] == "unknown" and first["last_error"]["class"] == "Ambiguous"
    assert data["summary"]["by_state"] == {"confirmed": 1, "queued": 1, "unknown": 1}
    assert data["summary"]["by_channel"]["web"] == {"confirmed": 1}
    assert data["summary"]["stuck"] == 2 and data["summary"]["attention"] == 1
    assert set(data["deliveries"][0]) >= {"id", "channel", "target", "state", "attempts", "provider_ref",
                                          "last_error", "created_at", "updated_at"}
    assert "NEEDS A PERSON" in table(data)


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_health_fails_until_a_maintenance_pass_ran_and_again_after_two_minutes(engine: Engine) -> None:
    with session_scope() as s:
        assert status_json(s, now=engine.clock())["engine"]["ok"] is False
    tick(lambda *_a: None, deps=engine.deps())
    with session_scope() as s:
        assert status_json(s, now=engine.clock())["engine"]["ok"] is True
        healthy = {f.name: f for f in ledger_families(s, now=engine.clock())}["hub_engine_healthy"]
        assert [sample.value for sample in healthy.samples] == [1]
        later = status_json(s, now=engine.clock() + timedelta(days=1))
    assert later["engine"]["ok"] is False and "worker" in later["engine"]["reason"]


def test_hub_status_of_an_unknown_id_is_an_error_not_an_empty_table() -> None:
    """A clerk could read an empty table as "nothing was sent": an id that names nothing exits 2."""
    from typer.testing import CliRunner

    from hub.cli import _register, app

    _register()
    runner = CliRunner()
    for ref, words in (("nope", "no record, version or delivery"), ("99", "no delivery 99")):
        result = runner.invoke(app, ["status", ref])
        assert result.exit_code == 2 and words in result.output
