"""Bulk decryption of stored phone numbers: byte-for-byte ``cryptography.fernet`` as the oracle, forgeries refused."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

import pytest
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.audience.subscribers import PhoneVault, get_vault
from hub.channels.fernet_batch import FernetBatch, _HmacSha256
from hub.errors import ConfigError

KEYS = [Fernet.generate_key() for _ in range(3)]


def _reference(token: bytes, keys: list[bytes]) -> bytes | None:
    """What ``MultiFernet.decrypt`` says: the plaintext, or None for InvalidToken."""
    try:
        return MultiFernet([Fernet(k) for k in keys]).decrypt(token)
    except InvalidToken:
        return None


def _forge(key: bytes, padded: bytes, *, version: int = 0x80, extra: bytes = b"") -> bytes:
    """A token with a valid HMAC around ``padded`` as it is (bad padding, version or length under a good MAC)."""
    raw = base64.urlsafe_b64decode(key)
    iv = os.urandom(16)
    encryptor = Cipher(algorithms.AES(raw[16:]), modes.CBC(iv)).encryptor()
    body = (bytes([version]) + (1_700_000_000).to_bytes(8, "big") + iv + encryptor.update(padded)
            + encryptor.finalize() + extra)
    return base64.urlsafe_b64encode(body + hmac.digest(raw[:16], body, hashlib.sha256))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.binary(max_size=60), st.integers(0, 2)), min_size=1, max_size=40))
def test_a_batch_decrypts_to_exactly_what_fernet_decrypts_whatever_key_made_each_token(
        items: list[tuple[bytes, int]]) -> None:
    """Any plaintext lengths (0 to several blocks), tokens of rotated keys mixed in one batch, order kept."""
    tokens = [Fernet(KEYS[k]).encrypt(plain) for plain, k in items]
    assert FernetBatch(KEYS).decrypt(tokens) == [_reference(t, KEYS) for t in tokens] == [p for p, _ in items]


@settings(max_examples=200, deadline=None)
@given(st.binary(min_size=1, max_size=64), st.binary(max_size=300))
def test_the_written_out_hmac_equals_the_standard_librarys(key: bytes, message: bytes) -> None:
    """Keys up to SHA-256's 64-byte block (Fernet's are 16), any message length."""
    assert _HmacSha256(key).digest(message) == hmac.digest(key, message, "sha256")


@pytest.mark.parametrize("position", [0, 1, 8, 9, 24, 25, 40, -32, -1])
def test_a_token_with_any_byte_changed_is_refused_as_fernet_refuses_it(position: int) -> None:
    """Version, timestamp, IV, ciphertext and MAC are all covered by the MAC check."""
    token = Fernet(KEYS[0]).encrypt(b"+8613800000001")
    raw = bytearray(base64.urlsafe_b64decode(token))
    raw[position] ^= 0x01
    forged = base64.urlsafe_b64encode(bytes(raw))
    assert _reference(forged, KEYS) is None
    with pytest.raises(InvalidToken):
        FernetBatch(KEYS).decrypt([Fernet(KEYS[0]).encrypt(b"+8613800000002"), forged])


@pytest.mark.parametrize("token", [
    b"", b"not base64 at all!", b"gAAAAA", base64.urlsafe_b64encode(b"\x80" + bytes(72)),
    base64.urlsafe_b64encode(bytes(90)), b"\xff" * 100,
])
def test_malformed_tokens_are_refused(token: bytes) -> None:
    assert _reference(token, KEYS) is None
    with pytest.raises(InvalidToken):
        FernetBatch(KEYS).decrypt([token])


def test_a_token_that_is_not_ascii_text_is_refused() -> None:
    """(``Fernet`` itself raises a bare ValueError here; the batch keeps to InvalidToken.)"""
    with pytest.raises(InvalidToken):
        FernetBatch(KEYS).decrypt(["ïñvalid"])


def test_a_token_of_a_key_not_configured_is_refused() -> None:
    token = Fernet(Fernet.generate_key()).encrypt(b"+8613800000001")
    with pytest.raises(InvalidToken):
        FernetBatch(KEYS).decrypt([token])


@pytest.mark.parametrize(("padded", "version", "extra"), [
    (b"+8613800000001\x00\x00", 0x80, b""),  # pad byte 0
    (b"+8613800000001\x01\x02", 0x80, b""),  # last byte says 2, the one before is not 2
    (b"+8613800000001\x11\x11", 0x80, b""),  # pad byte > 16
    (b"+8613800000001\x02\x02", 0x81, b""),  # another version
    (b"+8613800000001\x02\x02", 0x80, b"x"),  # ciphertext not whole blocks
    (b"", 0x80, b""),  # no ciphertext at all
])
def test_bad_framing_or_padding_under_a_valid_mac_is_refused_as_fernet_refuses_it(padded: bytes, version: int,
                                                                                  extra: bytes) -> None:
    forged = _forge(KEYS[1], padded, version=version, extra=extra)
    assert _reference(forged, KEYS) is None
    with pytest.raises(InvalidToken):
        FernetBatch(KEYS).decrypt([forged])


def test_a_string_token_is_read_like_its_bytes() -> None:
    token = Fernet(KEYS[2]).encrypt(b"+8613800000001")
    assert FernetBatch(KEYS).decrypt([token.decode("ascii"), token]) == [b"+8613800000001"] * 2


@pytest.mark.parametrize("key", [b"", b"short", base64.urlsafe_b64encode(bytes(31))])
def test_a_key_that_is_not_32_bytes_is_refused(key: bytes) -> None:
    with pytest.raises(ValueError, match="32|at least one"):
        FernetBatch([key] if key else [])


def test_the_vault_decrypts_a_batch_like_one_by_one_and_a_foreign_row_stops_it_naming_the_variable(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """``PhoneVault.decrypt_many`` (the fan-out's path) agrees with ``decrypt`` and fails the same way."""
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    monkeypatch.setenv("HUB_PHONE_KEY", old)
    old_rows = [get_vault().encrypt(f"+86138{i:08d}") for i in range(5)]
    monkeypatch.setenv("HUB_PHONE_KEY", f"{new},{old}")  # rotation: new rows use the new key, old ones still read
    vault = get_vault()
    rows = old_rows + [vault.encrypt("+8613900000009")]
    assert vault.decrypt_many(rows) == [vault.decrypt(r) for r in rows]
    stranger = PhoneVault([Fernet.generate_key().decode()], b"k").encrypt("+8613900000008")
    with pytest.raises(ConfigError, match="HUB_PHONE_KEY") as caught:
        vault.decrypt_many([*rows, stranger])
    assert "13900000008" not in str(caught.value)
