"""Phone numbers at rest: AES-GCM under HUB_PHONE_KEY, numbers of before still read, rotation re-encrypts all."""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select
from typer.testing import CliRunner

from hub.audience import phones
from hub.audience import subscribers as subs
from hub.errors import ConfigError
from hub.store.db import session_scope
from hub.store.models import ConsultationRow, SubscriberRow
from hub.timeutil import utcnow

CANARY = "+8613800000001"
NUMBERS = [f"+86138{i:08d}" for i in range(2, 9)]

# Written by the code before this module (commit 8c427d0, ``PhoneVault.encrypt`` / ``.hash``) with this
# test-only key: a Fernet token and the phone_hash of CANARY. The new code must read both unchanged.
OLD_KEY = "aHViLXRlc3Qtb25seS1waG9uZS1rZXktMDAwMDAwMDE="
OLD_TOKEN = b"gAAAAABrEZTnp87ZBPF1H0XiFX3LRJa6CrAvBWWftFPwnXVmgYOQz4srr9BHKzB4-eklYMuCwhOrWZZ4DNjptu3Vu5vZ7jwFPA=="
OLD_HASH = "5a1f7d50a9bbf70e95a933976511f3c1980999106db2f31aad52245ea17bd51f"


@pytest.fixture(autouse=True)
def keys(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, str]]:
    """A new key first, the old (test-only) key last, as an operator writes them when rotating."""
    new = phones.new_key()
    monkeypatch.setenv("HUB_PHONE_KEY", f"{new},{OLD_KEY}")
    monkeypatch.delenv("HUB_PHONE_HASH_KEY", raising=False)
    yield new, OLD_KEY


def _secret_free(text: str, *keys: str) -> None:
    for number in [CANARY, *NUMBERS]:
        assert number[3:] not in text
    for key in keys:
        assert key not in text


def test_a_number_is_stored_as_aes_gcm_under_the_newest_key_and_never_twice_the_same() -> None:
    vault = phones.get_vault()
    first, second = vault.encrypt(CANARY), vault.encrypt(CANARY)
    assert first != second  # a fresh nonce each time: equal numbers do not look equal at rest
    assert first[:1] == b"\x01" and len(first) == 1 + 4 + 12 + len(CANARY) + 16
    assert vault.is_current(first) and vault.key_rank(first) == 0
    assert vault.decrypt(first) == vault.decrypt(second) == CANARY
    assert CANARY.encode() not in first and CANARY[3:].encode() not in first


def test_a_number_written_the_old_way_decrypts_and_keeps_its_index(keys: tuple[str, str]) -> None:
    vault = phones.get_vault()
    assert vault.key_rank(OLD_TOKEN) == -1 and not vault.is_current(OLD_TOKEN)
    assert vault.decrypt(OLD_TOKEN) == CANARY
    assert vault.decrypt_many([OLD_TOKEN, vault.encrypt(NUMBERS[0])]) == [CANARY, NUMBERS[0]]
    assert vault.hash(CANARY) == OLD_HASH  # phone_hash is still keyed by the last (oldest) key
    assert vault.decrypt(vault.reencrypt(OLD_TOKEN)) == CANARY and vault.is_current(vault.reencrypt(OLD_TOKEN))


def test_an_older_key_still_decrypts_what_it_encrypted(monkeypatch: pytest.MonkeyPatch, keys: tuple[str, str]) -> None:
    monkeypatch.setenv("HUB_PHONE_KEY", OLD_KEY)
    under_old = phones.get_vault().encrypt(CANARY)
    monkeypatch.setenv("HUB_PHONE_KEY", f"{keys[0]},{OLD_KEY}")
    vault = phones.get_vault()
    assert vault.key_rank(under_old) == 1 and vault.decrypt(under_old) == CANARY


@pytest.mark.parametrize("where", [0, 2, 10, -1])
def test_a_tampered_number_is_refused_without_naming_it(where: int, keys: tuple[str, str]) -> None:
    """Header (version, key id), nonce or tag: any changed byte fails authentication."""
    vault = phones.get_vault()
    token = bytearray(vault.encrypt(CANARY))
    token[where] ^= 0x01
    with pytest.raises(ConfigError, match="HUB_PHONE_KEY") as caught:
        vault.decrypt(bytes(token))
    _secret_free(str(caught.value), *keys)
    with pytest.raises(ConfigError):
        vault.decrypt_many([vault.encrypt(NUMBERS[0]), bytes(token)])


def test_a_number_of_a_key_not_configured_is_refused(keys: tuple[str, str]) -> None:
    stranger = phones.PhoneVault([phones.new_key()], b"k")
    vault = phones.get_vault()
    for token in (stranger.encrypt(CANARY), Fernet(Fernet.generate_key()).encrypt(CANARY.encode())):
        assert vault.key_rank(token) in (None, -1)
        with pytest.raises(ConfigError, match="wrong or rotated-out key") as caught:
            vault.decrypt(token)
        _secret_free(str(caught.value), *keys)


@pytest.mark.parametrize("value", ["not-a-key", "a" * 44, base64.urlsafe_b64encode(b"x" * 16).decode(),
                                   "{k},{k}"])
def test_a_malformed_key_list_is_a_config_error_naming_only_the_variable(
        value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    value = value.format(k=phones.new_key())
    monkeypatch.setenv("HUB_PHONE_KEY", value)
    with pytest.raises(ConfigError, match="HUB_PHONE_KEY") as caught:
        phones.get_vault()
    assert value not in str(caught.value) and value.split(",")[0] not in str(caught.value)


def _consultation(n: int, token: bytes) -> ConsultationRow:
    now = utcnow()
    return ConsultationRow(code_hash=f"{n:064d}", topic_kind="record", topic="t", department="县政府办",
                           title="问", question="问题", content_hash=f"{n:064x}", due_on=date(2026, 12, 31),
                           phone_enc=token, phone_hash=None, phone_tail=None, created_at=now, updated_at=now)


def _store_mixed(keys: tuple[str, str]) -> None:
    """Subscribers and consultations written the old way (Fernet), under the old key, and under the new one."""
    old_fernet = Fernet(OLD_KEY.encode())
    old_gcm = phones.PhoneVault([OLD_KEY], b"-")
    new = phones.get_vault()
    tokens = [old_fernet.encrypt(NUMBERS[0].encode()), OLD_TOKEN, old_gcm.encrypt(NUMBERS[1]),
              new.encrypt(NUMBERS[2]), old_fernet.encrypt(NUMBERS[3].encode()), old_gcm.encrypt(NUMBERS[4])]
    plain = [NUMBERS[0], CANARY, NUMBERS[1], NUMBERS[2], NUMBERS[3], NUMBERS[4]]
    with session_scope() as s:
        for e164, token in zip(plain, tokens, strict=True):
            s.add(SubscriberRow(phone_enc=token, phone_hash=new.hash(e164), phone_tail=e164[-4:], level="county",
                                region=None, topics=[], opted_out_at=None, created_at=utcnow()))
        s.add(_consultation(1, old_fernet.encrypt(NUMBERS[5].encode())))
        s.add(_consultation(2, old_gcm.encrypt(NUMBERS[6])))
        s.add(_consultation(3, None))  # type: ignore[arg-type]  # a portal question without a number


def _stored() -> dict[str, list[bytes]]:
    with session_scope() as s:
        return {"subscribers": list(s.scalars(select(SubscriberRow.phone_enc).order_by(SubscriberRow.id))),
                "consultations": [t for t in s.scalars(select(ConsultationRow.phone_enc).order_by(ConsultationRow.id))
                                  if t is not None]}


def _check_rotated(keys: tuple[str, str]) -> None:
    vault = phones.get_vault()
    stored = _stored()
    assert all(vault.is_current(t) for tokens in stored.values() for t in tokens)
    assert [vault.decrypt(t) for t in stored["subscribers"]] == [NUMBERS[0], CANARY, *NUMBERS[1:5]]
    assert [vault.decrypt(t) for t in stored["consultations"]] == NUMBERS[5:7]
    with session_scope() as s:
        assert phones.key_usage(s).pending == 0
        found = subs.find(s, CANARY)  # the index did not move
        assert found is not None and vault.decrypt(found.phone_enc) == CANARY


def test_rotation_re_encrypts_every_stored_number_under_the_newest_key(keys: tuple[str, str],
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    _store_mixed(keys)
    with session_scope() as s:
        before = phones.key_usage(s)
    assert before.tables["subscribers"] == {"current": 1, "older": 2, "fernet": 3, "unknown": 0}
    assert before.tables["consultations"] == {"current": 0, "older": 1, "fernet": 1, "unknown": 0}
    seen: list[tuple[str, int]] = []
    report = phones.rotate_stored(session_scope, batch=2, progress=lambda t, n: seen.append((t, n)))
    assert report.rotated == {"subscribers": 5, "consultations": 2}
    assert report.current == {"subscribers": 1, "consultations": 0}
    assert seen == [("subscribers", 2)] * 3 + [("consultations", 2)]
    _check_rotated(keys)
    # with the index keyed on its own, the old key can go: every number still opens
    monkeypatch.setenv("HUB_PHONE_HASH_KEY", "index-key-of-the-test")
    monkeypatch.setenv("HUB_PHONE_KEY", keys[0])
    vault = phones.get_vault()
    assert sorted(vault.decrypt(t) for tokens in _stored().values() for t in tokens) == sorted([CANARY, *NUMBERS[:7]])


class _Interrupted(Exception):
    pass


def test_an_interrupted_rotation_keeps_its_batches_and_the_next_run_finishes_it(keys: tuple[str, str]) -> None:
    _store_mixed(keys)

    def stop_after_first(_table: str, _n: int) -> None:
        raise _Interrupted

    with pytest.raises(_Interrupted):
        phones.rotate_stored(session_scope, batch=2, progress=stop_after_first)
    vault = phones.get_vault()
    assert [vault.is_current(t) for t in _stored()["subscribers"]] == [True, True, False, True, False, False]
    report = phones.rotate_stored(session_scope, batch=2)
    assert report.rotated == {"subscribers": 3, "consultations": 2}
    assert report.current == {"subscribers": 3, "consultations": 0}
    _check_rotated(keys)


def test_a_number_no_key_opens_stops_the_rotation_without_naming_it(keys: tuple[str, str]) -> None:
    _store_mixed(keys)
    stranger = phones.PhoneVault([phones.new_key()], b"-")
    with session_scope() as s:
        s.add(SubscriberRow(phone_enc=stranger.encrypt(NUMBERS[6]), phone_hash="x" * 64, phone_tail="0007",
                            level="county", region=None, topics=[], opted_out_at=None, created_at=utcnow()))
        assert phones.key_usage(s).tables["subscribers"]["unknown"] == 1
    with pytest.raises(ConfigError, match="HUB_PHONE_KEY") as caught:
        phones.rotate_stored(session_scope, batch=2)
    _secret_free(str(caught.value), *keys)
    vault = phones.get_vault()
    assert [vault.is_current(t) for t in _stored()["subscribers"]][:6] == [True] * 6  # the batches before it stay


def test_the_cli_reports_rotates_and_prints_neither_numbers_nor_keys(keys: tuple[str, str], hub_home: Path) -> None:
    from hub.cli import _register, app

    _register()
    _store_mixed(keys)
    runner = CliRunner()
    status = runner.invoke(app, ["phone-key", "status", "--json"])
    assert status.exit_code == 1, status.output
    assert '"pending": 7' in status.output and "the last key of HUB_PHONE_KEY" in status.output
    rotated = runner.invoke(app, ["phone-key", "rotate", "--batch", "3"])
    assert rotated.exit_code == 0, rotated.output
    assert "subscribers: 重新加密 5，原已在最新密钥下 1" in rotated.output
    assert "所有号码都在最新密钥下" in rotated.output and "HUB_PHONE_HASH_KEY" in rotated.output
    after = runner.invoke(app, ["phone-key", "status"])
    assert after.exit_code == 0, after.output
    for text in (status.output, rotated.output, after.output):
        _secret_free(text, *keys)
    stored = b"".join(f.read_bytes() for f in hub_home.glob("hub.db*"))
    for number in [CANARY, *NUMBERS]:  # neither the digits nor a key in the database file, its WAL included
        assert number[3:].encode() not in stored
    assert all(k.encode() not in stored for k in keys)
    _check_rotated(keys)
    with session_scope() as s:
        from hub.store import repo

        (row,) = repo.audit_rows(s, action="phone_key.rotate")
        assert row.detail == {"rotated": 7, "current": 1}


@pytest.mark.integration
def test_rotation_and_key_counts_work_on_postgresql(pg_database: str, keys: tuple[str, str]) -> None:
    """``substr`` of a ``bytea`` header and the compare-and-set on ``phone_enc`` on the production database."""
    _store_mixed(keys)
    report = phones.rotate_stored(session_scope, batch=4)
    assert sum(report.rotated.values()) == 7
    _check_rotated(keys)
    assert os.environ["HUB_DATABASE_URL"].startswith("postgresql")
