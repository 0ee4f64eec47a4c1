"""Links in the text: malformed URLs, and hosts outside the allow-list (``config/checks.toml``).

A dead or foreign link in a government page is an inspection finding
(链接可用性); the allow-list keeps published records pointing at government
and official platforms. The hub's own public URL is always allowed.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

_STOP = r"\s<>\"'()\[\]{}|\u3000-\u9fff\uff00-\uffef"
#: something with a scheme-ish prefix: http(s), typos of it, and schemes a record must not carry
_URL = re.compile(rf"(?i)(?<![A-Za-z0-9])(?:https?|htps?|htt|hxxps?|ttps?|ftps?|file|javascript|data):/*[^{_STOP}]*")
_WWW = re.compile(rf"(?i)(?<![A-Za-z0-9./@])www\.[^{_STOP}]+")
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_TRAIL = ".,;:!?"


@dataclass(frozen=True, slots=True)
class LinkMatch:
    kind: str  # link_malformed | link_unknown_host (link_dead comes from hub.checks.reach)
    start: int
    end: int
    url: str
    reason: str


def host_ok(host: str) -> bool:
    """A syntactically valid DNS name or IP address."""
    if not host or len(host) > 253:
        return False
    try:
        ipaddress.ip_address(host.strip("[]"))
        return True
    except ValueError:
        pass
    labels = host.rstrip(".").split(".")
    return len(labels) >= 2 and all(_LABEL.match(label) for label in labels) and not labels[-1].isdigit()


def host_allowed(host: str, allowed: tuple[str, ...]) -> bool:
    host = host.lower().rstrip(".")
    for pattern in allowed:
        p = pattern.lower()
        if p.startswith("*."):
            if host.endswith(p[1:]) and host != p[2:]:
                return True
        elif host == p:
            return True
    return False


def _check(url: str, allowed: tuple[str, ...]) -> tuple[str, str] | None:
    """(kind, reason) for a bad URL, or None when it is fine."""
    m = re.match(r"(?i)^([a-z]+):(/*)(.*)$", url)
    if m is None:
        return "link_malformed", "不是有效的网址"
    scheme, slashes, rest = m.group(1).lower(), m.group(2), m.group(3)
    if scheme not in ("http", "https"):
        return "link_malformed", f"网址开头“{scheme}:”有误，应为 http:// 或 https://"
    if slashes != "//":
        return "link_malformed", f"“{scheme}:”后面应紧跟“//”"
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        _ = parts.port
    except ValueError:
        return "link_malformed", "网址中的域名或端口无效"
    if not rest or not host_ok(host):
        return "link_malformed", "网址中的域名无效"
    if not host_allowed(host, allowed):
        return "link_unknown_host", f"网站 {host} 不在允许链接的网站名单中（config/checks.toml）"
    return None


def url_spans(line: str) -> list[tuple[int, int]]:
    """Spans of everything that looks like a URL (numbers in them are article ids, not people)."""
    return [m.span() for m in _URL.finditer(line)] + [m.span() for m in _WWW.finditer(line)]


def find_links(line: str, allowed: tuple[str, ...]) -> list[LinkMatch]:
    """Bad links on ``line``."""
    found: list[LinkMatch] = []
    taken: list[tuple[int, int]] = []
    for m in _URL.finditer(line):
        url = m.group(0).rstrip(_TRAIL)
        start, end = m.start(), m.start() + len(url)
        taken.append((start, end))
        bad = _check(url, allowed)
        if bad is not None:
            found.append(LinkMatch(bad[0], start, end, url, bad[1]))
    for m in _WWW.finditer(line):
        url = m.group(0).rstrip(_TRAIL)
        start, end = m.start(), m.start() + len(url)
        if any(s <= start < e for s, e in taken):
            continue
        bad = _check("http://" + url, allowed)
        if bad is not None:
            found.append(LinkMatch(bad[0], start, end, url, bad[1]))
    found.sort(key=lambda x: x.start)
    return found
