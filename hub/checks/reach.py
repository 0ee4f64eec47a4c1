"""Dead links: ask each linked site whether the page is there (链接可用性).

Format and allow-list checks (``hub.checks.links``) cannot see a page that was
moved or a domain that lapsed; inspectors click. This check requests each
well-formed link (HEAD, then GET when a server refuses HEAD) with a short
timeout: a 4xx/5xx answer or a name that does not resolve is a ``link_dead``
finding; a timeout is one too, worded as such (the site may only be slow).

Answers are cached per URL for ``reach_cache_s`` so re-checking a record on
every save does not hammer the same sites. An installation without Internet
access turns it off (``checks.toml: [links] check_reachable = false``).
"""

from __future__ import annotations

import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx

MAX_PARALLEL = 8
_cache: dict[str, tuple[float, str | None]] = {}
_lock = threading.Lock()


@dataclass(frozen=True, slots=True)
class ReachSettings:
    timeout_s: float = 5.0
    cache_s: int = 3600


def _ask(url: str, timeout_s: float) -> str | None:
    """Why ``url`` is dead in words, or None when it answers."""
    try:
        with httpx.Client(timeout=timeout_s, follow_redirects=True, max_redirects=5) as client:
            resp = client.head(url)
            if resp.status_code in (405, 501):  # HEAD not supported: ask for the page itself
                with client.stream("GET", url) as streamed:
                    resp = streamed
        if resp.status_code >= 400:
            return f"链接无法打开（网站返回 {resp.status_code}）"
        return None
    except httpx.TimeoutException:
        return f"链接 {timeout_s:g} 秒内没有响应"
    except httpx.ConnectError as exc:
        if isinstance(exc.__cause__, socket.gaierror) or "Name or service not known" in str(exc) \
                or "nodename nor servname" in str(exc) or "getaddrinfo" in str(exc):
            return "链接的域名无法解析（网站可能已不存在）"
        return "链接无法连接（网站拒绝连接或不可达）"
    except httpx.TooManyRedirects:
        return "链接重定向次数过多"
    except httpx.HTTPError as exc:
        return f"链接无法打开（{type(exc).__name__}）"


def dead_links(urls: list[str], settings: ReachSettings = ReachSettings()) -> dict[str, str]:
    """url → why it is dead, for those of ``urls`` that are (cached answers reused)."""
    now = time.monotonic()
    todo: list[str] = []
    out: dict[str, str] = {}
    with _lock:
        for url in dict.fromkeys(urls):
            hit = _cache.get(url)
            if hit is not None and hit[0] > now:
                if hit[1] is not None:
                    out[url] = hit[1]
            else:
                todo.append(url)
    if todo:
        with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL, len(todo))) as pool:
            answers = list(pool.map(lambda u: _ask(u, settings.timeout_s), todo))
        with _lock:
            for url, why in zip(todo, answers, strict=True):
                _cache[url] = (now + settings.cache_s, why)
                if why is not None:
                    out[url] = why
    return out


def clear_cache() -> None:
    with _lock:
        _cache.clear()
