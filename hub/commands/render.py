"""``hub render ID [--kind K] [--json]``: render (or reuse) a version's renditions and print them.

Thin: one short transaction through ``hub.renderers.service``. Without ``--json``
one line per rendition (kind, sha256 prefix, bytes, path, the key facts); with it,
a JSON list of ``Rendition.summary_json()`` (kind, path, sha256, bytes + facts).
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from hub.cli import app, clean_errors
from hub.deliverables import Rendition

_LINE_FACTS = ("segments", "chars", "title", "text", "pages", "error_correction")


def _line(r: Rendition) -> str:
    facts = "  ".join(f"{k}={r.facts[k]}" for k in _LINE_FACTS if k in r.facts)
    return f"{r.kind:8} {r.main.sha256[:12]} {r.main.bytes:>8} B  {r.main.path}  {facts}"


def _jsonable(r: Rendition) -> dict[str, Any]:
    return json.loads(json.dumps(r.summary_json(), ensure_ascii=False, default=str))  # type: ignore[no-any-return]


@app.command()
@clean_errors
def render(
    ref: Annotated[str, typer.Argument(help="Record id, version hash or a unique prefix (≥ 8 hex).")],
    kind: Annotated[list[str] | None, typer.Option("--kind", "-k", help="Only these kinds (repeatable).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON: kind, path, sha256, bytes and facts.")] = False,
) -> None:
    """Render every rendition of a version (summary, qr, sms, wechat, weibo, web, print, video).

    Every kind that can be rendered is; the ones that cannot are named with the reason and the
    exit status is 1. While the version has unresolved blocking personal-data findings the
    renditions are made from a masked copy (no ID, card or mobile number in clear).
    """
    from hub.renderers.service import render_ref_all

    renditions, failed = render_ref_all(ref, kinds=kind or None)
    if as_json:
        out: Any = [_jsonable(r) for r in renditions]
        if failed:
            out = {"renditions": out, "failed": failed}
        typer.echo(json.dumps(out, ensure_ascii=False, indent=2))
    else:
        for r in renditions:
            typer.echo(_line(r))
    for name, why in failed.items():
        typer.echo(f"error: {name}: {why}", err=True)
    if failed:
        typer.echo(f"error: {len(failed)} kind(s) not rendered: {', '.join(failed)}", err=True)
        raise typer.Exit(1)
