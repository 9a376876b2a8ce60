"""Small helpers shared by several test modules (no tests here): log rows, condition waits."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest

from player.session.log import EventRow

T = TypeVar("T")


def event_row(
    session: str, seq: int, type: str = "x", data: dict | None = None, utc: str = "2026-01-01T00:00:00.000Z"
) -> EventRow:
    """A session-log row with its JSON envelope, as the player's log writer would make it."""
    data = data or {}
    env = {
        "v": 1,
        "session": session,
        "seq": seq,
        "mono": 1.0,
        "utc": utc,
        "film": None,
        "media_t": None,
        "type": type,
        "data": data,
    }
    return EventRow(session, seq, type, utc, 1.0, None, None, json.dumps(env), data)


def wait_for(pred: Callable[[], T], timeout: float = 20.0, step: float = 0.05) -> T:
    """Poll ``pred`` until it returns something truthy or ``timeout`` passes; returns its last value.

    Tests wait on conditions this way rather than sleeping a fixed time, with timeouts generous enough for a
    starved CI machine (a correct implementation returns long before; a broken one still fails).
    """
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return pred()


def member_status(m, since: float = 1e12) -> dict:
    """A group member's player's ``group.status``, asked on the member's own worker (a client's socket
    belongs to one thread); ``since`` later than any instant: the figures without history."""
    ask = lambda: m.client.request("group.status", {"since": since}, timeout=5.0)  # noqa: E731
    return m.submit(ask).result(30)


def group_landing(status: Callable[[float], dict], e: dict, after: float = 0.3) -> tuple[float, float] | None:
    """Where a player's group execution ``e`` (a ``sync.executed`` record) left its media clock, as
    (player instant, media time); None until known. Paused: ``mono_after``/``media_after``, measured right
    after acting. Playing: the player's first media-clock sample ``after`` seconds on (``status(since)`` is
    its ``group.status``), since a start that woke a little late lands on the clock only at the first block
    heard, skipped forward by its lateness, and ``media_after`` still shows the held position."""
    if not e["playing"]:
        return e["mono_after"], e["media_after"]
    samples = status(e["mono_after"] + after)["samples"]
    return (samples[0][0], samples[0][1]) if samples else None


# Commands the controller refuses, with the error code and a fragment the message must name: the same whether
# dispatched in the player (tests/test_control.py) or sent by a console over the wire (tests/test_session.py).
REFUSED_COMMANDS: list[tuple[str, dict, str, str | None]] = [
    ("seek", {"t": "soon"}, "bad_args", "args.t"),
    ("seek", {"t": 60}, "bad_args", "outside the film"),
    ("chapter", {"id": "missing"}, "no_chapter", "look-around"),
    ("fly", {}, "unknown_command", None),
    ("welfare", {"action": "panic"}, "bad_args", None),
]


def assert_refused(call: Callable[[str, dict], object], error: type[Exception]) -> None:
    """Each of REFUSED_COMMANDS, through ``call(cmd, args)``, raises ``error`` with its code and message."""
    for cmd, args, code, fragment in REFUSED_COMMANDS:
        with pytest.raises(error) as e:
            call(cmd, args)
        got = (getattr(e.value, "code", None), getattr(e.value, "message", ""))
        assert got[0] == code and (fragment is None or fragment in got[1]), (cmd, args, got)


def log_events(path: Path, session: str | None = None) -> list[dict]:
    """The event envelopes in a player's SQLite session log (only read; in log order, or one session's in
    sequence order); [] while the log or its table does not exist yet."""
    if not Path(path).exists():
        return []
    db = sqlite3.connect(path, timeout=5)
    try:
        if session is None:
            rows = db.execute("SELECT json FROM events ORDER BY pos").fetchall()
        else:
            rows = db.execute("SELECT json FROM events WHERE session=? ORDER BY seq", (session,)).fetchall()
    except sqlite3.OperationalError as exc:  # created but not yet initialised
        if "no such table" not in str(exc):
            raise
        return []
    finally:
        db.close()
    return [json.loads(r[0]) for r in rows]


def lsl_inlet(source_id: str):
    """An open pylsl inlet on the stream with ``source_id`` (found within 15 s, else the test fails)."""
    import pylsl

    found = pylsl.resolve_byprop("source_id", source_id, timeout=15)
    assert found, f"no LSL stream {source_id}"
    inlet = pylsl.StreamInlet(found[0], max_buflen=60)
    inlet.open_stream(timeout=10)
    return inlet
