"""The newspaper desk's stand-in: an aiosmtpd SMTP server on 127.0.0.1 that records mails into the sandbox inbox.

Why aiosmtpd: the newspaper adapter uses the real ``smtplib`` client, so the
stand-in must speak real SMTP (EHLO, MAIL, RCPT, DATA, QUIT). Every accepted
mail becomes one inbox message per recipient (channel ``newspaper``, kind
``mail``, account = the recipient, ref = the ``Message-ID``), with subject,
sender and each attachment's name, size and SHA-256.

The sandbox's fault knobs of channel ``newspaper`` apply: ``latency_ms``,
``error_5xx_rate`` (answers DATA with ``451`` — nothing kept), ``rate_limit_rate``
(``452``) and ``drop_rate`` (keeps the mail, then closes the connection before
answering: the client cannot know it was taken).

Callers of ``build_sandbox`` start it with ``start_smtp(sandbox)``; the tests'
``sandbox`` fixture does and points ``HUB_SMTP_HOST``/``HUB_SMTP_PORT`` at it.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import socket
import time
from collections.abc import Callable
from email import policy
from email.parser import BytesParser
from html import escape
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from hub.sandbox.core import Sandbox
from hub.sandbox.inbox import InboxSection, when

CHANNEL = "newspaper"


def _free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


class DeskHandler:
    """aiosmtpd handler: parse the message and record it, applying the channel's fault knobs."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd hook
        faults = self.sandbox.fault(CHANNEL)
        if faults.latency_ms:
            time.sleep(faults.latency_ms / 1000)  # blocks the desk's loop, like a slow server
        if self.sandbox.roll(faults.error_5xx_rate):
            return "451 4.3.0 Temporary server failure, try again later"
        if self.sandbox.roll(faults.rate_limit_rate):
            return "452 4.5.3 Too many messages, slow down"
        raw: bytes = envelope.original_content or envelope.content
        msg = BytesParser(policy=policy.default).parsebytes(raw)
        attachments = []
        for part in msg.iter_attachments():
            payload = part.get_payload(decode=True)
            data = payload if isinstance(payload, bytes) else b""
            attachments.append({"filename": part.get_filename(), "content_type": part.get_content_type(),
                                "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()})
        body = msg.get_body(preferencelist=("plain",))
        text = body.get_content() if body is not None else ""
        for rcpt in envelope.rcpt_tos:
            self.sandbox.record(CHANNEL, "mail", str(rcpt), {
                "from": str(envelope.mail_from), "to": str(rcpt), "subject": str(msg.get("Subject", "")),
                "message_id": str(msg.get("Message-ID", "")), "attachments": attachments, "text": text,
            }, ref=str(msg.get("Message-ID", "")) or None)
        if self.sandbox.roll(faults.drop_rate):
            server.transport.close()  # kept the mail, then the connection breaks before the answer
            return "421 4.4.2 Connection dropped after the message was queued"
        return "250 2.0.0 Message accepted for delivery"


def _authenticator(logins: dict[str, str]) -> Callable[..., AuthResult]:
    def check(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        if isinstance(data, LoginPassword):
            user, password = data.login.decode("utf-8", "replace"), data.password.decode("utf-8", "replace")
            if hmac.compare_digest(logins.get(user, "\x00"), password):
                return AuthResult(success=True)
        return AuthResult(success=False, handled=False)

    return check


def start_smtp(sandbox: Sandbox, *, host: str = "127.0.0.1", port: int = 0,
               logins: dict[str, str] | None = None) -> tuple[str, int, Callable[[], None]]:
    """Start the desk's SMTP server; returns ``(host, port, stop)``. ``port=0`` picks a free port.

    With ``logins`` (user → password) the desk offers AUTH (PLAIN/LOGIN; on
    loopback without TLS, as a test stand-in only) and answers 535 to a wrong password.
    """
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs peers and commands at INFO
    chosen = port or _free_port(host)
    extra: dict[str, Any] = {}
    if logins:
        # AUTH offered on plain loopback (a test stand-in); not *required*, so a client that skips it still
        # gets through, but a wrong password is refused with 535
        extra = {"authenticator": _authenticator(logins), "auth_require_tls": False}
    controller = Controller(DeskHandler(sandbox), hostname=host, port=chosen, ready_timeout=10, **extra)
    controller.start()
    return host, chosen, controller.stop


def _mails(msgs: list[dict[str, Any]]) -> str:
    out = []
    for m in msgs:
        c = m["content"]
        rows = "".join(f"<div><b>{escape(str(k))}</b>: {escape(str(c[k]))}</div>"
                       for k in ("from", "to", "subject") if c.get(k))
        files = "".join(
            f"<li>📎 {escape(str(a.get('filename') or '?'))} · {escape(str(a.get('content_type') or ''))} · "
            f"{int(a.get('bytes') or 0):,} bytes</li>"
            for a in (c.get("attachments") or []) if isinstance(a, dict))
        text = c.get("text") or c.get("body") or ""
        out.append(f'<div class="mail"><div class="meta">{escape(when(m["at"]))}</div>{rows}'
                   f'<pre>{escape(str(text))}</pre><ul>{files}</ul></div>')
    return "".join(out) or '<p class="meta">no mail yet</p>'


def inbox_section(msgs: list[dict[str, Any]]) -> InboxSection:
    """The inbox's newspaper part: each mail the desk received, with its attachments."""
    mails = [m for m in msgs if m["channel"] == CHANNEL]
    return InboxSection("报社 (newspaper desk)", mails, _mails(mails))
