"""The one rule for participant codes, used by the player, the console (as JSON the page loads) and the CLI.

A code is pseudonymous: short segments of letters and digits joined by ``-`` (``P-017``, ``KQM-482``,
``P-7K3Q``), never more than three letters in a row. What looks like a name, an e-mail address, a phone
number or a date of birth is refused with the reason. A programme may set its own pattern in
``participant-codes.yaml`` beside the film library's manifest (``pattern:`` a regular expression the whole
code must match, ``example:`` a code that passes); every refusal above still applies.
"""

from __future__ import annotations

import re
import secrets
from pathlib import Path

MAX_CHARS = 32
DEFAULT_PATTERN = r"^[A-Za-z0-9]{1,8}(?:-[A-Za-z0-9]{1,8}){0,4}$"
EXAMPLE = "P-017"
_LETTERS = "ABCDEFGHJKMNPQRSTVWXYZ"  # no I, L, O, U: not mistaken for digits, no words
# The refusals, as data both the player (here) and the console's page (rule_json) apply, in this order:
# (what it looks like, a regex found anywhere in the code, the reason given).
REFUSALS: tuple[tuple[str, str, str], ...] = (
    ("space", r"\s", "no spaces: a code is letters and digits joined by -"),
    ("email", r"@", "looks like an e-mail address: use a code, never contact details"),
    ("phone", r"(?:\d\D*){7}", "looks like a phone number: at most 6 digits"),
    (
        "date",
        r"(?:19|20)\d\d|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}",
        "looks like a date or a year of birth: use a code without dates",
    ),
    ("name", r"[A-Za-z]{4,}", "looks like a name: letters come in groups of at most 3 (like P-017)"),
)
_REFUSALS = tuple((re.compile(rx), why) for _, rx, why in REFUSALS)


class ParticipantCodeError(ValueError):
    """A code that is not pseudonymous; the message says why."""


def check_participant(code: object, pattern: str | None = None) -> str:
    """``code`` if it is a pseudonymous participant code, else ParticipantCodeError saying why."""
    if not isinstance(code, str) or not code:
        raise ParticipantCodeError(f"expected a participant code like {EXAMPLE}")
    if len(code) > MAX_CHARS:
        raise ParticipantCodeError(f"at most {MAX_CHARS} characters")
    for rx, why in _REFUSALS:
        if rx.search(code):
            raise ParticipantCodeError(why)
    if pattern == ANY_PATTERN:
        return code
    if not re.fullmatch(pattern or DEFAULT_PATTERN, code):
        raise ParticipantCodeError(
            f"expected groups of up to 8 letters and digits joined by - (like {EXAMPLE})"
            if pattern is None
            else f"does not match this programme's pattern {pattern}"
        )
    return code


ANY_PATTERN = "*"
"""``check_participant(code, ANY_PATTERN)``: only the refusals every rule shares (the command catalogue's
check; the player then applies its programme's pattern)."""
RULE_FILE = "participant-codes.yaml"


def load_rule(path: Path) -> tuple[str, str]:
    """A programme's rule from ``participant-codes.yaml``: ``pattern`` (a regular expression the whole code
    must match) and ``example`` (a code that passes); (pattern, example), or ValueError naming the file."""
    import yaml  # only a programme with its own rule needs it

    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        why = str(exc).splitlines()[0]
        raise ValueError(f"{path}: cannot read the participant code rule ({why})") from None
    if not isinstance(doc, dict) or set(doc) - {"pattern", "example"} or "pattern" not in doc:
        raise ValueError(f"{path}: expected pattern: REGEX and example: CODE (nothing else)")
    if not isinstance(doc["pattern"], str):
        raise ValueError(f"{path}: expected pattern: REGEX and example: CODE (nothing else)")
    pattern, example = doc["pattern"], doc.get("example")
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"{path}: pattern: not a regular expression ({exc})") from None
    try:
        check_participant(example, pattern)
    except ParticipantCodeError as exc:
        raise ValueError(f"{path}: example: {example!r} does not pass the rule ({exc})") from None
    return pattern, str(example)


def rule_beside(manifest: Path) -> tuple[str, str] | None:
    """The programme's rule in ``participant-codes.yaml`` beside the film library's manifest, if any."""
    folder = manifest if manifest.is_dir() else manifest.parent
    path = folder / RULE_FILE
    return load_rule(path) if path.is_file() else None


def new_participant_code() -> str:
    """A fresh code like ``KQM-482`` that passes :func:`check_participant`."""
    letters = "".join(secrets.choice(_LETTERS) for _ in range(3))
    return f"{letters}-{secrets.randbelow(900) + 100}"


def rule_json(pattern: str | None = None, example: str | None = None) -> dict[str, object]:
    """The rule as the console's page loads it (it checks as you type; the player decides)."""
    mismatch = (
        f"expected groups of up to 8 letters and digits joined by - (like {EXAMPLE})"
        if pattern is None
        else f"does not match this programme's pattern (like {example or '?'})"
    )
    return {
        "pattern": pattern or DEFAULT_PATTERN,
        "max_chars": MAX_CHARS,
        "example": example or EXAMPLE,
        "programme": pattern is not None,
        "refusals": [{"what": what, "regex": rx, "why": why} for what, rx, why in REFUSALS],
        "mismatch": mismatch,
    }
