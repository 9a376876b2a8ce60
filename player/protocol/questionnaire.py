"""The questionnaire a lead shows in the headset (``questionnaire.show``): its items, checked here, and the
answer each choice gives (the same values the console's participant view sends; docs/evaluation.md)."""

from __future__ import annotations

import re
from typing import Any

from .errors import E_BAD_ARGS, ProtocolError

PHASES = ("pre", "post", "follow_up")
HEADSET_KINDS = ("likert", "yes_no", "scale_0_10", "choice", "ssq")
"""Item kinds the headset panel answers; free ``text`` items are answered on the tablet only."""
MAX_ITEMS = 64
_ID = re.compile(r"[^\x00-\x1f]{1,64}\Z")
_KEYS = ("instrument", "item", "text", "kind", "labels", "title")


def _bad(where: str, message: str) -> ProtocolError:
    return ProtocolError(E_BAD_ARGS, f"{where}: {message}")


def _text(v: Any, where: str, limit: int) -> str:
    if not isinstance(v, str) or not v.strip() or len(v) > limit or "\x00" in v:
        raise _bad(where, f"expected text of 1..{limit} characters")
    return v


def _item(v: Any, where: str) -> dict[str, Any]:
    if not isinstance(v, dict):
        raise _bad(where, 'expected an object like {"instrument": "understanding", "item": "q1", ...}')
    for key in v:
        if key not in _KEYS:
            raise _bad(f"{where}.{key}", f"unknown field (known: {', '.join(_KEYS)})")
    out: dict[str, Any] = {}
    for key in ("instrument", "item"):
        value = v.get(key)
        if not isinstance(value, str) or not _ID.match(value):
            raise _bad(f"{where}.{key}", "expected an id of 1..64 printable characters")
        out[key] = value
    out["text"] = _text(v.get("text"), f"{where}.text", 500)
    kind = v.get("kind")
    if kind == "text":
        raise _bad(f"{where}.kind", "free text is answered on the tablet, not in the headset")
    if kind not in HEADSET_KINDS:
        raise _bad(f"{where}.kind", f"expected one of {', '.join(HEADSET_KINDS)}")
    out["kind"] = kind
    labels = v.get("labels", [])
    if not isinstance(labels, list) or len(labels) > 12:
        raise _bad(f"{where}.labels", "expected a list of at most 12 labels")
    out["labels"] = [_text(label, f"{where}.labels[{i}]", 80) for i, label in enumerate(labels)]
    need = {"likert": (5, 7), "ssq": (4,), "choice": tuple(range(2, 13))}.get(kind)
    if need is not None and len(labels) not in need:
        raise _bad(f"{where}.labels", f"a {kind} item takes {' or '.join(map(str, need))} labels")
    if "title" in v:
        out["title"] = _text(v["title"], f"{where}.title", 200)
    return out


def questionnaire_items(v: Any, where: str) -> list[dict[str, Any]]:
    """``args.items``: 1..64 items, each ``{instrument, item, text, kind, labels[, title]}`` (the console's
    ``/api/questionnaire`` rows), of a kind the headset answers."""
    if not isinstance(v, list) or not 1 <= len(v) <= MAX_ITEMS:
        raise _bad(where, f"expected a list of 1..{MAX_ITEMS} items")
    return [_item(item, f"{where}[{i}]") for i, item in enumerate(v)]


def choices(item: dict[str, Any]) -> list[tuple[str, Any]]:
    """(what the panel shows, the answer value) for each choice of an item, in order: likert 1..n, ssq 0..3,
    yes_no "yes"/"no", scale_0_10 0..10, choice its label (as the participant view answers)."""
    kind, labels = item["kind"], item.get("labels") or []
    if kind == "likert":
        return [(f"{i + 1} · {label}", i + 1) for i, label in enumerate(labels)]
    if kind == "ssq":
        return [(f"{i} · {label}", i) for i, label in enumerate(labels)]
    if kind == "yes_no":
        return [("Yes", "yes"), ("No", "no")]
    if kind == "scale_0_10":
        return [(str(i), i) for i in range(11)]
    return [(label, label) for label in labels]
