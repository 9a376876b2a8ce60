"""The session thread's own events on the LSL events stream, each once, stamped when it happened.

A headless player with ``VIEWPOINT_LSL=1``: a consented session is started, a note pinned, edited, the
film played a moment, the session ended. Every event of that session in the player's SQLite log
(``session.started``, ``command``, ``annotation.*``, ``transport.*``, ``session.ended``...) arrives on the
events stream exactly once, with its session and sequence number, stamped (LSL's clock, the same steady
clock here) within 10 ms of the ``mono`` the log gives it. Read with a pylsl inlet, as LabRecorder reads it.
"""

from __future__ import annotations

import json
import time

import pytest

from facilitator.group.rehearsal import REHEARSAL_FILM, Rehearsal, write_rehearsal_library
from tests.support import log_events, wait_for

pylsl = pytest.importorskip("pylsl")
pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]


def test_session_events_commands_and_notes_on_the_lsl_events_stream(tmp_path) -> None:
    manifest = write_rehearsal_library(tmp_path / "library", seconds=20)
    r = Rehearsal(tmp_path / "players", 1, manifest, eye_size="32x32", display_rate=10.0)
    markers: list[tuple[dict, float]] = []
    try:
        r.start(absent=("headset-1",))
        p = r.launch("headset-1", env={"VIEWPOINT_LSL": "1"})
        found = pylsl.resolve_byprop("source_id", "viewpoint-headset-1-events", timeout=15)
        assert found, "no LSL events stream from headset-1"
        inlet = pylsl.StreamInlet(found[0], max_buflen=60)
        inlet.open_stream(timeout=10)
        # LSL delivers what is pushed once the inlet is connected: wait until a marker of ours arrives
        client = r.clients()["headset-1"]

        def pull() -> list[tuple[dict, float]]:
            samples, stamps = inlet.pull_chunk(timeout=0.2)
            markers.extend((json.loads(s[0]), t) for s, t in zip(samples, stamps, strict=True))
            return markers

        probe = client.request("annotate", {"text": "inlet connected?", "tags": ["probe"]})
        deadline = time.monotonic() + 30
        while not any(m["type"] == "annotation.added" and m["seq"] == probe["ref"] for m, _ in pull()):
            assert time.monotonic() < deadline, "the LSL inlet received nothing in 30 s"
            probe = client.request("annotate", {"text": "inlet connected?", "tags": ["probe"]})
        consent = {"given": True, "method": "verbal", "pose_capture": False}
        started = client.request("session.start", {"participant": "LSL-202", "consent": consent})
        sid = started["session"]
        note = client.request("annotate", {"text": "leaned back", "tags": ["engaged"]})
        client.request("annotation.edit", {"ref": note["ref"], "text": "leaned back, then smiled"})
        client.request("load", {"film": REHEARSAL_FILM, "play": True})
        wait_for(lambda: any(e["type"] == "transport.playing" for e in log_events(p.log, sid)))
        client.request("session.end", {"reason": "done"})
        logged = wait_for(lambda: [e for e in log_events(p.log, sid) if e["type"] == "session.ended"] and
                          log_events(p.log, sid), timeout=30)  # fmt: skip
        last = max(e["seq"] for e in logged)
        wait_for(lambda: any(m["session"] == sid and m["seq"] == last for m, _ in pull()), timeout=30)
        client.close(bye=False)
    finally:
        r.stop()

    mine = [(m, ts) for m, ts in markers if m["session"] == sid]
    by_seq: dict[int, list[tuple[dict, float]]] = {}
    for m, ts in mine:
        by_seq.setdefault(m["seq"], []).append((m, ts))
    types = {e["type"] for e in logged}
    assert {"session.started", "command", "annotation.added", "annotation.edited", "session.ended"} <= types
    for ev in logged:
        got = by_seq.get(ev["seq"])
        assert got is not None, f"{ev['type']} (seq {ev['seq']}) is not on the LSL events stream"
        assert len(got) == 1, f"{ev['type']} (seq {ev['seq']}) arrived {len(got)} times"
        m, ts = got[0]
        assert m["type"] == ev["type"] and m["data"] == ev["data"]
        assert abs(ts - ev["mono"]) < 0.010, (ev["type"], ts, ev["mono"])
    assert len(mine) == len(logged)
    notes = [m for m, _ in mine if m["type"] == "annotation.added"]
    assert [n["data"]["text"] for n in notes] == ["leaned back"]
    cmds = [m["data"]["cmd"] for m, _ in mine if m["type"] == "command"]
    assert "load" in cmds  # a playback command, logged by the session thread before it runs
