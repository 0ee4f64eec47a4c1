"""Fixtures shared by the channel tests."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet


@pytest.fixture
def phone_key(monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh key for the subscribers' encrypted numbers (``HUB_PHONE_KEY``) in the environment."""
    key = Fernet.generate_key().decode()
    monkeypatch.setenv("HUB_PHONE_KEY", key)
    return key
