"""Where a report's events come from: a JSONL export, a player's session log, or the facilitator's store.

Every reader returns (events, poses): event envelopes as dicts, in sequence order, and pose samples as tuples
(mono, media_t, x, y, z, w).
"""

from __future__ import annotations

import json
import sqlite3
import struct
from pathlib import Path
from typing import Any

Pose = tuple[float, ...]
_POSE = struct.Struct("<dd4f")  # the player's log format (player.session.log.POSE_STRUCT)


class SourceError(Exception):
    """The session's events could not be read (the message names the file and what was wrong)."""


def from_jsonl(path: Path | str, session: str | None = None) -> tuple[list[dict[str, Any]], list[Pose]]:
    """Events from a JSONL export (one envelope a line); pose lines become pose samples."""
    path = Path(path)
    events: list[dict[str, Any]] = []
    poses: list[Pose] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise SourceError(f"{path}: cannot read ({exc.strerror or exc})") from None
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            ev = json.loads(line)
        except ValueError as exc:
            raise SourceError(f"{path}:{n}: not a JSON event ({exc})") from None
        if not isinstance(ev, dict) or "type" not in ev:
            raise SourceError(f"{path}:{n}: expected an event object with a type")
        if session is not None and ev.get("session") != session:
            continue
        q = (ev.get("data") or {}).get("q")
        if ev["type"] == "pose" and isinstance(q, list) and len(q) == 4:
            mt = ev.get("media_t")
            poses.append(
                (float(ev.get("mono") or 0.0), float(mt) if mt is not None else float("nan"), *map(float, q))
            )
        else:
            events.append(ev)
    events.sort(key=lambda e: (str(e.get("session")), e.get("seq") or 0))
    return events, poses


def _open_ro(path: Path) -> sqlite3.Connection:
    if not path.is_file():
        raise SourceError(f"{path}: no such session log")
    try:
        return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=10.0)
    except sqlite3.Error as exc:
        raise SourceError(f"{path}: cannot open ({exc})") from None


def player_sessions(path: Path | str) -> list[dict[str, Any]]:
    """The facilitated sessions in a player's log, newest first."""
    db = _open_ro(Path(path))
    try:
        rows = db.execute(
            "SELECT id, participant, started_utc, ended_utc FROM sessions WHERE kind='facilitated' "
            "ORDER BY started_utc DESC, rowid DESC"
        ).fetchall()
    except sqlite3.Error as exc:
        raise SourceError(f"{path}: not a Viewpoint session log ({exc})") from None
    finally:
        db.close()
    return [dict(zip(("id", "participant", "started_utc", "ended_utc"), r)) for r in rows]


def from_player_log(path: Path | str, session: str | None = None) -> tuple[list[dict[str, Any]], list[Pose]]:
    """A session's events and poses from a player's SQLite log (the newest facilitated session by default)."""
    path = Path(path)
    if session is None:
        found = player_sessions(path)
        if not found:
            raise SourceError(f"{path}: no facilitated session in this log")
        session = found[0]["id"]
    db = _open_ro(path)
    try:
        events = [
            json.loads(r[0])
            for r in db.execute("SELECT json FROM events WHERE session=? ORDER BY seq", (session,))
        ]
        poses: list[Pose] = []
        for (blob,) in db.execute("SELECT samples FROM poses WHERE session=? ORDER BY pos", (session,)):
            poses.extend(_POSE.unpack_from(blob, i) for i in range(0, len(blob), _POSE.size))
    except sqlite3.Error as exc:
        raise SourceError(f"{path}: not a Viewpoint session log ({exc})") from None
    finally:
        db.close()
    if not events:
        raise SourceError(f"{path}: no events for session {session!r}")
    return events, poses


def from_store(path: Path | str | None, session: str | None) -> tuple[list[dict[str, Any]], list[Pose]]:
    """(events, poses) of a session in the facilitator's store (``None``: the newest facilitated one)."""
    from facilitator.client import FacilitatorHome
    from facilitator.store import FacilitatorStore, StoreError

    try:
        store = FacilitatorStore(path if path is not None else FacilitatorHome().store_path)
    except StoreError as exc:
        raise SourceError(str(exc)) from None
    try:
        sid = store.resolve(session or "latest")
        return store.events(sid), store.poses(sid)
    except StoreError as exc:
        raise SourceError(str(exc)) from None
    finally:
        store.close()
