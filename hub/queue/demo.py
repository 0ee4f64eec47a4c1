"""``hub demo``: the whole pipeline on the sample record, on the embedded default, against the sandbox.

Sandbox in-process (random secrets in this process's environment, the newspaper
desk's SMTP stand-in) → demo accounts → ingest the sample → a few demo SMS
subscribers (numbers in the 1380013800x test range) → submit as ``author``,
approve as ``reviewer`` → publish as ``office`` → the embedded worker delivers →
the TV station collects its package → wait until every delivery is final → the
delivery table and where to look.

Why a copy of the config: the SMS account keeps quiet hours (22:00–08:00 Beijing
time). A demo run at night would otherwise wait until morning for its SMS, so the
demo writes ``var/demo-config/`` with quiet hours off and points ``HUB_CONFIG_DIR``
at it for this process only.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.exc import OperationalError

from hub.queue.states import State
from hub.settings import PROJECT_ROOT

SAMPLE = PROJECT_ROOT / "samples" / "hanyin-2017-168-wugongkai.txt"
#: demo subscribers: a reserved-looking test range, never real citizens
DEMO_NUMBERS = tuple(f"+86138001380{i:02d}" for i in range(1, 6))

Echo = Callable[[str], None]


def _clear_caches() -> None:
    from hub import config, settings

    settings.get_settings.cache_clear()
    config._cached.cache_clear()


def _demo_config(var: Path) -> Path:
    """A copy of config/ with the SMS quiet hours and digest window off (see the module docstring)."""
    from hub.settings import get_settings

    src = get_settings().config_dir
    dst = var / "demo-config"
    if dst.exists():
        shutil.rmtree(dst)
    shutil.copytree(src, dst)
    toml = dst / "channels.toml"
    text = re.sub(r'(?m)^quiet_hours\s*=.*$', 'quiet_hours = ""  # hub demo: off for the sandbox run',
                  toml.read_text("utf-8"))
    # one record: its SMS goes at once instead of waiting the 30-minute digest window for company
    text = re.sub(r'(?m)^digest_window\s*=.*$', 'digest_window = "0"  # hub demo: one record, no digest', text)
    toml.write_text(text, "utf-8")
    return dst


def _phone_key(var: Path) -> str:
    """The demo's phone-encryption key, kept in var/ (0600) so re-runs can read earlier subscribers."""
    from hub.audience.subscribers import new_key

    path = var / ".demo-phone-key"
    if path.exists():
        return path.read_text("ascii").strip()
    key = new_key()
    path.write_text(key, "ascii")
    path.chmod(0o600)
    return key


@dataclass
class DemoResult:
    version: str
    ids: list[int]
    status: dict[str, Any]
    inbox: dict[str, int]
    sandbox_url: str
    portal: str | None
    tv_package: str | None
    password: str
    complete: bool
    #: ``hub demo --lifecycle``: (stage, its status JSON) for publish, correct, withdraw
    stages: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


@dataclass
class LocalChannels:
    """The sandbox and the newspaper desk's SMTP stand-in, running in this process."""

    sandbox: Any
    smtp_port: int
    stop_smtp: Callable[[], None]

    def stop(self) -> None:
        self.stop_smtp()
        self.sandbox.stop()


def start_local_channels(*, port: int = 0) -> LocalChannels:
    """Start the sandbox and the SMTP desk in-process and point every adapter at them.

    Fresh random secrets go into this process's environment (the sandbox accepts exactly
    those), the phone key is kept in var/, and the SMS quiet hours are off in a private copy
    of the config. Used by ``hub demo`` and ``hub serve --sandbox``: never in production.
    """
    from hub.sandbox.app import build_sandbox, random_secrets
    from hub.sandbox.credentials import credentials_from_env
    from hub.sandbox.smtp import start_smtp
    from hub.settings import get_settings

    var = get_settings().var_dir
    var.mkdir(parents=True, exist_ok=True)
    for name, value in random_secrets().items():
        os.environ[name] = value
    os.environ.setdefault("HUB_PHONE_KEY", _phone_key(var))
    os.environ["HUB_CONFIG_DIR"] = str(_demo_config(var))
    _clear_caches()

    sb = build_sandbox(port, state_file=var / "sandbox-demo.json", credentials=credentials_from_env()).start()
    smtp_host, smtp_port, stop_smtp = start_smtp(sb)
    os.environ.update({"HUB_SANDBOX_URL": sb.url, "HUB_TENCENT_ENDPOINT": f"127.0.0.1:{sb.port}",
                       "HUB_TENCENT_TTS_ENDPOINT": f"127.0.0.1:{sb.port}", "HUB_SMTP_HOST": smtp_host,
                       "HUB_SMTP_PORT": str(smtp_port)})
    _clear_caches()
    return LocalChannels(sb, smtp_port, stop_smtp)


def run_demo(*, sample: Path = SAMPLE, timeout: float = 300.0, echo: Echo = print,
             keep: Callable[[str], None] | None = None, lifecycle: bool = False) -> DemoResult:
    """Run the demo; ``keep`` (if given) is called with the inbox URL while everything still runs.

    ``lifecycle``: after the publication, correct the sample (a material change) and then withdraw
    it, each stage's deliveries in ``DemoResult.stages`` (``hub demo --lifecycle``).
    """
    local = start_local_channels()
    sb = local.sandbox
    echo(f"sandbox running at {sb.url} (WeChat, Weibo, Tencent Cloud; newspaper desk SMTP on {local.smtp_port})")
    handle = None
    try:
        password, version = _prepare(sample, echo)
        from hub.queue.publish import publish_and_enqueue
        from hub.queue.runtime import start_embedded_worker

        handle = start_embedded_worker()
        ids = publish_and_enqueue(version, actor="office")
        echo(f"published version {version[:12]} as office: {len(ids)} deliveries; delivering ...")
        complete = _wait(ids, timeout, echo)
        stages = _lifecycle(version, ids, timeout, echo) if lifecycle else []
        complete = complete and all(ok for _, _, ok in stages)
        result = _result(version, ids, sb, password, complete)
        result.stages = [(name, data) for name, data, _ in stages]
        if keep is not None:
            keep(f"{sb.url}/_sandbox/")
        return result
    finally:
        if handle is not None:
            handle.stop()
        local.stop()


def _stage(record_id: str, ids: list[int]) -> dict[str, Any]:
    from hub.queue.status import status_json
    from hub.store.db import session_scope

    with session_scope() as s:
        data = status_json(s, record_id)
    data["deliveries"] = [d for d in data["deliveries"] if d["id"] in set(ids)]
    return data


def _lifecycle(version: str, ids: list[int], timeout: float, echo: Echo) -> list[tuple[str, dict[str, Any], bool]]:
    """The sample's life after the publication: the publish table, a material correction, a withdrawal."""
    from hub.app import deliveries, lifecycle
    from hub.store import repo
    from hub.store.db import session_scope

    with session_scope() as s:
        record_id = repo.find_version(s, version).record_id
    out: list[tuple[str, dict[str, Any], bool]] = [("publish", _stage(record_id, ids), True)]
    new = corrected_sample(version, echo=echo)
    _render_all(new, None, echo)
    fix = deliveries.publish(new, actor="office", material=True)
    echo(f"published the correction {new[:12]} as office: {len(fix.ids)} deliveries (corrected posts, "
         "old ones taken down, SMS and the desk told); delivering ...")
    ok = _wait(fix.ids, timeout, echo)
    out.append(("correct", _stage(record_id, fix.ids), ok))
    gone = lifecycle.withdraw(new, actor="office", reason="演示：整条信息撤回")
    echo(f"withdrew the record as office: {len(gone.ids)} withdrawal steps; delivering ...")
    ok = _wait(gone.ids, timeout, echo)
    out.append(("withdraw", _stage(record_id, gone.ids), ok))
    return out


def _prepare(sample: Path, echo: Echo) -> tuple[str, str]:
    """Accounts, the sample stored and approved, demo subscribers; returns (password, version)."""
    from hub.auth import demo_password

    password = demo_password()
    return password, _prepare_record(sample, echo=echo, password=password)


def _prepare_record(sample: Path, *, echo: Echo, password: str,
                    kinds: tuple[str, ...] | None = None) -> str:
    """Demo accounts, ``sample`` stored, submitted and approved, demo subscribers, renditions; the version.

    ``kinds`` limits the pre-rendering (default: every kind a channel needs).
    """
    from hub import auth, workflow
    from hub.audience import subscribers
    from hub.checks import run_checks
    from hub.ingest import ingest_path
    from hub.record import Stage
    from hub.store import repo
    from hub.store.db import session_scope

    with session_scope() as s:
        auth.seed_demo_users(s, password)
    items = ingest_path(sample)
    item = items[0]
    record = item.record
    if record.stage is None:
        # The page does not say its 五公开 stage and ingest never guesses one; the author sets it
        # on the editor form before submitting (a policy notice of the county office: 决策).
        record = record.model_copy(update={"stage": Stage.DECISION})
    with session_scope() as s:
        findings = run_checks(record, source_text=item.source_text)
        row = repo.save_version(s, record, findings=findings, warnings=item.warnings, actor="author",
                                source_key=item.source_key)
        version = row.version
    echo(f"ingested {sample.name}: record {record.id}, version {version[:12]}, 五公开 stage "
         f"{record.stage} set by the author ({sum(1 for f in findings if f.blocking)} blocking finding(s))")
    with session_scope() as s:
        for number in DEMO_NUMBERS:
            subscribers.upsert(s, number, level="county")
    echo(f"demo SMS subscribers: {len(DEMO_NUMBERS)} (test range, stored encrypted)")
    with session_scope() as s:
        row = repo.find_version(s, version)
        if row.state == "draft":
            workflow.submit(s, row, "author")
        if row.state == "in_review":
            for finding in workflow.unwaived_blocking(s, row):
                workflow.waive(s, finding.id, "reviewer", "演示：示例文件已人工核对")
            workflow.approve(s, row, "reviewer", "演示审核通过")
        state = row.state
    echo(f"version {version[:12]} is {state} (submitted by author, approved by reviewer)")
    _render_all(version, kinds, echo)
    return version


def _render_all(version: str, kinds: tuple[str, ...] | None, echo: Echo) -> None:
    """Render every rendition up front (the TV video takes minutes) so deliveries only load them."""
    from hub.channels.registry import rendition_kinds
    from hub.errors import HubError
    from hub.renderers.service import render_ref

    for kind in kinds if kinds is not None else tuple(dict.fromkeys(rendition_kinds().values())):
        started = time.monotonic()
        try:
            # no transaction open while rendering: the video's render claim is written from
            # another connection (and SQLite's write lock must not be held for minutes, F14)
            render_ref(version, [kind])
            echo(f"rendered {kind} in {time.monotonic() - started:.1f} s")
        except (HubError, OSError, TypeError, ValueError) as exc:  # the delivery will record it in words
            echo(f"could not render {kind}: {type(exc).__name__}: {exc}")


def _wait(ids: list[int], timeout: float, echo: Echo) -> bool:
    """Wait until every delivery is final; collect the TV package (as the station) once it is submitted."""
    from hub.channels import tv
    from hub.queue import actors
    from hub.queue.confirm import poll_now
    from hub.store.db import session_scope
    from hub.store.models import DeliveryRow

    deadline = time.monotonic() + timeout
    collected: set[int] = set()
    last = ""
    while time.monotonic() < deadline:
        try:
            with session_scope() as s:
                rows = [s.get(DeliveryRow, i) for i in ids]
                states = {r.id: (r.state, r.channel, r.provider_ref, r.needs_attention)
                          for r in rows if r is not None}
        except OperationalError:  # a long write elsewhere (a render): look again shortly
            time.sleep(0.25)
            continue
        for did, (state, channel, ref, _att) in states.items():
            if channel == tv.TvChannel.name and state == State.SUBMITTED and ref and did not in collected:
                with session_scope() as s:
                    tv.collect(s, ref, by="station")
                    due = poll_now(s, delivery_id=did)
                for d in due:
                    actors.hint("confirm", d, None)
                collected.add(did)
                echo(f"the TV station collected package {ref}")
        summary = ", ".join(f"{st} {sum(1 for v in states.values() if v[0] == st)}"
                            for st in sorted({v[0] for v in states.values()}))
        if summary != last:
            echo(f"  {summary}")
            last = summary
        if all(v[0] in (State.CONFIRMED, State.FAILED, State.EXPIRED, State.CANCELLED) or v[3]
               for v in states.values()):
            return all(v[0] in (State.CONFIRMED, State.FAILED, State.EXPIRED, State.CANCELLED)
                       for v in states.values())
        time.sleep(0.25)
    return False


def _result(version: str, ids: list[int], sb: Any, password: str, complete: bool) -> DemoResult:
    from hub.channels import tv
    from hub.channels.web import WebChannel
    from hub.queue.status import status_json
    from hub.settings import get_settings
    from hub.store.db import session_scope

    with session_scope() as s:
        data = status_json(s, version)
    inbox: dict[str, int] = {}
    for m in sb.messages():
        inbox[m["channel"]] = inbox.get(m["channel"], 0) + 1
    portal = tv_pkg = None
    for d in data["deliveries"]:
        if d.get("purpose", "publish") == "withdraw":  # its ref names what it took down
            continue
        if d["channel"] == WebChannel.name and d["provider_ref"]:
            page = get_settings().site_dir / d["provider_ref"]
            portal = str(page if page.exists() else d["provider_ref"])
        if d["channel"] == tv.TvChannel.name and d["provider_ref"]:
            tv_pkg = str(tv.package_dir(d["provider_ref"]))
    return DemoResult(version, ids, data, inbox, sb.url, portal, tv_pkg, password, complete)


#: the material change ``hub demo --lifecycle`` makes to the sample (an added paragraph)
CORRECTION_TEXT = "更正：原文第二条所列的申请材料中，“户口簿复印件”不再需要提供，以本更正为准。"


def corrected_sample(version: str, *, echo: Echo, text: str = CORRECTION_TEXT) -> str:
    """A corrected version of the published sample: ``text`` added as a last paragraph, saved by the
    author, submitted, and approved by the reviewer (what an office would do before a 更正)."""
    from hub import workflow
    from hub.checks import run_checks
    from hub.record import Paragraph
    from hub.store import repo
    from hub.store.db import session_scope

    with session_scope() as s:
        _, record = repo.get_version(s, version)
    new = record.model_copy(update={"body": [*record.body, Paragraph(text=text)]})
    with session_scope() as s:
        row = workflow.save_draft(s, new, actor="author", findings=run_checks(new))
        workflow.submit(s, row, "author")
        for finding in workflow.unwaived_blocking(s, row):
            workflow.waive(s, finding.id, "reviewer", "演示：更正稿已人工核对")
        workflow.approve(s, row, "reviewer", "同意更正")
        corrected = row.version
    echo(f"corrected version {corrected[:12]}: approved by the reviewer (a material change)")
    return corrected
