"""A session recorded into an XDF file from the player's LSL streams and read back with pyxdf.

LabRecorder is not installed here; ``tests/xdf_recorder.py`` writes the documented XDF format from pylsl
inlets as LabRecorder does (stream headers, samples with their timestamps, clock offsets, footers). pyxdf,
the reader labs use, loads it with its clock synchronisation on: the events stream holds every event of the
session's log once (session, command, note, transport), each at the log's instant within 10 ms (one machine:
LSL's clock offset is about zero), and the frames stream the presented frames, media time advancing with the
timestamps at the film's rate.
"""

from __future__ import annotations

import json
import time

import pytest

from facilitator.group.rehearsal import REHEARSAL_FILM, Rehearsal, write_rehearsal_library
from tests.support import log_events, lsl_inlet, wait_for
from tests.xdf_recorder import XdfRecorder

pylsl = pytest.importorskip("pylsl")
pyxdf = pytest.importorskip("pyxdf")
pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]


def test_a_session_recorded_to_xdf_reads_back_with_pyxdf(tmp_path) -> None:
    manifest = write_rehearsal_library(tmp_path / "library", seconds=20)
    r = Rehearsal(tmp_path / "players", 1, manifest, eye_size="32x32", display_rate=10.0)
    xdf = tmp_path / "session.xdf"
    try:
        r.start(absent=("headset-1",))
        p = r.launch("headset-1", env={"VIEWPOINT_LSL": "1"})
        inlets = [lsl_inlet(f"viewpoint-headset-1-{k}") for k in ("events", "frames")]
        rec = XdfRecorder(xdf, inlets)
        client = r.clients()["headset-1"]
        # LSL delivers what is pushed once the inlet is connected: wait until a marker arrives
        deadline = time.monotonic() + 30
        while not rec.samples[1]:
            assert time.monotonic() < deadline, "the LSL events inlet received nothing in 30 s"
            client.request("annotate", {"text": "inlet connected?"})
            wait_for(lambda: rec.pull() or rec.samples[1], timeout=1.0)
        consent = {"given": True, "method": "verbal", "pose_capture": False}
        sid = client.request("session.start", {"participant": "XDF-303", "consent": consent})["session"]
        client.request("annotate", {"text": "asked for a break", "tags": ["distress"]})
        client.request("load", {"film": REHEARSAL_FILM, "play": True})
        wait_for(
            lambda: rec.pull() >= 0 and sum(1 for ts, v in rec.samples[2] if v[0] > 1.0) >= 8, timeout=30
        )
        client.request("session.end", {"reason": "done"})
        logged = wait_for(lambda: [e for e in log_events(p.log, sid) if e["type"] == "session.ended"] and
                          log_events(p.log, sid), timeout=30)  # fmt: skip
        last = max(e["seq"] for e in logged)

        def have_last() -> bool:
            rec.pull()
            return any(json.loads(v[0]).get("seq") == last and json.loads(v[0]).get("session") == sid
                       for _, v in rec.samples[1])  # fmt: skip

        assert wait_for(have_last, timeout=30)
        rec.close()
        client.close(bye=False)
    finally:
        r.stop()

    streams, header = pyxdf.load_xdf(str(xdf), synchronize_clocks=True, dejitter_timestamps=False)
    assert header["info"]["version"][0] == "1.0"
    by_name = {s["info"]["name"][0]: s for s in streams}
    assert set(by_name) == {"headset-1 events", "headset-1 frames"}
    events, frames = by_name["headset-1 events"], by_name["headset-1 frames"]
    assert events["info"]["type"][0] == "Markers" and frames["info"]["channel_format"][0] == "double64"
    assert int(events["footer"]["info"]["sample_count"][0]) == len(events["time_stamps"])
    assert len(events["clock_times"]) >= 2 and all(abs(v) < 0.005 for v in events["clock_values"])

    markers = [
        (json.loads(v[0]), ts) for v, ts in zip(events["time_series"], events["time_stamps"], strict=True)
    ]
    mine = {m["seq"]: (m, ts) for m, ts in markers if m["session"] == sid}
    assert len([m for m, _ in markers if m["session"] == sid]) == len(logged)  # each once
    for ev in logged:
        m, ts = mine[ev["seq"]]
        assert m["type"] == ev["type"] and m["data"] == ev["data"]
        assert abs(ts - ev["mono"]) < 0.010, (ev["type"], ts, ev["mono"])
    assert {"session.started", "annotation.added", "command", "transport.playing", "session.ended"} <= {
        m["type"] for m, _ in mine.values()
    }
    playing = [(row[0], ts) for row, ts in zip(frames["time_series"], frames["time_stamps"], strict=True)
               if row[0] > 0.05]  # fmt: skip
    top = max(m for m, _ in playing)  # paused (session ended) there: later frames repeat it
    playing = playing[: next(i for i, (m, _) in enumerate(playing) if m == top) + 1]
    (m0, t0), (m1, t1) = playing[0], playing[-1]
    assert len(playing) >= 8 and abs((m1 - m0) / (t1 - t0) - 1.0) < 0.05
