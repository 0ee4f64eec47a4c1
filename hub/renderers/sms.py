"""The SMS a citizen receives, as Tencent Cloud SMS will send it: signature + approved template.

Tencent only sends approved templates: fixed text with ``{1}..{n}`` parameters.
Each parameter is at most ``param_max_chars`` characters (6 on new accounts) and
may not contain a URL, so the portal domain is fixed template text and only the
short code varies. The rendition therefore carries the template id and the
parameter list the adapter passes to ``SendSms``, plus the full text for people
to read and for segment counting.

Segments are counted as the carrier does, signature (with its 【】) included:
pure GSM-7 text is 160 characters in one part, 153 per part when longer (GSM-7
extension characters such as ``[]{}€`` take two); anything else is UCS-2, 70
UTF-16 units in one part, 67 per part when longer (an emoji takes two units).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from hub.deliverables import Rendition
from hub.errors import RenderError
from hub.record import Record
from hub.renderers.base import ArtifactStore, RenderContext
from hub.renderers.context import issuer, not_after
from hub.renderers.text import clean
from hub.timeutil import to_local

#: The rendition kind this module renders (its key in ``hub.renderers.RENDERERS``).
KIND = "sms"

GSM7_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXT = "^{}\\[~]|€\f"
#: Looks like a URL or a domain: what Tencent refuses inside a template parameter.
URL_RE = re.compile(r"(?i)(https?:|www\.|://|[a-z0-9-]+\.(?:cn|com|net|org|gov|edu|io|xyz|top|info)\b|/)")
#: Opt-out wording the template must carry (工信部 rules for notification SMS).
OPT_OUT_RE = re.compile(r"(拒收请回复|退订回|回复TD|回T退订|回复R)")
#: Stock abbreviations of office names (汉阴县人民政府办公室 → 汉阴县政府办).
ABBREVIATIONS = (("人民政府办公室", "政府办"), ("人民政府", "政府"), ("办公室", "办"), ("委员会", "委"),
                 ("管理局", "局"), ("服务中心", "中心"), ("人民", ""))
_REGION_PREFIX = re.compile(r"^.{1,6}?[省市县区镇乡村](?=.)")


def is_gsm7(text: str) -> bool:
    return all(ch in GSM7_BASIC or ch in GSM7_EXT for ch in text)


def count_units(text: str) -> tuple[int, bool]:
    """(units, gsm7): GSM-7 septets (extension chars count 2) or UTF-16 code units."""
    if is_gsm7(text):
        return sum(2 if ch in GSM7_EXT else 1 for ch in text), True
    return len(text.encode("utf-16-le")) // 2, False


def segments(text: str) -> int:
    """Carrier segments of ``text``: 160/153 for GSM-7, 70/67 for UCS-2."""
    units, gsm = count_units(text)
    single, part = (160, 153) if gsm else (70, 67)
    if units <= single:
        return 1
    return math.ceil(units / part)


def department_short(department: str, limit: int) -> str:
    """The office name cut to ``limit`` characters by stock abbreviations, then without its region."""
    name = department
    for long, short in ABBREVIATIONS:
        if len(name) <= limit:
            break
        name = name.replace(long, short)
    if len(name) > limit:
        name = _REGION_PREFIX.sub("", name, count=1)
    return name


def _param_value(name: str, record: Record, ctx: RenderContext, limit: int) -> str:
    if name == "department_short":
        office = issuer(record)
        if office is None:
            raise RenderError("sms: 未识别发布机构: the record names no issuing office (the site owner is never used)")
        return department_short(clean(office), limit)
    if name == "short_code":
        return ctx.short_codes["sms"]
    if name == "date":
        return f"{to_local(ctx.rendered_at).month}月{to_local(ctx.rendered_at).day}日"
    if name == "doc_no_short":
        m = re.search(r"(\d+)号", record.doc_no or "")
        return f"{m.group(1)}号" if m else ""
    if name == "stage":
        return f"{record.stage}公开" if record.stage else "政务公开"
    raise RenderError(f"sms: render.sms.params names unknown parameter {name!r}")


def fill(template: str, params: list[str]) -> str:
    """The template with ``{1}..{n}`` replaced by the parameters."""
    return re.sub(r"\{(\d+)\}", lambda m: params[int(m.group(1)) - 1], template)


def _params_from_override(text: str, template: str, signature: str) -> list[str]:
    """The parameters an editor's text implies, or RenderError when it does not match the template."""
    body = text.strip()
    if body.startswith(f"【{signature}】"):
        body = body[len(signature) + 2:]
    pattern = "".join(f"(?P<p{p}>.+?)" if p.isdigit() else re.escape(p)
                      for p in re.split(r"\{(\d+)\}", template) if p != "")
    m = re.fullmatch(pattern, body, flags=re.S)
    if m is None:
        raise RenderError(f"sms: override does not match the approved template ({template!r}); "
                          "only the {n} parameters may change")
    return [m.group(f"p{i}") for i in sorted(int(k[1:]) for k in m.groupdict())]


def _check(params: list[str], names: list[str], limit: int) -> None:
    for i, (value, name) in enumerate(zip(params, names, strict=True), start=1):
        if not value:
            raise RenderError(f"sms: parameter {{{i}}} ({name}) is empty")
        if len(value) > limit:
            raise RenderError(f"sms: parameter {{{i}}} ({name}) {value!r} is {len(value)} characters "
                              f"> param_max_chars {limit}")
        if URL_RE.search(value):
            raise RenderError(f"sms: parameter {{{i}}} ({name}) contains a URL; URLs belong in the template")


def render_sms(record: Record, ctx: RenderContext, store: ArtifactStore) -> Rendition:
    """The SMS text, template id and parameters; RenderError names the broken limit."""
    cfg: dict[str, Any] = ctx.settings["render"]["sms"]
    template, names, limit = cfg["template"], list(cfg["params"]), int(cfg["param_max_chars"])
    signature, budget = cfg["signature"], int(cfg["budget_segments"])
    if not OPT_OUT_RE.search(template):
        raise RenderError("sms: the template has no opt-out wording (e.g. 拒收请回复R)")
    slots = sorted({int(n) for n in re.findall(r"\{(\d+)\}", template)})
    if slots != list(range(1, len(names) + 1)):
        raise RenderError(f"sms: template parameters {slots} do not match render.sms.params {names}")
    override = record.overrides.get("sms")
    if override and override.text:
        params = _params_from_override(override.text, template, signature)
    else:
        params = [_param_value(n, record, ctx, limit) for n in names]
    _check(params, names, limit)
    text = f"【{signature}】{fill(template, params)}"
    units, gsm = count_units(text)
    n = segments(text)
    if n > budget:
        raise RenderError(f"sms: {n} segments > budget {budget} ({units} {'GSM-7' if gsm else 'UCS-2'} units)")
    data = {"sign_name": signature, "template_id": cfg["template_id"], "template_params": params,
            "text": text, "segments": n, "chars": len(text), "units": units,
            "encoding": "GSM-7" if gsm else "UCS-2", "record_id": record.id, "version": ctx.version}
    main = store.put(json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True).encode(), ".json",
                     "application/json")
    return Rendition(KIND, record.id, ctx.version, main,
                     facts={"text": text, "segments": n, "chars": len(text), "template_id": cfg["template_id"],
                            "params": params, "sign_name": signature}, not_after=not_after(record, ctx, "sms"))
