"""The sandbox server core: routing, fault knobs, the inbox, and optional persistence.

Built on ``http.server`` rather than an ASGI server on purpose: the fault
"accept then drop the connection" must close the socket after the platform has
applied the request and before any byte of the answer, which only a server
that owns its sockets can do faithfully.

Vendor modules (``wechat``, ``weibo``, ``tencent``) register their routes with
``Sandbox.route``; every route belongs to a channel, whose ``Faults`` apply.
"""

from __future__ import annotations

import json
import random
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from email.message import Message
from email.parser import BytesParser
from email.policy import HTTP
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from hub.timeutil import utcnow


@dataclass
class SandboxRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: Message
    body: bytes

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    def json(self) -> Any:
        """The body as JSON (WeChat sends JSON without a Content-Type header)."""
        return json.loads(self.body.decode("utf-8"))

    def form(self) -> dict[str, str]:
        """An urlencoded body as a dict of first values."""
        return {k: v[0] for k, v in parse_qs(self.body.decode("utf-8"), keep_blank_values=True).items()}

    def multipart(self) -> dict[str, tuple[str | None, bytes]]:
        """A multipart/form-data body as ``name -> (filename, bytes)``; {} when not multipart."""
        ctype = self.headers.get("Content-Type", "")
        if not ctype.startswith("multipart/form-data"):
            return {}
        raw = f"Content-Type: {ctype}\r\n\r\n".encode() + self.body
        msg = BytesParser(policy=HTTP).parsebytes(raw)
        parts: dict[str, tuple[str | None, bytes]] = {}
        for part in msg.iter_parts():
            name = part.get_param("name", header="content-disposition")
            if isinstance(name, str):
                payload = part.get_payload(decode=True)
                parts[name] = (part.get_filename(), payload if isinstance(payload, bytes) else b"")
        return parts


@dataclass
class SandboxResponse:
    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, obj: Any, status: int = 200, content_type: str = "application/json",
             headers: dict[str, str] | None = None) -> SandboxResponse:
        body = json.dumps(obj, ensure_ascii=False).encode("utf-8")
        return cls(status, body, content_type, headers or {})

    @classmethod
    def html(cls, text: str, status: int = 200) -> SandboxResponse:
        return cls(status, text.encode("utf-8"), "text/html; charset=utf-8")


@dataclass
class Faults:
    """Fault knobs of one channel; rates are probabilities per request (seeded, reproducible).

    ``rate_limit`` and ``token_expired`` are answered by the vendor module in its
    own wire format (WeChat 45009 on HTTP 200, Weibo 10023 on HTTP 400, Tencent
    ``RequestLimitExceeded``); ``token_expired`` is a count of requests to fail.

    Knobs the core applies to every route of the channel:
      latency_ms: added before handling.
      error_5xx_rate / error_status / retry_after: answer ``error_status`` (503 by default; any
        4xx/5xx, e.g. 429 or 504) *before* the platform applies anything, with ``Retry-After``
        when ``retry_after`` > 0.
      drop_rate: apply, then close the connection without an answer.
      late_rate / late_seconds: apply, then answer after ``late_seconds``.
      garbage_rate: apply, then answer HTTP 200 with a body that is not JSON (F12).
      only_on: restrict the 5xx, drop, late, garbage and error_code knobs to requests whose path
        ends with this (e.g. "freepublish/submit"); "" = every route of the channel.
    Knobs the vendor modules read:
      rate_limit_rate / rate_limit_code: answer the vendor's rate-limit code (0 = the vendor's default).
      token_expired: the next N API requests fail with the vendor's token-expired code.
      error_code / error_count: answer vendor code ``error_code`` (on the ``only_on`` routes),
        for the next ``error_count`` requests (0 = until cleared).
      publish_delay / publish_status: WeChat freepublish: seconds a publish stays at status 1,
        and the final status (0 success, 2-6 a failure).
    """

    latency_ms: int = 0
    error_5xx_rate: float = 0.0
    error_status: int = 503
    retry_after: int = 0
    rate_limit_rate: float = 0.0
    rate_limit_code: int = 0
    token_expired: int = 0
    drop_rate: float = 0.0
    late_rate: float = 0.0
    late_seconds: float = 20.0
    garbage_rate: float = 0.0
    error_code: int = 0
    error_count: int = 0
    only_on: str = ""
    publish_delay: float = 1.0
    publish_status: int = 0

    def update(self, **changes: Any) -> None:
        names = {f.name for f in fields(self)}
        for key in changes:
            if key not in names:
                raise ValueError(f"unknown fault knob {key!r}; known: {sorted(names)}")
        for key, value in changes.items():
            setattr(self, key, type(getattr(self, key))(value))


Handler = Callable[[SandboxRequest, "Sandbox"], SandboxResponse]
ChannelOf = str | Callable[[SandboxRequest], str]


class _Drop(Exception):
    """Raised inside request handling to close the connection without an answer."""


class Sandbox:
    """A running sandbox on 127.0.0.1.

    Parameters:
      port(int): 0 picks a free port (tests); ``hub sandbox`` uses config's port.
      state_file(Path|None): keep the inbox and vendor state there, so a restart remembers.
      credentials(dict): what the fake platforms accept, per vendor: WeChat ``{appid: secret}``,
        Weibo ``{token: uid}``, Tencent ``{secret_id: secret_key}`` (``hub.sandbox.credentials``).
      seed(int): seeds the fault dice.
    """

    def __init__(self, port: int = 0, *, host: str = "127.0.0.1", state_file: Path | None = None,
                 credentials: dict[str, dict[str, str]] | None = None, seed: int = 1,
                 options: dict[str, Any] | None = None) -> None:
        self.host, self.port = host, port
        self.state_file = state_file
        self.credentials = credentials or {}
        self.options: dict[str, Any] = dict(options or {})
        self.faults: dict[str, Faults] = {}
        self.inbox: list[dict[str, Any]] = []
        #: vendor modules keep their state here (JSON-serialisable), one dict per vendor
        self.data: dict[str, dict[str, Any]] = {}
        self.lock = threading.RLock()
        self.rng = random.Random(seed)
        self.routes: dict[tuple[str, str], tuple[ChannelOf, Handler]] = {}
        #: requests seen per "METHOD /path" (whatever the outcome), for tests that count calls
        self.hits: Counter[str] = Counter()
        #: uploaded files (images), kept out of the JSON state: in memory, or beside the state file
        self._blobs: dict[str, bytes] = {}
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._load()

    # --- set-up ----------------------------------------------------------------------------

    def route(self, method: str, path: str, channel: ChannelOf, handler: Handler) -> None:
        self.routes[(method.upper(), path)] = (channel, handler)

    def fault(self, channel: str) -> Faults:
        with self.lock:
            return self.faults.setdefault(channel, Faults())

    def set_faults(self, channel: str, **knobs: Any) -> None:
        self.fault(channel).update(**knobs)

    def clear_faults(self) -> None:
        with self.lock:
            self.faults.clear()

    def reset(self) -> None:
        """Forget everything: inbox, vendor state (tokens, drafts, posts), uploaded files and faults."""
        with self.lock:
            self.inbox.clear()
            self.data.clear()
            self.faults.clear()
            self._blobs.clear()
            folder = self._blob_dir()
            if folder is not None and folder.is_dir():
                for path in folder.iterdir():
                    path.unlink()
            self.save()

    def take_error_code(self, channel: str, path: str) -> int | None:
        """The vendor code the ``error_code`` knob asks for on this request (counting down), or None."""
        with self.lock:
            f = self.fault(channel)
            if not f.error_code or not path.endswith(f.only_on):
                return None
            if f.error_count > 0:
                f.error_count -= 1
                if f.error_count == 0:
                    code, f.error_code = f.error_code, 0
                    return code
            return f.error_code

    def take_rate_limit(self, channel: str, default_code: int) -> int | None:
        """The rate-limit code to answer on this request (one seeded throw), or None."""
        f = self.fault(channel)
        if self.roll(f.rate_limit_rate):
            return f.rate_limit_code or default_code
        return None

    def hit_count(self, path: str, method: str = "POST") -> int:
        """How many requests reached ``METHOD path`` (before any fault was applied)."""
        with self.lock:
            return self.hits[f"{method.upper()} {path}"]

    def roll(self, rate: float) -> bool:
        """One seeded throw of the fault dice."""
        if rate <= 0:
            return False
        with self.lock:
            return self.rng.random() < rate

    def take_token_expiry(self, channel: str) -> bool:
        """True (and counts down) while the channel's ``token_expired`` knob is set."""
        with self.lock:
            f = self.fault(channel)
            if f.token_expired > 0:
                f.token_expired -= 1
                return True
            return False

    # --- inbox and state ---------------------------------------------------------------------

    def record(self, channel: str, kind: str, account: str, content: dict[str, Any],
               ref: str | None = None) -> dict[str, Any]:
        """Keep what the platform accepted; ``ref`` is the hub's idempotency reference when the API carries one."""
        with self.lock:
            msg = {"id": len(self.inbox) + 1, "channel": channel, "kind": kind, "account": account,
                   "at": utcnow().isoformat(), "ref": ref, "content": content}
            self.inbox.append(msg)
            self.save()
            return msg

    def messages(self, channel: str | None = None, kind: str | None = None) -> list[dict[str, Any]]:
        with self.lock:
            return [m for m in self.inbox
                    if (channel is None or m["channel"] == channel) and (kind is None or m["kind"] == kind)]

    def _blob_dir(self) -> Path | None:
        return None if self.state_file is None else self.state_file.with_name(self.state_file.name + ".blobs")

    def put_blob(self, key: str, data: bytes) -> None:
        """Keep an uploaded file under ``key`` (a vendor-made id: letters, digits, ``-`` and ``_``)."""
        if not key.replace("-", "").replace("_", "").isalnum():
            raise ValueError("blob keys are letters, digits, - and _")
        folder = self._blob_dir()
        if folder is None:
            with self.lock:
                self._blobs[key] = data
            return
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".{key}.tmp"
        tmp.write_bytes(data)
        tmp.replace(folder / key)

    def get_blob(self, key: str) -> bytes | None:
        if not key.replace("-", "").replace("_", "").isalnum():
            return None
        folder = self._blob_dir()
        if folder is None:
            with self.lock:
                return self._blobs.get(key)
        path = folder / key
        return path.read_bytes() if path.is_file() else None

    def vendor(self, name: str) -> dict[str, Any]:
        with self.lock:
            return self.data.setdefault(name, {})

    def save(self) -> None:
        """Persist the inbox and vendor state (only when a state file is configured)."""
        if self.state_file is None:
            return
        with self.lock:
            tmp = self.state_file.with_suffix(".tmp")
            tmp.write_text(json.dumps({"inbox": self.inbox, "data": self.data}, ensure_ascii=False), "utf-8")
            tmp.replace(self.state_file)

    def _load(self) -> None:
        if self.state_file is not None and self.state_file.exists():
            saved = json.loads(self.state_file.read_text("utf-8"))
            self.inbox, self.data = saved["inbox"], saved["data"]

    # --- serving --------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> Sandbox:
        sandbox = self

        class RequestHandler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in separate writes; with Nagle on, the body waits for the
            # client's delayed ACK (~40 ms a request), which real APIs do not cost.
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
                return  # URLs carry access tokens; the sandbox logs nothing

            def _handle(self) -> None:
                try:
                    sandbox._dispatch(self)
                except _Drop:
                    self.close_connection = True
                    try:
                        self.connection.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass

            do_GET = do_POST = do_PUT = do_DELETE = _handle

        self._server = ThreadingHTTPServer((self.host, self.port), RequestHandler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="sandbox", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Sandbox:
        return self if self._server is not None else self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _dispatch(self, h: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(h.path)
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else b""
        req = SandboxRequest(h.command, parts.path, parse_qs(parts.query), h.headers, body)
        found = self.routes.get((h.command, parts.path))
        if found is None:
            self._write(h, SandboxResponse.json({"error": "not found", "path": parts.path}, 404))
            return
        channel_of, handler = found
        channel = channel_of(req) if callable(channel_of) else channel_of
        with self.lock:
            self.hits[f"{h.command} {parts.path}"] += 1
        faults = self.fault(channel)
        if faults.latency_ms:
            time.sleep(faults.latency_ms / 1000)
        targeted = parts.path.endswith(faults.only_on)
        if targeted and self.roll(faults.error_5xx_rate):
            status = faults.error_status
            headers = {"Retry-After": str(faults.retry_after)} if faults.retry_after else {}
            body = f"<html><body>{status} {HTTPStatus(status).phrase}</body></html>".encode()
            self._write(h, SandboxResponse(status, body, "text/html", headers))
            return
        try:
            response = handler(req, self)
        except Exception as exc:  # a bug in a fake must answer, not hang the client
            self._write(h, SandboxResponse.json({"sandbox_error": type(exc).__name__}, 500))
            return
        applied = targeted and response.status < 400
        if applied and self.roll(faults.drop_rate):
            raise _Drop()
        if applied and self.roll(faults.late_rate):
            time.sleep(faults.late_seconds)
        if applied and self.roll(faults.garbage_rate):
            response = SandboxResponse(200, b"<html><body>upstream gateway says hello</body></html>", "text/html")
        self._write(h, response)

    @staticmethod
    def _write(h: BaseHTTPRequestHandler, response: SandboxResponse) -> None:
        h.send_response(response.status)
        h.send_header("Content-Type", response.content_type)
        h.send_header("Content-Length", str(len(response.body)))
        for key, value in response.headers.items():
            h.send_header(key, value)
        h.end_headers()
        try:
            h.wfile.write(response.body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (e.g. after its timeout): the request still counts as accepted


def faults_json(sandbox: Sandbox) -> dict[str, Any]:
    """The knobs of every channel that has any knob away from its default."""
    default = Faults()
    with sandbox.lock:
        return {name: asdict(f) for name, f in sandbox.faults.items() if f != default}
