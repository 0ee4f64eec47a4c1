"""From parsed page text to a Record: ids, level, region, domain and stage, honestly.

Only what the page says is used. ``domain``/``item``/``stage`` come from the
catalog when the page's 公开目录 names a catalog domain or item; ``level`` and
``region`` come from the department's name (…县人民政府… is county level,
…镇/乡/街道… township, …村/社区… village). Anything else stays empty and is
reported, so a reviewer fills it in instead of trusting a guess.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

from pydantic import ValidationError

from hub.catalog import Catalog, get_catalog
from hub.errors import ConfigError, RecordError
from hub.ingest.ids import derive_id
from hub.ingest.issuer import resolve_issuer
from hub.ingest.page import EXPECTED, FIELD_LABELS, PageFields
from hub.record import Level, Record, Source

_TOWNSHIP = re.compile(r"(镇|乡|街道办事处|街道)(人民政府|党委|办公室|$)")
_VILLAGE = re.compile(r"(村民委员会|村委会|居民委员会|社区|村)$")
_REGION = re.compile(r"^(.+?(?:省|自治区|市|州|盟))?(.+?(?:县|区|市|旗))(.+?(?:镇|乡|街道))?(.+?(?:村|社区))?")


def infer_level(department: str | None) -> tuple[Level | None, str | None]:
    """(level, region) from the department's name; (None, None) when the name says nothing."""
    if not department:
        return None, None
    level: Level | None = None
    if _VILLAGE.search(department.replace("村民委员会", "村").replace("居民委员会", "社区")):
        level = Level.VILLAGE
    elif _TOWNSHIP.search(department):
        level = Level.TOWNSHIP
    elif re.search(r"[县区市旗](人民政府|政府|委员会|党委|[^镇乡村]*?(局|委|办|办公室|中心|院|所))", department):
        level = Level.COUNTY
    m = _REGION.match(department)
    region = None
    if m is not None and level is not None:
        parts = [m.group(2)]
        if level in (Level.TOWNSHIP, Level.VILLAGE) and m.group(3):
            parts.append(m.group(3))
        if level == Level.VILLAGE and m.group(4):
            parts.append(m.group(4))
        region = "".join(parts)
    return level, region


def classify(catalog_name: str | None, catalog: Catalog) -> tuple[str | None, str | None, str | None]:
    """(domain, item, stage) when the 公开目录 value names a catalog domain or item."""
    if not catalog_name:
        return None, None, None
    domain = catalog.domain(catalog_name)
    if domain is not None:
        return domain.name, None, None
    found = catalog.find_item(catalog_name)
    if found is not None:
        d, item = found
        return d.name, item.name, item.stage.value if item.stage else None
    return None, None, None


def page_to_record(page: PageFields, *, file: str | None, source_uri: str) -> tuple[Record, list[str]]:
    """Build the Record of a parsed page; returns it with the page's warnings plus inference notes."""
    warnings = list(page.warnings)
    values = page.values
    for name in EXPECTED:
        if name not in values:
            label = FIELD_LABELS[name]
            note = "; 主动公开 assumed" if name == "disclosure" else ""
            warnings.append(f"header field {label} ({name}) is missing{note}")
    title = page.title or ""
    if len(title) > 300:
        page.extra.setdefault("标题全文", title)
        warnings.append(f"the title is {len(title)} characters; the record keeps 300, the whole is in extra[标题全文]")
    index_no = values.get("index_no")
    header_dept = values.get("department")
    source_name = values.get("source_name")
    issuer = resolve_issuer(header=header_dept if isinstance(header_dept, str) else None,
                            signature=page.signature.office if page.signature else None, title=title,
                            source=source_name if isinstance(source_name, str) else None,
                            head_office=page.head_offices[0] if page.head_offices else None)
    department = issuer.office if issuer else None
    if isinstance(header_dept, str) and header_dept and department and header_dept != department:
        # the portal's own name for the page (often the re-posting office, or its website): kept, not lost
        page.extra.setdefault("发布机构", header_dept)
        warnings.append(f"header 发布机构 {header_dept!r} differs from the document's issuer {department!r} "
                        f"({issuer.origin if issuer else ''}); the header's value is kept in extra[发布机构]")
    if issuer is None:
        warnings.append("未识别发布机构：页面的表头、落款、标题和来源都没有写明发布机构，请选择 (no issuing office found)")
    elif issuer.origin != "header":
        warnings.append(f"发布机构 {issuer.office} taken from the {issuer.origin} (the header names none)")
    level, region = infer_level(department if isinstance(department, str) else None)
    if level is None:
        warnings.append("level not inferable from the department; county assumed")
    try:
        catalog = get_catalog()
    except ConfigError as exc:
        warnings.append(f"catalog not available ({exc}); domain and stage left empty")
        domain = item = stage = None
    else:
        catalog_value = values.get("catalog")
        domain, item, stage = classify(catalog_value if isinstance(catalog_value, str) else None, catalog)
    if domain is None:
        warnings.append("domain not inferable from the 公开目录; left empty")
    if stage is None:
        warnings.append("stage (五公开) not inferable; left empty for the reviewer")
    published = values.get("published_at")
    data: dict[str, object] = {
        "id": derive_id(index_no if isinstance(index_no, str) else None, title, source_uri),
        "title": title[:300],
        "index_no": index_no,
        "catalog": values.get("catalog"),
        "department": department,
        "doc_no": values.get("doc_no"),
        "written_on": values.get("written_on") or (page.signature.date if page.signature else None)
        or page.body_date,
        "published_at": published if isinstance(published, datetime) else None,
        "validity": values.get("validity"),
        "addressees": page.addressees or values.get("addressees") or [],
        "body": page.body,
        "signature": page.signature,
        "attachments": page.attachments,
        "stage": stage,
        "domain": domain,
        "item": item,
        "level": level or Level.COUNTY,
        "region": region,
        "extra": page.extra,
        "source": Source(kind="page", uri=source_uri),
    }
    if "disclosure" in values:
        data["disclosure"] = values["disclosure"]
    try:
        record = Record.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"])
        line = page.header.get(str(err["loc"][0]), (None, None))[1] if err["loc"] else None
        raise RecordError(err["msg"], file=file, line=line, field=field) from None
    return record, warnings


def uri_of(path: Path) -> str:
    """The source URI of a local file."""
    return path.resolve().as_uri()
