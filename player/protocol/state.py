"""The one state fold (the Clone pattern's state): the player's snapshot, the console, the report and the
console's page (as JSON, :func:`state_rules_json`) all fold events into state with these rules."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def initial_state() -> dict[str, Any]:
    return {
        "transport": None,
        "film": None,
        "media_t": None,
        "welfare": "none",
        "held": None,
        "chapter": None,
        "session": None,
        "participant": None,
        "warning": None,
        "volume": None,
        "muted": None,
        "rate": None,
        "facilitators": {},
    }


# transport.<state> events that are state changes (docs/transport.md); other transport.* kinds are notices
TRANSPORT_STATES = frozenset(
    ("idle", "loaded", "playing", "paused", "seeking", "buffering", "ended", "error", "closed")
)


def apply_event(state: dict[str, Any], event: Mapping[str, Any]) -> dict[str, Any]:
    """Fold one event into a clone-pattern state dict (in place; also returned).

    Only the fields listed in :func:`initial_state` are derived; everything else a console needs is in the
    events themselves. ``participant`` is not null exactly while a facilitated session runs.
    """
    kind = event.get("type", "")
    data = event.get("data") or {}
    state["session"] = event.get("session", state.get("session"))
    if event.get("film") is not None:
        state["film"] = event["film"]
    if event.get("media_t") is not None:
        state["media_t"] = event["media_t"]
    if kind.startswith("transport."):
        name = kind.split(".", 1)[1]
        # only state changes (docs/transport.md, States); notices (rate, volume, warning) and a non-fatal
        # error (the state is unchanged) leave the transport state alone
        fatal = not isinstance(data, dict) or data.get("fatal") is not False
        if name in TRANSPORT_STATES and (name != "error" or fatal):
            state["transport"] = name
    if kind == "transport.volume" and isinstance(data, dict):
        state["volume"] = data.get("volume", state.get("volume"))
        state["muted"] = data.get("muted", state.get("muted"))
    elif kind == "transport.rate" and isinstance(data, dict):
        state["rate"] = data.get("rate", state.get("rate"))
    elif kind == "welfare.changed" and isinstance(data, dict):
        state["welfare"] = data.get("level", state.get("welfare"))
    elif kind == "hold.changed" and isinstance(data, dict):
        state["held"] = data.get("reason") if data.get("held") else None
    elif kind == "chapter.entered" and isinstance(data, dict):
        state["chapter"] = data.get("id")
    elif kind == "content_warning.entered" and isinstance(data, dict):
        state["warning"] = data
    elif kind == "content_warning.exited":
        state["warning"] = None
    elif kind == "session.started" and isinstance(data, dict):
        state["participant"] = data.get("participant")
    elif kind == "session.ended":
        state["participant"] = None
    elif kind == "facilitator.connected" and isinstance(data, dict):
        state.setdefault("facilitators", {})[str(data.get("key", "?"))] = {**data, "alive": True}
    elif kind in ("facilitator.lost", "facilitator.left", "facilitator.revoked") and isinstance(data, dict):
        f = state.setdefault("facilitators", {}).get(str(data.get("key", "?")))
        if f is not None:
            f["alive"] = False
    return state


def state_rules_json() -> dict[str, Any]:
    """The fold's rules as the console's page loads them (its own fold of live events follows these)."""
    return {"initial": initial_state(), "transport_states": sorted(TRANSPORT_STATES)}
