"""Fixtures of the store tests."""

from __future__ import annotations

import pytest
from storekit import make_record

from hub.record import Record


@pytest.fixture
def record() -> Record:
    return make_record()
