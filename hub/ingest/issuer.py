"""Who issued a page: the issuing office, found in the page itself, never assumed.

Order (issue 11): the header (发布机构 / 公开责任部门 / 发文机关 …), the signature
(落款), the organ named at the start of the title (``国务院关于…``), the page's or
feed's ``来源`` / ``<source>``, then per-feed configuration. The site owner's
name is never a fallback: a land-expropriation notice of another county re-posted
on our portal is not ours, and saying so on six channels is a false statement
under the county's name. When nothing names the office, the record carries none
and the checks raise the blocking finding ``未识别发布机构`` (``hub.checks``),
which the author resolves by choosing one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hub.record import Record

#: ``extra`` key holding the document's issuer when it is not the record's ``department``.
#: ``department`` is the hub department responsible for publishing (公开责任部门: who sees,
#: edits and reviews); the issuer (发布机构 as found) stays here as found, e.g. 国务院 on a
#: county office's re-post. Not a label of the page vocabulary, so no header value lands on it.
ISSUER_KEY = "文件发布机构"

#: how an office name ends (one organ)
_ORG_TAIL = (r"(?:人民政府办公室|人民政府办公厅|人民政府|办公室|办公厅|委员会|指挥部|领导小组|总局|管理局|局|厅|部|署|委|"
             r"办|院|政府|党委|党组|中心|银行|公司|所|站|街道办事处|街道|镇|乡|村民委员会|居民委员会|社区|村|大队|支队|"
             r"总队|协会|联合会|团委|妇联|法院|检察院|学校|学院|大学|医院|常委会|人大|政协|人大常委)")
_ORG = rf"[\u4e00-\u9fff（）()·]{{1,40}}?{_ORG_TAIL}"
#: the organ(s) that open a title: ``国务院关于…``, ``中共某县委办公室 某县人民政府办公室关于…``
_TITLE_ORGAN = re.compile(rf"^((?:{_ORG})(?:[、\s和与及]*(?:{_ORG}))*)\s*(?=关于|印发|转发|联合|批转|转批)")
#: an organ with an unmistakable tail opening a title without 关于 (镇巴县人民政府工作规则, 某局2018年度…报告)
_STRONG_ORGAN = re.compile(r"^([\u4e00-\u9fff]{2,30}?(?:人民政府办公室|人民政府办公厅|人民政府|办公厅|委员会|常委会|管理局|局|厅|"
                           r"指挥部|领导小组))(?=[\u4e00-\u9fff\d]{4,}|(?:通告|公告|通知|令)$)")
#: a village or community opening its own 村务/居务 disclosure (柳亭村村务公开事项清单)
_VILLAGE_ORGAN = re.compile(r"^([\u4e00-\u9fff]{2,8}?(?:村|社区|居委会|村委会))(?=村务|居务|党务|财务)")
#: a name printed as a signature that lost its tail (中共中山市委宣传): a place or 中共 first, short, Chinese only
PLACE_LED = re.compile(r"^(?:中共|中国共产党)?[\u4e00-\u9fff]{1,8}?[省市县区州旗镇乡村][\u4e00-\u9fff]{1,16}$")
#: one office name, alone: used to accept a signature or a 来源 value as an office
_OFFICE = re.compile(rf"^(?:{_ORG})(?:[、\s和与及]+(?:{_ORG}))*$")
#: 来源 values that are media or websites, not issuers (中国政府网, 新华社, 人民日报, 本网)
_MEDIA = re.compile(r"(网|网站|报|日报|晚报|社|新闻|客户端|电视台|广播电视台|融媒体中心|公众号|微信|微博|头条)$")


@dataclass(frozen=True, slots=True)
class Issuer:
    """The office found and where it was found (for warnings and ``--explain``)."""

    office: str
    origin: str  # header | signature | title | source | feed-config


def title_organ(title: str | None) -> str | None:
    """The organ named at the start of ``title`` (``国务院关于…`` → 国务院), or None."""
    if not title:
        return None
    m = _TITLE_ORGAN.match(title.strip()) or _STRONG_ORGAN.match(title.strip()) or _VILLAGE_ORGAN.match(title.strip())
    return re.sub(r"\s+", " ", m.group(1)).strip() if m else None


def is_office(name: str | None) -> bool:
    """Whether ``name`` reads as an office (not a website, a newspaper or a sentence)."""
    if not name:
        return False
    text = name.strip()
    if "关于" in text:
        return False  # a title (…办公厅关于加强普通高等学校), not an office
    return len(text) <= 60 and _OFFICE.match(text) is not None and _MEDIA.search(text) is None


def resolve_issuer(*, header: str | None, signature: str | None, title: str | None, source: str | None,
                   head_office: str | None = None, configured: str | None = None) -> Issuer | None:
    """The issuing office, or None when the page names none.

    The document's own words first: its 落款 (signature), the organ its title opens with, an
    office line standing under the title (legal databases), and only then the portal's header
    (发布机构 …), the 来源 line and the feed's configuration. The corpus showed why the header
    cannot come first: a portal re-posting a province's or the State Council's document prints
    *itself* as 发布机构 (怒江州民政局 for a 云南省民政厅 notice), and a header value that names a
    website (县政府网站, 法律资料网) is no office at all. When header and document agree the
    order makes no difference; when they differ, the header's office is the re-poster and is
    kept by the caller (``extra[发布机构]``), so renditions can say "转发…".
    """
    if signature and (is_office(signature) or PLACE_LED.match(signature.strip())):
        # a signature is the document naming itself: a place-led name counts even without an office tail
        return Issuer(signature.strip(), "signature")
    organ = title_organ(title)
    if organ:
        return Issuer(organ, "title")
    if head_office and is_office(head_office):
        return Issuer(head_office.strip(), "head")
    if header and is_office(header):
        return Issuer(header.strip(), "header")
    if source and is_office(source):
        return Issuer(source.strip(), "source")
    if configured and configured.strip():
        return Issuer(configured.strip(), "feed-config")
    return None


def reposted_from(department: str | None, title: str | None) -> str | None:
    """The organ a re-posted document comes from, when the title names one that is not ``department``.

    ``国务院关于…的决定`` on a county page (发布机构 = the county office) → ``国务院``: renditions
    then say the county re-posts the State Council's decision instead of claiming it.
    """
    organ = title_organ(title)
    if organ is None or not department:
        return None
    if organ in department or department in organ:
        return None
    return organ


def record_issuer(record: Record) -> str | None:
    """The office that issued ``record``'s document: ``extra[文件发布机构]``, else the department, else the 落款."""
    name = (record.extra.get(ISSUER_KEY) or record.department
            or (record.signature.office if record.signature else "") or "").strip()
    return name or None
