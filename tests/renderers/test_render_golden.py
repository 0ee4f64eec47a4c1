"""Golden files: every non-video rendition of the four records, byte for byte.

Regenerate after an intended change with ``pytest tests/renderers --update-golden``
(or ``HUB_UPDATE_GOLDEN=1``) and review the diff. ``sha256.json`` pins every
artifact (PNG, SVG, JPEG, PDF too), so it also proves determinism across processes.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from renderkit import HERE, RECORDS, load_record

from hub.renderers import RENDERERS

KINDS = ("summary", "qr", "sms", "wechat", "weibo", "web", "print")
SUFFIX = {"web": ".html", "print": ".txt"}


def _text(kind: str, path: Path) -> str:
    if kind == "print":
        return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                              check=True, timeout=60).stdout
    return path.read_text(encoding="utf-8")


@pytest.mark.parametrize("name", RECORDS)
def test_renditions_match_their_golden_files(name: str, ctx_of, store, update_golden: bool) -> None:  # type: ignore[no-untyped-def]
    """Each kind's main artifact (the PDF as pdftotext) and every artifact's sha256 equal the golden copies."""
    record = load_record(name)
    ctx = ctx_of(record)
    folder = HERE / "golden" / name
    hashes: dict[str, dict[str, str]] = {}
    outputs: dict[Path, str] = {}
    for kind in KINDS:
        r = RENDERERS[kind](record, ctx, store)
        outputs[folder / f"{kind}{SUFFIX.get(kind, '.json')}"] = _text(kind, r.main.path)
        hashes[kind] = {"main": r.main.sha256, **{k: a.sha256 for k, a in sorted(r.files.items())}}
    outputs[folder / "sha256.json"] = json.dumps(hashes, indent=2, sort_keys=True) + "\n"
    if update_golden:
        folder.mkdir(parents=True, exist_ok=True)
        for path, text in outputs.items():
            path.write_text(text, encoding="utf-8")
        return
    for path, text in outputs.items():
        assert path.exists(), f"{path} missing: run pytest tests/renderers --update-golden"
        assert text == path.read_text(encoding="utf-8"), f"{path.name} of {name} differs from its golden file"
