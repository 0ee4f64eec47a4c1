"""A property: whatever text surrounds them, canary phone numbers, ID numbers and secrets never survive redaction,
nor reach the message of an error the hub stores or a database error (issue 18)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.redact import redact, register_secret

PHONES = ["13800000001", "+8613800000002", "8613800000003", "138-0000-0004", "138 0000 0005"]
IDS = ["61092119900307123X", "610921199003071234", "610921900307123"]
SECRET = "CANARY_SECRET_7f3a9c1d"

#: what text separates them: Chinese, punctuation, spaces (not digits or ASCII letters: a digit run glued to
#: another, or letters glued to digits as in hex keys, are not numbers a person wrote)
around = st.text(alphabet=st.sampled_from(list("电话身份证号：:，, =()[]\"'\n\t中文-/*")), min_size=1, max_size=6)


@settings(max_examples=400, deadline=None)
@given(before=around, after=around, phone=st.sampled_from(PHONES), idn=st.sampled_from(IDS),
       order=st.permutations([0, 1, 2]))
def test_canaries_never_survive_redaction_whatever_surrounds_them(before: str, after: str, phone: str, idn: str,
                                                                   order: list[int]) -> None:
    register_secret(SECRET)
    parts = [phone, idn, SECRET]
    text = before + after.join(parts[i] for i in order) + after
    out = redact(text)
    digits = "".join(c for c in phone if c.isdigit())
    assert digits[-11:] not in "".join(c for c in out if c.isdigit() or c == "*")
    assert idn not in out and SECRET not in out


@pytest.mark.parametrize("cls", ["Retryable", "Ambiguous", "Permanent", "RateLimited", "AuthExpired"])
def test_a_stored_error_message_is_clean(cls: str) -> None:
    from hub import errors
    from hub.queue.ledger import clean

    register_secret(SECRET)
    exc = getattr(errors, cls)(f"平台说：电话13800000001 身份证61092119900307123X token={SECRET}")
    stored = clean(str(exc)) or ""
    assert "13800000001" not in stored and "61092119900307123X" not in stored and SECRET not in stored
