"""The newspaper channel: the print PDF by SMTP (smtplib) to the aiosmtpd desk stand-in, plus a pickup copy."""

from __future__ import annotations

import hashlib
import smtplib
import socket
from typing import Any

import pytest
from tests_key import key_for

from hub.channels.newspaper import NewspaperChannel, smtp_error
from hub.config import Account, HubConfig, get_config
from hub.deliverables import DeliveryStatus, Rendition, Target
from hub.errors import Ambiguous, AuthExpired, Permanent, RateLimited, Retryable
from hub.renderers.base import ArtifactStore
from hub.settings import get_settings

TARGET = Target("newspaper", "newspaper-ankang", "newspaper-desk", {"to": "desk@ankang-daily.example"})
VERSION = "cd" * 32
PDF = b"%PDF-1.4\n% a tiny test document\n%%EOF\n"


def print_rendition() -> Rendition:
    main = ArtifactStore(get_settings().artifacts_dir).put(PDF, ".pdf", "application/pdf")
    return Rendition("print", "hanyin-np-1", VERSION, main, facts={"title": "关于公开测试事项的通知"})


def newspaper(config: HubConfig | None = None) -> NewspaperChannel:
    return NewspaperChannel(config or get_config(), get_settings())


def test_the_desk_receives_the_pdf_with_a_message_id_from_the_key(sandbox: Any) -> None:
    key = key_for("hanyin-np-1", VERSION, "newspaper", "newspaper-ankang")
    receipt = newspaper().send(print_rendition(), TARGET, key)
    assert receipt.confirmed and receipt.provider_ref == f"<{key}@hanyin.gov.cn>"
    [mail] = sandbox.messages("newspaper")
    c = mail["content"]
    assert mail["account"] == "desk@ankang-daily.example" and mail["ref"] == receipt.provider_ref
    assert c["subject"] == "[政务公开] 关于公开测试事项的通知" and c["from"] == "gongkai@hanyin.gov.cn"
    assert c["attachments"] == [{"filename": "hanyin-np-1.pdf", "content_type": "application/pdf",
                                 "bytes": len(PDF), "sha256": hashlib.sha256(PDF).hexdigest()}]
    assert (get_settings().pickup_dir / "newspaper" / f"hanyin-np-1-{VERSION[:12]}.pdf").read_bytes() == PDF
    assert newspaper().status(receipt, TARGET) == DeliveryStatus.DELIVERED


def test_smtp_cannot_be_asked_so_there_is_no_lookup(sandbox: Any) -> None:
    ch = newspaper()
    assert ch.can_lookup is False and ch.idempotent_upsert is False
    assert ch.lookup(TARGET, "k" * 64) is None


@pytest.mark.parametrize(("faults", "expected", "kept"), [
    ({"error_5xx_rate": 1.0}, Retryable, 0),
    ({"rate_limit_rate": 1.0}, RateLimited, 0),
    ({"drop_rate": 1.0}, Ambiguous, 1),
])
def test_desk_faults_become_typed_outcomes(sandbox: Any, faults: dict[str, Any], expected: type[Exception],
                                           kept: int) -> None:
    sandbox.set_faults("newspaper", **faults)
    with pytest.raises(expected) as caught:
        newspaper().send(print_rendition(), TARGET, "k" * 64)
    assert type(caught.value) is expected
    assert len(sandbox.messages("newspaper")) == kept


def test_a_desk_that_is_not_listening_is_retryable(sandbox: Any) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = get_config()
    acc = config.accounts["newspaper-desk"]
    changed = Account.model_validate({"channel": "newspaper", **(acc.model_extra or {}), "smtp_port": str(port)})
    ch = newspaper(config.model_copy(update={"accounts": {**config.accounts, "newspaper-desk": changed}}))
    with pytest.raises(Retryable):
        ch.send(print_rendition(), TARGET, "k" * 64)


@pytest.mark.parametrize(("exc", "after_data", "expected"), [
    (smtplib.SMTPAuthenticationError(535, b"bad credentials"), False, AuthExpired),
    (smtplib.SMTPRecipientsRefused({"d@x": (550, b"no such user")}), False, Permanent),
    (smtplib.SMTPRecipientsRefused({"d@x": (450, b"mailbox busy")}), False, Retryable),
    (smtplib.SMTPDataError(552, b"too big"), False, Permanent),
    (smtplib.SMTPDataError(451, b"try later"), False, Retryable),
    (smtplib.SMTPDataError(452, b"slow down"), False, RateLimited),
    (smtplib.SMTPConnectError(421, b"busy"), False, Retryable),
    (smtplib.SMTPServerDisconnected("lost"), True, Ambiguous),
    (smtplib.SMTPServerDisconnected("lost"), False, Retryable),
    (TimeoutError("timed out"), True, Ambiguous),
    (ConnectionRefusedError(111, "refused"), False, Retryable),
])
def test_the_smtp_error_table(exc: BaseException, after_data: bool, expected: type[Exception]) -> None:
    assert type(smtp_error(exc, after_data=after_data)) is expected


def test_a_target_without_an_address_needs_a_person(sandbox: Any) -> None:
    with pytest.raises(AuthExpired, match="targets.x.to"):
        newspaper().send(print_rendition(), Target("newspaper", "x", "newspaper-desk", {}), "k" * 64)


def desk_config(port: int, **keys: str) -> HubConfig:
    config = get_config()
    acc = config.accounts["newspaper-desk"]
    changed = Account.model_validate({"channel": "newspaper", **(acc.model_extra or {}), "smtp_port": str(port),
                                      **keys})
    return config.model_copy(update={"accounts": {**config.accounts, "newspaper-desk": changed}})


def test_smtp_auth_with_the_password_from_the_environment(sandbox: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from hub.sandbox.smtp import start_smtp

    _, port, stop = start_smtp(sandbox, logins={"gongkai": "desk-password-4f1a"})
    try:
        monkeypatch.setenv("HUB_DESK_USER", "gongkai")
        monkeypatch.setenv("HUB_DESK_PASSWORD", "desk-password-4f1a")
        ch = newspaper(desk_config(port, username_env="HUB_DESK_USER", password_env="HUB_DESK_PASSWORD"))
        ch.send(print_rendition(), TARGET, "a" * 64)
        assert len(sandbox.messages("newspaper")) == 1
        monkeypatch.setenv("HUB_DESK_PASSWORD", "wrong-password-9c2e")
        with pytest.raises(AuthExpired) as caught:
            ch.send(print_rendition(), TARGET, "b" * 64)
        assert "wrong-password-9c2e" not in str(caught.value)
        assert len(sandbox.messages("newspaper")) == 1
        monkeypatch.delenv("HUB_DESK_PASSWORD")
        with pytest.raises(AuthExpired, match="HUB_DESK_PASSWORD"):
            ch.send(print_rendition(), TARGET, "c" * 64)
    finally:
        stop()
