"""One render per (version, station profile) across every process, and no half-written package ever.

Why: on a loaded machine the delivery engine asked for the same version's package again
while the first render was still running; five renders of one version ran at once, each
voicing every line, and the MP4 ended corrupt ("moov atom not found") because they all
wrote the same folder (issue 17).

How:

- a **durable claim** in the database (``render_claims``, one row per version and
  profile): the first caller inserts it as ``running`` with its ``owner`` id and a lease,
  and a heartbeat thread renews the lease every ``LEASE_SECONDS / 4`` while it renders;
- every other caller **waits and joins**: it polls the row and, once it is ``done``,
  returns the same package folder; it never renders;
- a ``failed`` claim, a ``running`` one whose lease expired (the owner was killed; on the
  same host a dead owner's pid is noticed at once, without waiting for the lease), or a
  ``done`` one whose folder is gone is **taken over** by the next attempt with a
  conditional update (compare-and-set on owner, state and lease), so exactly one wins;
- the package is built in a **staging folder** beside the final one
  (``<out>/.staging/<owner>/``) and renamed into place only after QC passed; a crash or a
  kill leaves no half-written package where the station picks up, and the next start
  **sweeps** staging folders and ``/dev/shm`` scratch whose process is gone.

The claim table is the only coordination: no Redis lock, no file lock; it works the same
on SQLite (one host) and PostgreSQL (several hosts; the sweep then only touches the
folders of this host's dead processes).
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError, OperationalError

from hub.errors import RenderFailed
from hub.store.db import session_scope
from hub.store.models import RenderClaimRow
from hub.timeutil import utcnow

log = logging.getLogger(__name__)

#: A claim not renewed for this long is taken over (its process is considered dead).
LEASE_SECONDS = 60.0
#: How often a waiting caller looks at the claim again.
POLL_SECONDS = 0.5
#: A waiting caller gives up after this long (a render itself times out long before).
MAX_WAIT_SECONDS = 3600.0
STAGING = ".staging"
_HOST = socket.gethostname()[:40]


def owner_id() -> str:
    """``host-pid-random``: unique per attempt; host and pid let the sweep tell a dead owner."""
    return f"{_HOST}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _dead_owner(name: str) -> bool:
    """True when the folder ``name`` (``…-<host>-<pid>-<random>``) belongs to a dead process on this host."""
    parts = name.rsplit("-", 2)
    if len(parts) != 3 or not parts[1].isdigit():
        return False
    host = parts[0].removeprefix("hub-video-")
    return host.endswith(_HOST) and not _pid_alive(int(parts[1]))


def sweep(out_dir: Path, scratch_parents: list[Path]) -> list[Path]:
    """Remove the staging folders under ``out_dir/.staging`` and the ``hub-video-*`` scratch folders
    whose process is gone (killed renders leave them: ~320 MB of stills each). Returns what went."""
    gone: list[Path] = []
    candidates = [p for p in (out_dir / STAGING).glob("*") if p.is_dir()]
    for parent in scratch_parents:
        candidates += [p for p in parent.glob("hub-video-*") if p.is_dir()]
    for path in candidates:
        if _dead_owner(path.name):
            shutil.rmtree(path, ignore_errors=True)
            gone.append(path)
    if gone:
        log.warning("video: swept %d folder(s) left by killed renders: %s", len(gone), ", ".join(p.name for p in gone))
    return gone


@dataclass(frozen=True, slots=True)
class Outcome:
    """Where the package is, and whether this call rendered it (False: it joined another's render)."""

    folder: Path
    built: bool
    attempts: int


class _Heartbeat:
    """Renews the lease while the render runs; notices when the claim was lost."""

    def __init__(self, version: str, profile: str, owner: str) -> None:
        self.key, self.owner = (version, profile), owner
        self.stop = threading.Event()
        self.lost = False
        self.thread = threading.Thread(target=self._run, name=f"render-claim-{version[:8]}", daemon=True)

    def _run(self) -> None:
        while not self.stop.wait(LEASE_SECONDS / 4):
            try:
                if not _renew(self.key, self.owner):
                    self.lost = True
                    return
            except OperationalError as exc:  # a busy database: try again at the next beat
                log.warning("video: could not renew the render claim: %s", exc)

    def __enter__(self) -> _Heartbeat:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=5)


def _renew(key: tuple[str, str], owner: str) -> bool:
    now = utcnow()
    with session_scope() as s:
        done = s.execute(update(RenderClaimRow)
                         .where(RenderClaimRow.version == key[0], RenderClaimRow.profile == key[1],
                                RenderClaimRow.owner == owner, RenderClaimRow.state == "running")
                         .values(lease_expires_at=now + timedelta(seconds=LEASE_SECONDS), updated_at=now))
        return bool(getattr(done, "rowcount", 0))


def _finish(key: tuple[str, str], owner: str, state: str, *, package: str | None = None,
            error: str | None = None) -> bool:
    now = utcnow()
    with session_scope() as s:
        done = s.execute(update(RenderClaimRow)
                         .where(RenderClaimRow.version == key[0], RenderClaimRow.profile == key[1],
                                RenderClaimRow.owner == owner)
                         .values(state=state, package=package, error=(error or "")[:2000] or None,
                                 lease_expires_at=now, updated_at=now))
        return bool(getattr(done, "rowcount", 0))


def _try_claim(key: tuple[str, str], owner: str, usable: Callable[[str], bool]) -> tuple[str, str | None, int]:
    """One look at the claim: ``("mine", None, attempts)``, ``("done", folder, attempts)`` or
    ``("wait", None, attempts)``."""
    now = utcnow()
    lease = now + timedelta(seconds=LEASE_SECONDS)
    with session_scope() as s:
        row = s.get(RenderClaimRow, key)
        if row is None:
            s.add(RenderClaimRow(version=key[0], profile=key[1], state="running", owner=owner,
                                 lease_expires_at=lease, attempts=1, updated_at=now))
            s.flush()
            return "mine", None, 1
        if row.state == "done" and row.package and usable(row.package):
            return "done", row.package, row.attempts
        if row.state == "running" and row.lease_expires_at > now and not _dead_owner(row.owner):
            return "wait", None, row.attempts
        # failed, expired, or done but its folder is gone: take it over, if nobody else did first
        took = s.execute(update(RenderClaimRow)
                         .where(RenderClaimRow.version == key[0], RenderClaimRow.profile == key[1],
                                RenderClaimRow.owner == row.owner, RenderClaimRow.state == row.state,
                                RenderClaimRow.lease_expires_at == row.lease_expires_at)
                         .values(state="running", owner=owner, lease_expires_at=lease,
                                 attempts=row.attempts + 1, error=None, updated_at=now))
        if getattr(took, "rowcount", 0):
            log.warning("video: taking over the render of %s (%s) from %s (%s)", key[0][:12], key[1],
                        row.owner, row.state if row.state != "running" else "lease expired")
            return "mine", None, row.attempts + 1
        return "wait", None, row.attempts


def publish(staged: Path, final: Path) -> None:
    """Move a finished folder (or file) into place: a rename, so a reader sees all of it or none.
    An old one in the way is moved aside first and removed after."""
    final.parent.mkdir(parents=True, exist_ok=True)
    if staged.is_file():
        os.replace(staged, final)
        return
    aside = None
    if final.exists():
        aside = final.with_name(f".old-{final.name}-{uuid.uuid4().hex[:6]}")
        os.rename(final, aside)
    os.rename(staged, final)
    if aside is not None:
        shutil.rmtree(aside, ignore_errors=True)


def render_once(version: str, profile: str, out_dir: Path, build: Callable[[Path], Path],
                usable: Callable[[str], bool], *, sleep: Callable[[float], None] = time.sleep,
                scratch_parents: list[Path] | None = None) -> Outcome:
    """Render (version, profile) once across all processes, or join the render that is running.

    Parameters:
      build: renders into the staging folder it is given and returns the finished package folder
        there (its zip beside it); it raises when QC fails, and nothing is published then.
      usable: whether a finished package folder (path as text) is still there and whole.
    Raises whatever ``build`` raised (the claim is marked ``failed`` with the message, so the next
    attempt takes it over), or RenderFailed when the wait for another render exceeds MAX_WAIT_SECONDS.
    """
    key = (version, profile)
    sweep(out_dir, scratch_parents or [])
    owner = owner_id()
    waited = 0.0
    while True:
        try:
            state, folder, attempts = _try_claim(key, owner, usable)
        except IntegrityError:  # another process inserted the claim first: look again
            state, folder, attempts = "wait", None, 0
        if state == "done" and folder is not None:
            return Outcome(Path(folder), False, attempts)
        if state == "mine":
            break
        if waited >= MAX_WAIT_SECONDS:
            raise RenderFailed(f"video: waited {waited:.0f} s for another render of {version[:12]} ({profile})")
        sleep(POLL_SECONDS)
        waited += POLL_SECONDS

    staging = out_dir / STAGING / owner
    try:
        with _Heartbeat(version, profile, owner) as beat:
            built = build(staging)
            if beat.lost:
                raise RenderFailed(f"video: the render claim of {version[:12]} was taken over while rendering")
            final = out_dir / built.name
            zipped = built.with_name(f"{built.name}.zip")
            if zipped.exists():
                publish(zipped, out_dir / zipped.name)
            publish(built, final)
        _finish(key, owner, "done", package=str(final))
        return Outcome(final, True, attempts)
    except BaseException as exc:
        try:
            _finish(key, owner, "failed", error=f"{type(exc).__name__}: {exc}")
        except Exception:  # noqa: BLE001 -- the render's own error matters more; the lease expires anyway
            log.exception("video: could not mark the render claim failed")
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
