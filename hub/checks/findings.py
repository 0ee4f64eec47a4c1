"""What a pre-publish check reports: a place in the text and a fix."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: the kinds of finding, as stored and printed
KINDS = ("id_number", "mobile", "bank_card", "wrong_word", "sensitive_word", "link_malformed", "link_unknown_host",
         "issuer_missing", "link_dead")
PERSONAL_DATA = frozenset({"id_number", "mobile", "bank_card"})


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem found before publishing.

    ``line`` and ``column`` are 1-based, in the source text when the check was
    given one, else in the record's rendered text lines (``hub.checks.text.record_lines``).
    ``excerpt`` never carries personal data in clear: every ID number, mobile and
    card on the line is masked in it.
    """

    kind: str
    line: int | None
    column: int | None
    excerpt: str
    suggestion: str | None
    blocking: bool

    def to_json(self) -> dict[str, Any]:
        """The ``--json`` shape: {kind, line, column, excerpt, suggestion, blocking}."""
        return {"kind": self.kind, "line": self.line, "column": self.column, "excerpt": self.excerpt,
                "suggestion": self.suggestion, "blocking": self.blocking}
