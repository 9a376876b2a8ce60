"""The session report: gaze geometry, heatmaps, folding events, the HTML, the film's picture, the CLI."""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pytest

from content_manifest.sample import read_frame_number
from facilitator.report import build_report, summarise
from facilitator.report.cli import main as report_main
from facilitator.report.frames import frame_at
from facilitator.report.heatmap import dwell_grid, heatmap_image
from facilitator.report.pose import film_heading_pitch, heading_pitch, to_uv


def yaw_q(deg_right: float) -> tuple[float, float, float, float]:
    """Head turned `deg_right` degrees to the right (about +Y; turning right is a negative rotation)."""
    a = math.radians(-deg_right) / 2
    return (0.0, math.sin(a), 0.0, math.cos(a))


def pitch_q(deg_up: float) -> tuple[float, float, float, float]:
    a = math.radians(deg_up) / 2
    return (math.sin(a), 0.0, 0.0, math.cos(a))


def test_heading_and_pitch_follow_the_conventions():
    assert heading_pitch((0, 0, 0, 1)) == pytest.approx((0.0, 0.0), abs=1e-9)
    assert heading_pitch(yaw_q(90))[0] == pytest.approx(90.0)
    assert heading_pitch(yaw_q(-45))[0] == pytest.approx(-45.0)
    assert heading_pitch(pitch_q(30))[1] == pytest.approx(30.0)
    # the film's front heading and a recentre shift where the gaze lands; result wraps to [-180, 180)
    assert film_heading_pitch(yaw_q(100), front_heading=90)[0] == pytest.approx(-170.0)


def test_picture_coordinates():
    assert to_uv(0, 0) == (0.5, 0.5)
    assert to_uv(90, 45) == (0.75, 0.25)
    assert to_uv(-180, -90) == (0.0, 1.0)
    assert to_uv(100, 0, "equirect180") is None
    assert to_uv(45, 0, "equirect180") == (0.75, 0.5)


def test_dwell_time_lands_where_the_viewer_looked_and_caps_gaps():
    samples = [(t * 0.1, 90.0, 0.0) for t in range(50)] + [(100.0, -90.0, 0.0)]
    grid = dwell_grid(samples, bins=(36, 18))
    # 49 intervals of 0.1 s at heading 90, one capped gap (0.5 s), and the last sample (0.1 s) at -90
    assert grid.sum() == pytest.approx(4.9 + 0.5 + 0.1)
    r, c = np.unravel_index(np.argmax(grid), grid.shape)
    assert (c + 0.5) / 36 == pytest.approx(0.75, abs=0.03) and (r + 0.5) / 18 == pytest.approx(0.5, abs=0.06)


def test_heatmap_is_hottest_at_the_gaze():
    img, secs = heatmap_image([(t * 0.05, 90.0, 30.0) for t in range(100)], None, size=(360, 180))
    assert secs == pytest.approx(5.0, abs=0.11)
    a = np.asarray(img).astype(int)
    heat = a[..., 0] - a[..., 2]  # the ramp is warm where hot; the plain grid is neutral grey
    r, c = np.unravel_index(np.argmax(heat), heat.shape)
    assert abs(c - 270) <= 6 and abs(r - 60) <= 6


def ev(seq, type, mono, media_t=0.0, **data):
    utc = f"2026-11-21T22:00:{int(mono):02d}.000Z"
    return {"v": 1, "session": "s-1", "seq": seq, "mono": mono, "utc": utc,
            "film": "calibration-mono", "media_t": media_t, "type": type, "data": data}  # fmt: skip


SESSION = [
    ev(
        1,
        "session.started",
        0,
        participant="P-7K3Q",
        facilitator="JB",
        consent={"given": True, "method": "verbal", "pose_capture": True},
    ),
    ev(2, "transport.loaded", 1, duration=6.0),
    ev(3, "transport.playing", 2),
    ev(4, "annotation.added", 3, 1.0, text="looked away", tags=["distress"], at=1.0),
    ev(5, "annotation.added", 4, 2.0, text="typo nite", tags=[], at=2.0),
    ev(6, "annotation.edited", 5, 2.1, ref=5, text="fixed note"),
    ev(7, "annotation.added", 6, 2.2, text="to delete", tags=[], at=2.2),
    ev(8, "annotation.deleted", 7, 2.3, ref=7),
    ev(9, "welfare.changed", 8, 3.0, level="stop", by="JB"),
    ev(10, "transport.paused", 8.1, 3.0),
    ev(11, "welfare.changed", 10, 3.0, level="none", by="JB"),
    ev(
        12,
        "annotation.added",
        11,
        3.0,
        text="Where is the green disc?",
        tags=["prompt", "look-around"],
        at=3.0,
    ),
    ev(13, "session.ended", 12, 3.0, reason="ended_by_facilitator"),
]


def test_summary_applies_edits_and_deletes_and_counts_time():
    s = summarise(SESSION)
    assert s.participant == "P-7K3Q" and s.facilitator == "JB"
    assert [(a.text, a.media_t) for a in s.notes] == [("looked away", 1.0), ("fixed note", 2.0)]
    assert [a.text for a in s.prompts_used] == ["Where is the green disc?"]
    assert [a.deleted for a in s.annotations] == [False, False, True, False]
    assert s.watched_s == pytest.approx(6.1)  # playing from mono 2 to the pause at 8.1
    assert s.pauses == 1 and len(s.welfare) == 2
    assert s.duration_s == pytest.approx(12.0)


def test_report_is_self_contained_and_shows_the_session(sample_library):
    film = sample_library.films["calibration-mono"]
    poses = [(20.0 + i * 0.05, i * 0.05, *yaw_q(90)) for i in range(100)]
    html = build_report(SESSION, film=film, poses=poses)
    assert "P-7K3Q" in html and "fixed note" in html and "looked away" in html
    assert "to delete" not in html and "1 note(s) deleted" in html
    assert "Welfare: STOP" in html and "Where is the green disc?" in html
    # self-contained: images inline, nothing fetched from anywhere
    assert not re.search(r'(src|href)="(?!data:|#)', html)
    assert html.count('src="data:image/jpeg;base64,') == 1 + len(film.chapters)
    assert "@media print" in html and "Orientation" in html


def test_a_report_without_pose_consent_draws_no_gaze_and_says_so(sample_library):
    """Issue 14: consent refused pose capture: no heatmap, even from samples that reached the report."""
    film = sample_library.films["calibration-mono"]
    refused = [dict(e) for e in SESSION]
    no_pose = {"given": True, "pose_capture": False}
    refused[0] = ev(1, "session.started", 0, participant="P-7K3Q", consent=no_pose)
    poses = [(20.0 + i * 0.05, i * 0.05, *yaw_q(90)) for i in range(100)]
    html = build_report(refused, film=film, poses=poses)
    assert "Not recorded: the viewer did not agree to pose capture." in html
    assert "data:image/jpeg;base64," not in html and "head tracking" not in html


def test_film_picture_at_a_time_is_that_frame(sample_library):
    film = sample_library.films["calibration-mono"]
    img = frame_at(film.path, 2.0, width=0)
    assert read_frame_number(np.asarray(img)) == 60
    tb = sample_library.films["calibration-tb"]
    left = frame_at(tb.path, 0.0, stereo="top-bottom", width=0)
    assert left.width == 2 * left.height  # one eye of a top-bottom film is 2:1


def test_report_cli_from_a_jsonl_export(tmp_path, sample_manifest, capsys):
    src = tmp_path / "s.jsonl"
    pose = {**ev(99, "pose", 2.5, 0.5), "data": {"q": list(yaw_q(-90))}}
    pose.pop("seq")
    pose["pseq"] = 1
    src.write_text("\n".join(json.dumps(e) for e in [*SESSION, pose]) + "\n", encoding="utf-8")
    out = tmp_path / "r.html"
    assert report_main([str(src), "-o", str(out), "--library", str(sample_manifest)]) == 0
    assert out.read_text(encoding="utf-8").count("data:image/jpeg") == 4
    assert str(out) in capsys.readouterr().out
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"type": "x"}\nnot json\n', encoding="utf-8")
    assert report_main([str(bad), "-o", str(out)]) == 2
    assert "bad.jsonl:2: not a JSON event" in capsys.readouterr().err
