"""Argument specs: each validator returns the normalised value or raises a ``bad_args`` ProtocolError that
names the argument (``args.t``) and what was expected."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .errors import E_BAD_ARGS, ProtocolError
from .participant import ANY_PATTERN, ParticipantCodeError, check_participant

_TAG_RE = re.compile(r"^[^\x00-\x1f]{1,64}$")
LABEL_MAX = 40
_LABEL_RE = re.compile(r"\w(?:[\w .'/-]{0,38}\w)?")  # 1..LABEL_MAX characters


@dataclass(frozen=True)
class Arg:
    """One named argument: ``check(value, where)`` returns the normalised value or raises ProtocolError."""

    check: Callable[[Any, str], Any]
    required: bool = False


def _bad(where: str, expected: str, got: Any) -> ProtocolError:
    shown = repr(got)
    if len(shown) > 40:
        shown = shown[:37] + "..."
    return ProtocolError(E_BAD_ARGS, f"{where}: expected {expected}, got {shown}")


def number(lo: float | None = None, hi: float | None = None, what: str = "a number") -> Callable:
    def check(v: Any, where: str) -> float:
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            raise _bad(where, what, v)
        if (lo is not None and v < lo) or (hi is not None and v > hi):
            rng = f"{what} in [{lo if lo is not None else '-inf'}, {hi if hi is not None else 'inf'}]"
            raise _bad(where, rng, v)
        return float(v)

    return check


def integer(lo: int | None = None, hi: int | None = None) -> Callable:
    def check(v: Any, where: str) -> int:
        if isinstance(v, bool) or not isinstance(v, int):
            raise _bad(where, "an integer", v)
        if (lo is not None and v < lo) or (hi is not None and v > hi):
            raise _bad(where, f"an integer in [{lo}, {hi}]", v)
        return v

    return check


def text(max_chars: int = 200, pattern: re.Pattern | None = None, what: str = "a string") -> Callable:
    def check(v: Any, where: str) -> str:
        if not isinstance(v, str) or not v or len(v) > max_chars:
            raise _bad(where, f"{what} of 1..{max_chars} characters", v)
        if pattern is not None and not pattern.match(v):
            raise _bad(where, what, v)
        return v

    return check


def boolean(v: Any, where: str) -> bool:
    if not isinstance(v, bool):
        raise _bad(where, "true or false", v)
    return v


def choice(*options: str) -> Callable:
    def check(v: Any, where: str) -> str:
        if v not in options:
            raise _bad(where, "one of " + ", ".join(options), v)
        return v

    return check


def tags(v: Any, where: str) -> list[str]:
    if not isinstance(v, list) or len(v) > 32:
        raise _bad(where, "a list of at most 32 tags", v)
    for i, t in enumerate(v):
        if not isinstance(t, str) or not _TAG_RE.match(t):
            raise _bad(f"{where}[{i}]", "a tag of 1..64 printable characters", t)
    return list(v)


def label(v: Any, where: str) -> str:
    """A site or cohort label (``session.start``): where and with whom a programme ran, never a person.
    1..40 letters, digits, spaces and . ' / - _, starting and ending with a letter or digit; no 7 digits in a
    row, spaces between them or not (a phone number is not a label), and no @ (nor an e-mail address)."""
    if not isinstance(v, str) or not _LABEL_RE.fullmatch(v) or re.search(r"(?:\d ?){7}", v):
        what = f"a label of 1..{LABEL_MAX} letters, digits, spaces, . ' / - _ (no phone number)"
        raise _bad(where, what, v)
    return v


def consent(v: Any, where: str) -> dict[str, Any]:
    """The consent record: ``given`` must be true; the rest describes how it was obtained."""
    if not isinstance(v, dict):
        raise _bad(where, 'an object like {"given": true, "method": "verbal"}', v)
    spec = {
        "given": Arg(boolean, required=True),
        "method": Arg(text(64)),
        "recorded_by": Arg(text(64)),
        "form_version": Arg(text(64)),
        "pose_capture": Arg(boolean),
        "note": Arg(text(1000)),
    }
    out = check_args(spec, v, where)
    if out["given"] is not True:
        raise ProtocolError(E_BAD_ARGS, f"{where}.given: a session needs recorded consent (given: true)")
    return out


def check_args(spec: Mapping[str, Arg], args: Any, where: str = "args") -> dict[str, Any]:
    """Validate ``args`` against ``spec``: unknown keys, missing required keys and bad values are errors."""
    if not isinstance(args, dict):
        raise _bad(where, "an object", args)
    for key in args:
        if key not in spec:
            known = ", ".join(sorted(spec)) or "none"
            raise ProtocolError(E_BAD_ARGS, f"{where}.{key}: unknown argument (known: {known})")
    out: dict[str, Any] = {}
    for key, arg in spec.items():
        if key in args:
            out[key] = arg.check(args[key], f"{where}.{key}")
        elif arg.required:
            raise ProtocolError(E_BAD_ARGS, f"{where}.{key}: missing required argument")
    return out


def participant_code(v: Any, where: str) -> str:
    """A participant code: the refusals every rule shares (:mod:`.participant`); the player then applies its
    programme's pattern, or the default one."""
    try:
        return check_participant(v, ANY_PATTERN)
    except ParticipantCodeError as exc:
        raise ProtocolError(E_BAD_ARGS, f"{where}: {exc}") from None


def json_object(v: Any, where: str) -> dict[str, Any]:
    """Any JSON object (its fields are checked by the handler that reads them)."""
    if not isinstance(v, dict):
        raise _bad(where, "an object", v)
    return v
