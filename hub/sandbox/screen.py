"""A village e-bulletin screen (村务公开电子屏) as the sandbox runs it: pull, verify, fetch, play.

Why a fake device rather than a fake platform: the screens pull from the hub
itself (``hub.channels.screen``), so what needs standing in for is the screen.
``FakeScreen.pull()`` does what the screen in the square does, over real HTTP on
127.0.0.1: ``GET /screens/playlist?village=…`` from the hub, refuse it unless
its ``X-Hub-Signature`` is the HMAC-SHA256 of the body under the shared key,
fetch each new file (signing each request with its screen id), check every
file's SHA-256 against the signed playlist, and drop what the playlist no
longer lists (a withdrawal). What it plays is recorded into the sandbox inbox
(channel ``screen``, kind ``play``), so a person sees each screen's loop.

The sandbox builds one screen per configured screen target (its ``region`` is
the village) from ``config/channels.toml``; ``POST /_sandbox/screens/pull``
makes them all pull now. The hub's URL is ``HUB_PUBLIC_URL``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import threading
import weakref
from dataclasses import dataclass, field
from html import escape
from typing import Any

import httpx

from hub.config import HubConfig, get_config
from hub.sandbox.core import Sandbox, SandboxRequest, SandboxResponse
from hub.sandbox.inbox import InboxSection, when

CHANNEL = "screen"
TIMEOUT_S = 10.0


class PlaylistRefused(Exception):
    """The playlist's signature did not verify, or a file did not match it: the screen plays nothing new."""


def _sign(key: bytes, data: bytes) -> str:
    return "sha256=" + hmac.new(key, data, hashlib.sha256).hexdigest()


@dataclass
class FakeScreen:
    """One screen in one village square."""

    screen_id: str
    village: str
    hub_url: str
    key: bytes
    #: item id → {file name: sha256} of what the screen holds and plays
    playing: dict[str, dict[str, str]] = field(default_factory=dict)
    titles: dict[str, str] = field(default_factory=dict)

    def pull(self) -> dict[str, Any]:
        """One pull: the verified playlist, new files fetched and checked, withdrawn items dropped."""
        with httpx.Client(base_url=self.hub_url, timeout=TIMEOUT_S, trust_env=False) as http:
            got = http.get("/screens/playlist", params={"village": self.village})
            got.raise_for_status()
            signature = got.headers.get("X-Hub-Signature", "")
            if not hmac.compare_digest(signature, _sign(self.key, got.content)):
                raise PlaylistRefused(f"{self.screen_id}: playlist signature does not verify")
            playlist = json.loads(got.content)
            listed = {item["id"]: item for item in playlist["items"]}
            fetched: list[str] = []
            for item_id, item in listed.items():
                have = self.playing.get(item_id, {})
                files = {}
                for f in item["files"]:
                    if have.get(f["name"]) == f["sha256"]:
                        files[f["name"]] = f["sha256"]
                        continue
                    path = f["url"]
                    headers = {"X-Screen-Id": self.screen_id,
                               "X-Screen-Signature": _sign(self.key, f"{self.screen_id}\n{path}".encode())}
                    body = http.get(path, headers=headers)
                    body.raise_for_status()
                    if hashlib.sha256(body.content).hexdigest() != f["sha256"]:
                        raise PlaylistRefused(f"{self.screen_id}: {path} does not match the signed playlist")
                    files[f["name"]] = f["sha256"]
                    fetched.append(path)
                self.playing[item_id] = files
                self.titles[item_id] = str(item.get("title") or item_id)
            dropped = [i for i in self.playing if i not in listed]
            for item_id in dropped:
                del self.playing[item_id]
        return {"screen": self.screen_id, "village": self.village, "playing": sorted(self.playing),
                "fetched": fetched, "dropped": dropped, "issued_at": playlist["issued_at"]}


def screens_from_config(config: HubConfig, key: bytes, hub_url: str) -> list[FakeScreen]:
    """One screen per screen target of a village (a county-wide target has no square of its own)."""
    counties = {str(a.get("county")) for a in config.accounts.values() if a.channel == CHANNEL}
    return [FakeScreen(f"{name}-1", str(t.region), hub_url, key)
            for name, t in config.targets.items()
            if t.channel == CHANNEL and t.region and t.region not in counties]


_lock = threading.Lock()
#: the screens of each running sandbox (objects, so not in its JSON-persisted vendor state)
_SCREENS: weakref.WeakKeyDictionary[Sandbox, list[FakeScreen]] = weakref.WeakKeyDictionary()


def _screens(sb: Sandbox) -> list[FakeScreen]:
    """The sandbox's screens, built on first use from config and the accepted key."""
    with _lock:
        if sb not in _SCREENS:
            keys = sb.credentials.get(CHANNEL, {})
            key = next(iter(keys.values()), "").encode()
            hub_url = str(sb.options.get("screen_hub_url") or os.environ.get("HUB_PUBLIC_URL")
                          or "http://127.0.0.1:8000")
            _SCREENS[sb] = screens_from_config(get_config(), key, hub_url)
        return _SCREENS[sb]


def pull_all(sb: Sandbox) -> list[dict[str, Any]]:
    """Every sandbox screen pulls now; each result (or refusal) lands in the inbox."""
    out = []
    for screen in _screens(sb):
        try:
            result = screen.pull()
        except (PlaylistRefused, httpx.HTTPError, ValueError, KeyError) as exc:
            result = {"screen": screen.screen_id, "village": screen.village, "error": str(exc)}
        sb.record(CHANNEL, "play", screen.screen_id,
                  {**result, "titles": {i: screen.titles.get(i, i) for i in result.get("playing", [])}})
        out.append(result)
    return out


def pull(req: SandboxRequest, sb: Sandbox) -> SandboxResponse:
    return SandboxResponse.json({"screens": pull_all(sb)})


def accepted_credentials(config: HubConfig) -> dict[str, dict[str, str]]:
    """``{"screen": {account: signing key}}``: the key the screens verify playlists with."""
    creds = {}
    for name, account in config.accounts.items():
        if account.channel == CHANNEL:
            key = os.environ.get(str(account.get("signing_key_env", "")))
            if key:
                creds[name] = key
    return {CHANNEL: creds}


def inbox_section(msgs: list[dict[str, Any]]) -> InboxSection:
    """The inbox's screen part: what each screen played after its last pull."""
    plays = [m for m in msgs if m["channel"] == CHANNEL]
    latest: dict[str, dict[str, Any]] = {}
    for m in plays:  # newest first: the first seen per screen is its current loop
        latest.setdefault(m["account"], m)
    out = []
    for screen, m in latest.items():
        c = m["content"]
        rows = "".join(f"<li>{escape(str(t))}</li>" for t in (c.get("titles") or {}).values())
        err = f'<p class="meta">refused: {escape(str(c["error"]))}</p>' if c.get("error") else ""
        out.append(f'<div class="card"><div class="who">{escape(screen)} · {escape(str(c.get("village") or ""))}'
                   f'</div><div class="when">{escape(when(m["at"]))}</div>{err}<ul>{rows}</ul></div>')
    return InboxSection("村务公开电子屏 (village screens)", plays,
                        "".join(out) or '<p class="meta">no screen has pulled yet</p>')


def register(sb: Sandbox) -> None:
    """``POST /_sandbox/screens/pull``: every configured screen pulls from the hub now."""
    sb.route("POST", "/_sandbox/screens/pull", "_sandbox", pull)
