"""Fixtures of the audience tests: a phone key in the environment."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet


@pytest.fixture
def phone_key(monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh key for the encrypted numbers (``HUB_PHONE_KEY``)."""
    key = Fernet.generate_key().decode()
    monkeypatch.setenv("HUB_PHONE_KEY", key)
    return key
