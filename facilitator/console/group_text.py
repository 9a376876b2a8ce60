"""What the group page is told: which headset events alert it, and the one-line notices after a command."""

from __future__ import annotations

from typing import Any

from player import protocol as P


def viewer_alert(etype: str, data: dict[str, Any]) -> str | None:
    """What a group page must be told at once about one headset's event (None: nothing)."""
    if etype in ("viewer.break_request", "viewer.focus_lost", "viewer.headset_off"):
        return f"{P.event_label(etype).lower()} (this headset is held)"
    if etype == "viewer.focus_gained":
        return f"{P.event_label(etype).lower()} (still held until you resume it)"
    if etype == "transport.error":
        return f"playback error: {data.get('reason') or 'unknown'}"
    by = str(data.get("by") or "").lower()
    if etype == "welfare.changed" and by in ("viewer", "headset") and data.get("level") != "none":
        return f"welfare {data.get('level')} from the headset"
    return None


def brief(record: dict[str, Any]) -> dict[str, Any]:
    """A group command's record, without every player's full answer (the page shows the summary)."""
    acks = record.get("acks") or {}
    return {
        "cmd": record.get("cmd"),
        "media_t": record.get("media_t"),
        "lead_s": record.get("lead_s"),
        "epoch": record.get("epoch"),
        "accepted": sum(1 for a in acks.values() if isinstance(a, dict) and a.get("accepted")),
        "players": len(acks),
    }


def notice(cmd: str, args: dict[str, Any], result: dict[str, Any]) -> str | None:
    if cmd in ("play", "pause", "seek", "chapter"):
        return (
            f"group {cmd} at film {result.get('media_t', 0):.1f} s, {result.get('lead_s', 0) * 1000:.0f} ms "
            f"ahead: {result.get('accepted')} of {result.get('players')} headsets accepted"
        )
    if cmd == "welfare":
        return f"{result.get('player')}: welfare {result.get('action')} (this headset only)"
    if cmd == "stop_all":
        absent = result.get("absent") or []
        extra = f" (absent, stopped when it answers: {', '.join(absent)})" if absent else ""
        return "STOP on every headset, group paused" + extra
    if cmd == "rejoin":
        return f"{result.get('player')}: rejoining the group"
    if cmd == "start_sessions":
        return f"sessions started on {len(result.get('acks') or {})} headsets"
    if cmd == "end_sessions":
        return "sessions ended"
    if cmd == "load":
        failed = result.get("failed") or {}
        if failed:
            detail = "; ".join(f"{k}: {', '.join(v)}" for k, v in failed.items())
            return f"loaded {result.get('film')}; PRE-FLIGHT FAILED on {detail}"
        absent = result.get("absent") or []
        if absent:
            later = ", ".join(absent)
            return f"loaded {result.get('film')}; pre-flight passed; absent (loads when it answers): {later}"
        return f"loaded {result.get('film')} on every headset; pre-flight passed"
    if cmd == "resume_all":
        return f"RESUME ALL: {len(result.get('resumed') or [])} headsets back" + (
            ", the group plays on" if result.get("played") else ""
        )
    if cmd == "safe_point":
        return f"group skipped to the safe point at {result.get('to', 0):.1f} s"
    if cmd == "ack_warnings":
        return f"content warnings of {result.get('film')} read to the group"
    if cmd == "note":
        missed = result.get("missed") or {}
        who = result.get("player")
        where = f"note for {who}" if who else f"group note {result.get('id')}"
        extra = f"; not on {', '.join(sorted(missed))}" if missed else ""
        return f"{where} written on {len(result.get('delivered') or {})} headset(s){extra}"
    if cmd == "add":
        return f"{result.get('player')} added to the group (joins when it answers)"
    return None
