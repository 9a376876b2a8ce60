"""The one rule for participant codes, used by the player, the console (as JSON the page loads) and the CLI.

A code is pseudonymous: short segments of letters and digits joined by ``-`` (``P-017``, ``KQM-482``,
``P-7K3Q``), never more than three letters in a row. What looks like a name, an e-mail address, a phone
number or a date of birth is refused with the reason. A programme may set its own pattern
(``participant_pattern`` in its config); the refusals for e-mail, phone and dates still apply.
"""

from __future__ import annotations

import re
import secrets

MAX_CHARS = 32
DEFAULT_PATTERN = r"^[A-Za-z0-9]{1,8}(?:-[A-Za-z0-9]{1,8}){0,4}$"
EXAMPLE = "P-017"
_LETTERS = "ABCDEFGHJKMNPQRSTVWXYZ"  # no I, L, O, U: not mistaken for digits, no words
_DATE = re.compile(r"(19|20)\d\d|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}|\d{4}[-/.]\d{1,2}[-/.]\d{1,2}")
_NAME = re.compile(r"[A-Za-z]{4,}")


class ParticipantCodeError(ValueError):
    """A code that is not pseudonymous; the message says why."""


def check_participant(code: object, pattern: str | None = None) -> str:
    """``code`` if it is a pseudonymous participant code, else ParticipantCodeError saying why."""
    if not isinstance(code, str) or not code:
        raise ParticipantCodeError(f"expected a participant code like {EXAMPLE}")
    if len(code) > MAX_CHARS:
        raise ParticipantCodeError(f"at most {MAX_CHARS} characters")
    if code != code.strip() or any(c.isspace() for c in code):
        raise ParticipantCodeError("no spaces: a code is letters and digits joined by -")
    if "@" in code:
        raise ParticipantCodeError("looks like an e-mail address: use a code, never contact details")
    if sum(c.isdigit() for c in code) >= 7:
        raise ParticipantCodeError("looks like a phone number: at most 6 digits")
    if _DATE.search(code):
        raise ParticipantCodeError("looks like a date or a year of birth: use a code without dates")
    if _NAME.search(code):
        raise ParticipantCodeError("looks like a name: letters come in groups of at most 3 (like P-017)")
    if not re.fullmatch(pattern or DEFAULT_PATTERN, code):
        raise ParticipantCodeError(
            f"expected groups of up to 8 letters and digits joined by - (like {EXAMPLE})"
            if pattern is None
            else f"does not match this programme's pattern {pattern}"
        )
    return code


def new_participant_code() -> str:
    """A fresh code like ``KQM-482`` that passes :func:`check_participant`."""
    letters = "".join(secrets.choice(_LETTERS) for _ in range(3))
    return f"{letters}-{secrets.randbelow(900) + 100}"


def rule_json(pattern: str | None = None) -> dict[str, object]:
    """The rule as the console's page loads it (it checks as you type; the player decides)."""
    return {
        "pattern": pattern or DEFAULT_PATTERN,
        "max_chars": MAX_CHARS,
        "example": EXAMPLE,
        "refuse": {
            "email": "@",
            "phone_digits": 7,
            "date": _DATE.pattern,
            "name": _NAME.pattern,
        },
    }
