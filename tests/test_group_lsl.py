"""The Lab Streaming Layer outlets of a real headless player, read with pylsl inlets as LabRecorder would.

A player started with ``VIEWPOINT_LSL=1`` offers three streams; the test resolves them on this machine,
starts a consented session (pose capture on), plays two seconds and checks what arrived against the player's
own session log: every event the player's controller logged arrives as a marker, stamped (on LSL's clock)
within 0.25 s of the instant the log gives it; presented frames arrive with media times that advance with
their timestamps at the film's rate; poses arrive for the frames while pose capture is consented.
"""

from __future__ import annotations

import json
import time

import pytest

from facilitator.group.rehearsal import REHEARSAL_FILM, Rehearsal, write_rehearsal_library
from tests.support import log_events, lsl_inlet, wait_for

pylsl = pytest.importorskip("pylsl")
pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]
# the events the player's controller emits (the session thread's own, session.*, command and annotation.*,
# are checked by tests/test_group_lsl_session.py)
PLAYER_EVENTS = ("transport.", "welfare.", "chapter.", "film.", "sync.", "viewer.", "content_warning.")


def _pull(inlet) -> list[tuple[list, float]]:
    """What the inlet holds now (frames keep coming while the player runs: stop at the present)."""
    out: list[tuple[list, float]] = []
    end = pylsl.local_clock()
    while True:
        samples, stamps = inlet.pull_chunk(timeout=0.5)
        if not samples or stamps[-1] > end:
            return out + [(s, t) for s, t in zip(samples, stamps, strict=True) if t <= end]
        out += list(zip(samples, stamps, strict=True))


def test_lsl_outlets_carry_events_frames_and_poses(tmp_path) -> None:
    manifest = write_rehearsal_library(tmp_path / "library", seconds=20)
    r = Rehearsal(tmp_path / "players", 1, manifest, eye_size="32x32", display_rate=10.0)
    try:
        r.start(absent=("headset-1",))
        p = r.launch("headset-1", env={"VIEWPOINT_LSL": "1"})
        events, frames, poses = (lsl_inlet(f"viewpoint-headset-1-{k}") for k in ("events", "frames", "pose"))
        time.sleep(1.0)  # LSL delivers what is pushed once an inlet is connected: let all three connect
        client = r.clients()["headset-1"]
        consent = {"given": True, "method": "verbal", "pose_capture": True}
        started = client.request("session.start", {"participant": "LSL-101", "consent": consent})
        client.request("load", {"film": REHEARSAL_FILM, "play": True})
        time.sleep(2.0)
        client.request("pause", {})
        wait_for(lambda: any(e["type"] == "transport.paused" for e in log_events(p.log, started["session"])))
        time.sleep(0.5)
        got_events, got_frames, got_poses = _pull(events), _pull(frames), _pull(poses)
        client.close(bye=False)
    finally:
        r.stop()

    logged = log_events(p.log, started["session"])
    markers = [(json.loads(s[0]), ts) for s, ts in got_events]
    played = [ev for ev in logged if ev["type"].startswith(PLAYER_EVENTS)]
    assert {"transport.playing", "transport.paused"} <= {ev["type"] for ev in played}
    for ev in played:
        match = [ts for m, ts in markers if m["type"] == ev["type"]]
        assert match, (ev["type"], [m["type"] for m, _ in markers], [e["type"] for e in played])
        assert min(abs(ts - ev["mono"]) for ts in match) < 0.25, (ev["type"], match, ev["mono"])
    top = max(s[0] for s, _ in got_frames)  # paused there: later frames repeat it
    playing = [(s, ts) for s, ts in got_frames if s[0] > 0.05]
    playing = playing[: next(i for i, (s, _) in enumerate(playing) if s[0] == top) + 1]
    assert len(playing) >= 10, got_frames[:5]
    (m0, t0), (m1, t1) = (playing[0][0][0], playing[0][1]), (playing[-1][0][0], playing[-1][1])
    assert abs((m1 - m0) / (t1 - t0) - 1.0) < 0.05  # media time advances with the stamps at the film's rate
    # the shown frame is the current one: its pts within a frame or so of the media time (either side)
    assert all(-0.1 < s[0] - s[1] < 0.5 for s, _ in playing), [s for s, _ in playing]
    assert len(got_poses) >= 10 and all(len(s) == 5 for s, _ in got_poses)
