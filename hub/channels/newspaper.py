"""The newspaper desk: the print PDF by email over SMTP (smtplib), plus a copy in the pickup area.

One mail per delivery to the target's ``to`` address, from the account's
``sender``, with the PDF attached. The ``Message-ID`` is derived from the
delivery key (``<key@sender-domain>``) so the desk's mail system can drop a
duplicate; SMTP itself has no way to ask "did you get it?", so ``lookup`` is not
possible (``can_lookup = False``): an ambiguous send (the connection broke after
DATA) waits for a person. Once the server accepted the message (250 after
DATA) the delivery is final (``Receipt(confirmed=True)``).

Account keys: ``smtp_host``, ``smtp_port``, ``sender``, optional
``starttls = true``, ``username_env``/``password_env`` (AUTH after STARTTLS) and
``timeout`` (seconds, default 30, per socket operation).

The error table (``smtp_error``) is the one place SMTP outcomes are decided.
"""

from __future__ import annotations

import smtplib
import socket
import ssl
from email.message import EmailMessage
from email.utils import formatdate
from typing import ClassVar

from pydantic import Field
from sqlalchemy import select

from hub.channels.base import AccountConfig, ChannelBase, LinkUse
from hub.channels.boundary import artifact_file, typed_errors
from hub.channels.files import safe_id, write_atomic
from hub.channels.sessions import SessionFactory, scope
from hub.config import Account, HubConfig
from hub.deliverables import DeliveryStatus, Receipt, Rendition, Target
from hub.errors import Ambiguous, AuthExpired, ChannelError, ConfigError, Permanent, RateLimited, Retryable
from hub.redact import redact
from hub.settings import Settings
from hub.store.models import VersionRow
from hub.timeutil import utcnow

DEFAULT_TIMEOUT_S = 30.0


def smtp_error(exc: BaseException, *, after_data: bool) -> ChannelError:
    """SMTP failure → outcome.

    | failure                                            | outcome |
    |----------------------------------------------------|---------|
    | connect refused / timeout / DNS, 421 at greeting   | Retryable (nothing sent) |
    | AUTH refused (535, 534, 530)                       | AuthExpired |
    | recipient refused 5xx / sender refused 5xx         | Permanent |
    | 4xx on RCPT or DATA (451, 452, 421)                | Retryable (452 → RateLimited) |
    | 5xx on DATA (552 too big, 554 refused)             | Permanent |
    | connection lost or timeout after DATA was sent     | Ambiguous |
    """
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return AuthExpired(f"newspaper: SMTP AUTH refused ({exc.smtp_code})")
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = sorted({code for code, _ in exc.recipients.values()})
        if all(400 <= c < 500 for c in codes):
            return Retryable(f"newspaper: recipient deferred ({codes})")
        return Permanent(f"newspaper: recipient refused ({codes})")
    if isinstance(exc, smtplib.SMTPResponseException):
        code = exc.smtp_code
        text = redact(exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes)
                      else str(exc.smtp_error))[:200]
        if code == 452:
            return RateLimited(f"newspaper: SMTP {code} {text}", 60)
        if 400 <= code < 500:
            return Retryable(f"newspaper: SMTP {code} {text}")
        return Permanent(f"newspaper: SMTP {code} {text}")
    if isinstance(exc, smtplib.SMTPServerDisconnected | TimeoutError | socket.timeout | ConnectionError | ssl.SSLError):
        if after_data:
            return Ambiguous(f"newspaper: {type(exc).__name__} after the message was sent; the desk may have it")
        return Retryable(f"newspaper: {type(exc).__name__} before the message was sent")
    if isinstance(exc, OSError | smtplib.SMTPException):
        if after_data:
            return Ambiguous(f"newspaper: {type(exc).__name__} after the message was sent")
        return Retryable(f"newspaper: {type(exc).__name__} (not sent)")
    return Ambiguous(f"newspaper: unexpected {type(exc).__name__}")


class NewspaperAccount(AccountConfig):
    """``[accounts.*]`` of a newspaper desk reached by e-mail (SMTP)."""

    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(default=25, ge=1, le=65535)
    sender: str = Field(pattern=r"^[^@\s]+@[^@\s]+$")
    username_env: str = ""
    password_env: str = ""
    starttls: bool = False
    timeout: float = Field(default=DEFAULT_TIMEOUT_S, gt=0)
    optional_env: ClassVar[tuple[str, ...]] = ("username_env", "password_env")


class NewspaperChannel(ChannelBase):
    """The ``newspaper`` channel (see the module docstring)."""

    name: ClassVar[str] = "newspaper"
    idempotent_upsert: ClassVar[bool] = False
    can_lookup: ClassVar[bool] = False
    rendition_kind: ClassVar[str] = "print"
    label: ClassVar[str] = "报社"
    links: ClassVar[LinkUse] = LinkUse.QR
    account_model: ClassVar[type[AccountConfig]] = NewspaperAccount
    sandbox: ClassVar[str | None] = "hub.sandbox.smtp"

    def __init__(self, config: HubConfig, settings: Settings, *, session_factory: SessionFactory | None = None) -> None:
        self.config, self.settings = config, settings
        self._sessions = session_factory

    def _account(self, name: str) -> Account:
        account = self.config.accounts.get(name)
        if account is None or account.channel != "newspaper":
            raise ConfigError(f"channels.toml: no newspaper account {name!r}")
        return account

    def _to(self, target: Target) -> str:
        to = target.params.get("to")
        if not to and target.name in self.config.targets:
            to = self.config.targets[target.name].to
        if not to or "@" not in str(to):
            raise ConfigError(f"channels.toml: targets.{target.name}.to must be an email address")
        return str(to)

    def _title(self, version: str) -> str | None:
        with scope(self._sessions) as s:
            return s.scalar(select(VersionRow.title).where(VersionRow.version == version))

    def message(self, rendition: Rendition, target: Target, key: str) -> EmailMessage:
        """The mail the desk receives (deterministic for a key, apart from the Date header)."""
        account = self._account(target.account)
        sender = str(account.get("sender") or "")
        if "@" not in sender:
            raise ConfigError(f"channels.toml: accounts.{target.account}.sender must be an email address")
        title = str(rendition.facts.get("title") or self._title(rendition.version) or rendition.record_id)
        msg = EmailMessage()
        msg["From"] = sender
        msg["To"] = self._to(target)
        msg["Subject"] = f"[政务公开] {title}"
        msg["Date"] = formatdate(localtime=False)
        msg["Message-ID"] = f"<{key}@{sender.rsplit('@', 1)[1]}>"
        msg["X-Hub-Record"] = rendition.record_id
        msg["X-Hub-Version"] = rendition.version
        msg.set_content(f"{self.config.portal.site_name} 政务公开稿件\n\n标题：{title}\n记录：{rendition.record_id}\n"
                        f"版本：{rendition.version[:12]}\n\n附件为版面 PDF。同一 Message-ID 的重复邮件可忽略。\n")
        try:
            pdf = artifact_file("newspaper", rendition.main).read_bytes()
        except FileNotFoundError:
            raise Permanent("newspaper: the print PDF is missing from the artifact store") from None
        msg.add_attachment(pdf, maintype="application", subtype="pdf",
                           filename=f"{safe_id(rendition.record_id, what='newspaper')}.pdf")
        return msg

    def _pickup_copy(self, rendition: Rendition) -> None:
        name = safe_id(f"{rendition.record_id}-{rendition.version[:12]}.pdf", what="newspaper")
        try:
            write_atomic(self.settings.pickup_dir / "newspaper" / name,
                         artifact_file("newspaper", rendition.main).read_bytes())
        except OSError as exc:
            raise Retryable(f"newspaper: cannot write the pickup copy ({type(exc).__name__})") from None

    @typed_errors("newspaper")
    def send(self, rendition: Rendition, target: Target, key: str) -> Receipt:
        msg = self.message(rendition, target, key)
        self._pickup_copy(rendition)
        self._smtp(target, msg)
        return Receipt(provider_ref=str(msg["Message-ID"]), accepted_at=utcnow(), confirmed=True,
                       raw={"to": msg["To"], "bytes": rendition.main.bytes})

    def _smtp(self, target: Target, msg: EmailMessage) -> None:
        """Hand ``msg`` to the desk's SMTP server; typed outcomes (after DATA: it may have been queued)."""
        account = self._account(target.account)
        host = str(account.get("smtp_host") or "127.0.0.1")
        try:
            port = int(account.get("smtp_port") or 25)
        except ValueError:
            raise ConfigError(f"channels.toml: accounts.{target.account}.smtp_port must be a number") from None
        timeout = float(account.get("timeout", DEFAULT_TIMEOUT_S))
        user_env, pass_env = str(account.get("username_env") or ""), str(account.get("password_env") or "")
        after_data = False
        try:
            with smtplib.SMTP(host, port, timeout=timeout) as smtp:
                smtp.ehlo()
                if account.get("starttls"):
                    smtp.starttls(context=ssl.create_default_context())
                    smtp.ehlo()
                if user_env:
                    user = account.secret("username_env", target.account).value
                    password = account.secret("password_env", target.account).value if pass_env else ""
                    smtp.login(user, password)
                after_data = True  # from here on the server may have queued the message
                refused = smtp.send_message(msg)
                try:
                    smtp.quit()
                except (smtplib.SMTPException, OSError):
                    pass  # accepted already; QUIT is a courtesy
        except (smtplib.SMTPException, OSError) as exc:
            if isinstance(exc, smtplib.SMTPRecipientsRefused | smtplib.SMTPSenderRefused):
                after_data = False
            if isinstance(exc, smtplib.SMTPDataError):
                after_data = False  # the server answered DATA with an error: it did not take the message
            raise smtp_error(exc, after_data=after_data) from None
        if refused:
            raise Permanent(f"newspaper: {len(refused)} recipient(s) refused")

    @typed_errors("newspaper")
    def withdraw(self, receipt: Receipt, target: Target, key: str) -> Receipt:
        """A 撤稿 mail to the desk (a reply to the original by Message-ID), and the pickup copy removed.

        Its Message-ID is derived from the step's key, so a second copy after an unknown outcome
        is recognisably the same notice (the desk ignores repeats of one Message-ID).
        """
        from hub.channels.notices import withdrawal_notice
        from hub.timeutil import to_local

        notice = withdrawal_notice(self._sessions, key)
        account = self._account(target.account)
        sender = str(account.get("sender") or "")
        if "@" not in sender:
            raise ConfigError(f"channels.toml: accounts.{target.account}.sender must be an email address")
        msg = EmailMessage()
        msg["From"] = sender
        msg["To"] = self._to(target)
        msg["Subject"] = f"[撤稿] {notice.title}"
        msg["Date"] = formatdate(localtime=False)
        msg["Message-ID"] = f"<{key}@{sender.rsplit('@', 1)[1]}>"
        msg["In-Reply-To"] = receipt.provider_ref
        msg["References"] = receipt.provider_ref
        msg["X-Hub-Record"] = notice.record_id
        msg["X-Hub-Version"] = notice.version
        msg.set_content(f"{self.config.portal.site_name} 政务公开撤稿通知\n\n"
                        f"请勿刊登（或撤下）稿件《{notice.title}》（记录 {notice.record_id}，"
                        f"版本 {notice.version[:12]}，原邮件 {receipt.provider_ref}）。\n"
                        f"撤回时间：{to_local(notice.at):%Y-%m-%d %H:%M}（北京时间）\n"
                        f"撤回原因：{notice.reason or '（未注明）'}\n\n如已刊登，请按更正程序处理。"
                        "同一 Message-ID 的重复邮件可忽略。\n")
        name = safe_id(f"{notice.record_id}-{notice.version[:12]}.pdf", what="newspaper")
        (self.settings.pickup_dir / "newspaper" / name).unlink(missing_ok=True)
        self._smtp(target, msg)
        return Receipt(provider_ref=str(msg["Message-ID"]), accepted_at=utcnow(), confirmed=True,
                       raw={"to": msg["To"], "withdraws": receipt.provider_ref})

    @typed_errors("newspaper")
    def lookup(self, target: Target, key: str) -> Receipt | None:
        """SMTP cannot be asked whether a message arrived: nothing to look up (a person decides)."""
        return None

    @typed_errors("newspaper")
    def status(self, receipt: Receipt, target: Target) -> DeliveryStatus:
        return DeliveryStatus.DELIVERED
