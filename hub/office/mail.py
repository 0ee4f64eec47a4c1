"""E-mail notices to staff (督办): the county's SMTP relay, the one the newspaper desk already uses.

Which account sends is ``office.toml: [mail] account`` (default ``newspaper-desk``
of ``channels.toml``: its ``smtp_host``, ``smtp_port``, ``sender`` and optional
login). Addresses are the staff's work addresses (``users.email``), never the
SMS audience. A notice is best effort: a failure is returned in words (and
audited by the caller), it never undoes the urge.
"""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from email.utils import formatdate

from hub.config import get_config
from hub.errors import ConfigError
from hub.office.settings import get_office_settings
from hub.settings import get_settings
from hub.store.models import UrgeRow, UserRow


def send(to: str, subject: str, body: str) -> None:
    """Send one plain-text mail through the configured account (raises OSError / SMTPException)."""
    name = get_office_settings().mail.account
    account = get_config().accounts.get(name)
    if account is None:
        raise ConfigError(f"office.toml: mail.account {name!r} is not an account of channels.toml")
    sender = str(account.get("sender") or "")
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"], msg["Date"] = sender, to, subject, formatdate()
    msg.set_content(body)
    with smtplib.SMTP(str(account.get("smtp_host") or "127.0.0.1"), int(account.get("smtp_port") or 25),
                      timeout=float(account.get("timeout", 20))) as smtp:
        if account.get("username_env"):
            password = account.secret("password_env", name).value if account.get("password_env") else ""
            smtp.login(account.secret("username_env", name).value, password)
        smtp.send_message(msg)


def send_urge_notice(person: UserRow, urge: UrgeRow, title: str) -> str:
    """Mail ``person`` about ``urge``; returns what happened in words (stored on the urge)."""
    if not person.email:
        return "未发送邮件：该账号没有登记工作邮箱"
    link = f"{get_settings().public_url.rstrip('/')}/console/v/{urge.version}"
    body = (f"{person.name}，您好：\n\n政务公开办对以下公开信息进行督办，请于 {urge.due_on.isoformat()} 前办理并在工作台确认。\n\n"
            f"标题：{title}\n督办意见：{urge.note}\n办理入口：{link}\n")
    try:
        send(person.email, f"[政务公开督办] {title}", body)
    except (OSError, smtplib.SMTPException) as exc:
        return f"邮件发送失败（{type(exc).__name__}）"
    return f"已发邮件至 {person.email}"
