"""Small file helpers shared by the file-based channels (web, tv, newspaper): confined paths, atomic writes.

Why: these channels "deliver" by writing files that a web server or a TV
station reads, so a reader must never see half a file (write-then-rename), a
re-delivery must be a no-op when the bytes are the same, and no name coming
from a rendition may escape its root (F18: ``../``, absolute paths, NUL).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any

from hub.deliverables import sha256_file
from hub.errors import Permanent

_SAFE_PART = re.compile(r"^[A-Za-z0-9\u4e00-\u9fff._-]{1,128}$")


def safe_id(value: str, *, what: str) -> str:
    """``value`` as a single safe path component (ids, package names), or ``Permanent``."""
    if not value or value in (".", "..") or not _SAFE_PART.match(value):
        raise Permanent(f"{what}: unsafe name {value[:40]!r}")
    return value


def confined(root: Path, relative: str, *, what: str) -> Path:
    """``root/relative`` when it stays inside ``root`` (no absolute paths, ``..``, backslashes or NUL)."""
    if not relative or "\x00" in relative or "\\" in relative or relative.startswith("/"):
        raise Permanent(f"{what}: unsafe path {relative[:60]!r}")
    parts = PurePosixPath(relative).parts
    if any(p in ("..", ".") or len(p) > 200 or any(ord(c) < 32 or c in ':*?"<>|' for c in p) for p in parts):
        raise Permanent(f"{what}: unsafe path {relative[:60]!r}")
    path = root.joinpath(*parts)
    base = root.resolve()
    if base not in path.resolve().parents:
        raise Permanent(f"{what}: path {relative[:60]!r} leaves its root")
    return path


def write_atomic(path: Path, data: bytes, *, mode: int = 0o644) -> None:
    """Write ``data`` to ``path`` through a temp file in the same directory and ``os.replace``.

    ``mode`` is set explicitly: mkstemp creates 0600 files, which a web server running as
    another user (nginx serving var/site) could not read. Access to private areas is
    controlled by their directory's mode instead.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_manifest(folder: Path, name: str) -> dict[str, Any] | None:
    """The JSON object ``folder/name`` that ``replace_folder`` wrote, or None when the folder has none
    (not yet delivered, not a folder, or a manifest cut short: each means "not ours as it stands")."""
    try:
        data = json.loads((folder / name).read_text("utf-8"))
    except (FileNotFoundError, NotADirectoryError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def same_file(path: Path, sha256: str) -> bool:
    return path.is_file() and sha256_file(path) == sha256


def replace_folder(folder: Path, files: dict[str, Path], manifest: tuple[str, bytes], *,
                   missing: Callable[[str], Exception]) -> None:
    """Make ``folder`` hold exactly ``files`` (name → source) and the manifest, swapped in whole.

    The files are copied into a temp folder beside it, then the old folder is moved aside and
    the new one renamed into place: a reader (the TV station, a village screen) never sees a
    half-written package. ``missing(name)`` is raised when a source file is gone; ``OSError``
    propagates for the caller to classify.
    """
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=".tmp-"))
    try:
        for name, source in files.items():
            if not source.is_file():
                raise missing(name)
            shutil.copyfile(source, tmp / name)
        (tmp / manifest[0]).write_bytes(manifest[1])
        if folder.exists():  # replace by id: move the old one aside, then swap
            old = folder.with_name(f".old-{folder.name}-{os.getpid()}")
            os.replace(folder, old)
            os.replace(tmp, folder)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, folder)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
