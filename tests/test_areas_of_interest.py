"""Areas of interest (issue 15): declared per film in the manifest, checked at FILE:LINE:COL; whether, how
long and how soon a viewer looked, from real pose samples (the ±180 wrap included), against values worked out
here by hand; "not recorded" without pose consent; the session report's table."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from content_manifest import Area, check_manifest, load_library
from content_manifest.onepass import read_checked
from content_manifest.schema import LIBRARY, json_schema
from facilitator.report import FilmInfo, build_report, summarise
from facilitator.report.aoi import NOT_REACHED, NOT_RECORDED, Dwell, area_dwell, session_dwell
from tests.programme_sessions import quaternion

ROOT = Path(__file__).resolve().parent.parent
HEAD = """\
manifest_version: 1
films:
  - id: f
    title: F
    file: f.mp4
    sha256: "{sha}"
    projection: equirect360
    duration: 30
    areas:
""".format(sha="0" * 64)  # the areas start on line 10

GOOD = """\
      - id: door
        label: the child behind the door
        start: "00:12"
        end: "00:20"
        heading: [170, -170]
        pitch: [-10, 20]
      - id: window
        start: 1.5
        end: 4
        heading:
          - -180
          - 180
        pitch: [0, 90]
"""


def problems(tmp_path: Path, areas: str) -> list[str]:
    path = tmp_path / "m.yaml"
    path.write_text(HEAD + areas, encoding="utf-8")
    library, found = check_manifest(path, check_files=False)
    assert library is None
    return [str(p).replace(str(path), "M") for p in found if p.severity == "error"]


def test_areas_load_by_either_reader_with_the_same_values(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text(HEAD + GOOD, encoding="utf-8")
    assert read_checked(path.read_text(), LIBRARY) is not None  # the one-pass reader takes it
    door, window = load_library(path, check_files=False).films["f"].areas
    assert door == Area("door", 12.0, 20.0, (170.0, -170.0), (-10.0, 20.0), "the child behind the door")
    assert window == Area("window", 1.5, 4.0, (-180.0, 180.0), (0.0, 90.0))
    # the box wraps across 180: 170..180 and -180..-170, edges included, nothing else
    assert [door.contains(h, 0) for h in (170, 175, 180, -180, -175, -170)] == [True] * 6
    assert [door.contains(h, 0) for h in (169.9, -169.9, 0, 90, -90)] == [False] * 5
    assert not door.contains(175, 20.1) and door.contains(175, -10)
    assert all(window.contains(h, 45) for h in range(-180, 181, 15)) and not window.contains(0, -1)
    # read the careful way (a problem elsewhere makes the loader go back over it): the same areas
    careful = tmp_path / "c.yaml"
    careful.write_text(HEAD.replace("title: F", "title: F  # a comment") + GOOD, encoding="utf-8")
    assert load_library(careful, check_files=False).films["f"].areas == [door, window]


BAD = [
    ("        heading: [170, -170]", "        heading: [200, -170]",
     "M:14:19: films[0].areas[0].heading[0]: 200 is out of range (degrees, -180..180)"),
    ("        pitch: [-10, 20]", "        pitch: [-95, 20]",
     "M:15:17: films[0].areas[0].pitch[0]: -95 is out of range (degrees, -90..90)"),
    ("        heading: [170, -170]", "        heading: [170]",
     "M:14:18: films[0].areas[0].heading: 1 value where 2 belong ([from, to]: two headings)"),
    ("        heading: [170, -170]", "        heading: [1, 2, 3]",
     "M:14:18: films[0].areas[0].heading: 3 values where 2 belong ([from, to]: two headings)"),
    ("        heading: [170, -170]", "        heading: east",
     "M:14:18: films[0].areas[0].heading: expected a list, got 'east' ([from, to]: two headings)"),
    ("        pitch: [-10, 20]", "        pitch: [20, -10]",
     "M:15:16: films[0].areas[0].pitch: from 20 is above to -10 ([lower, upper]; only headings wrap)"),
    ("        heading: [170, -170]", "        heading: [30, 30]",
     "M:14:18: films[0].areas[0].heading: from and to are both 30: an empty box"),
    ('        end: "00:20"', '        end: "00:12"',
     "M:13:14: films[0].areas[0].end: ends at 00:12.000, not after its start 00:12.000"),
    ('        end: "00:20"', '        end: "00:31"',
     "M:13:14: films[0].areas[0].end: ends at 00:31.000, after the film ends (at most the duration 00:30"),
    ('        start: "00:12"', '        start: "1:75"',
     "M:12:16: films[0].areas[0].start: bad time '1:75'"),
    ("      - id: window", "      - id: door",
     "M:16:13: films[0].areas[1].id: duplicate area id 'door' (a unique id within the film; first at line"),
    ("      - id: window", "      - id: Window",
     "M:16:13: films[0].areas[1].id: 'Window' is not a slug"),
    ("        pitch: [-10, 20]\n", "        pitch: [-10, 20]\n        colour: red\n",
     "M:16:9: films[0].areas[0].colour: unknown key 'colour'"),
    ("        pitch: [-10, 20]\n", "",
     "M:10:9: films[0].areas[0].pitch: missing required key 'pitch'"),
]  # fmt: skip


@pytest.mark.parametrize(("old", "new", "expected"), BAD)
def test_each_bad_area_names_file_line_column_and_field(tmp_path: Path, old: str, new: str, expected: str):
    assert old in GOOD
    found = problems(tmp_path, GOOD.replace(old, new, 1))
    assert len(found) == 1 and found[0].startswith(expected), found


def test_every_problem_at_once_and_the_other_films_checks_still_run(tmp_path: Path) -> None:
    bad = GOOD.replace("[170, -170]", "[170]").replace("[0, 90]", "[90, 0]").replace("end: 4", "end: 1")
    found = problems(tmp_path, bad + "    safe_points: [99]\n")
    assert [f.split(": ")[1] for f in found] == [
        "films[0].areas[0].heading",
        "films[0].areas[1].end",
        "films[0].areas[1].pitch",
        "films[0].safe_points[0]",
    ], found


def test_the_json_schema_and_the_docs_say_what_the_checker_does(tmp_path: Path) -> None:
    area = json_schema()["properties"]["films"]["items"]["properties"]["areas"]["items"]
    assert area["required"] == ["id", "start", "end", "heading", "pitch"]
    assert area["additionalProperties"] is False
    heading = area["properties"]["heading"]
    assert (heading["minItems"], heading["maxItems"], heading["items"]["minimum"]) == (2, 2, -180)
    assert area["properties"]["pitch"]["items"]["maximum"] == 90
    text = (ROOT / "docs" / "manifest.md").read_text(encoding="utf-8")
    for words in ("## Areas of interest", "at most 0.5 s (the last one 0.1 s)", "**not recorded**"):
        assert words in " ".join(text.split()), words
    messages = re.findall(r"^library\.yaml:\d+:\d+: films\[0\]\.areas\[\d\]\.\w+: (.*)$", text, re.M)
    assert len(messages) == 3
    found = problems(tmp_path, GOOD.replace("[170, -170]", "[1, 2, 3]").replace("[0, 90]", "[20, -10]")
                     .replace("id: window", "id: door"))  # fmt: skip
    said = {f.split(": ", 2)[2] for f in found}
    for m in messages:
        assert m.replace("line 46", "line 10") in said, (m, said)


# --- looking: real pose samples placed with the session report's own code -------------------------------


def poses(path, t0: float, t1: float, hz: float = 10.0, mono0: float = 100.0) -> list[tuple[float, ...]]:
    """Samples (mono, media_t, x, y, z, w) from ``t0`` to before ``t1``; ``path(t)``: (heading, pitch)."""
    n = round((t1 - t0) * hz)
    return [(mono0 + k / hz, t0 + k / hz, *quaternion(*path(t0 + k / hz))) for k in range(n)]


def turning(t: float) -> tuple[float, float]:
    """Turning right at 10°/s from heading 150.5, level: the heading crosses 170 at t = 1.95 and 190 (-170)
    at t = 3.95, then 360 later at t = 37.95. No sample falls on an edge."""
    return (150.5 + 10.0 * t + 180.0) % 360.0 - 180.0, 5.0


DOOR = Area("door", 0.0, 10.0, (170.0, -170.0), (-10.0, 20.0), "the child behind the door")


def facts(d: Dwell) -> tuple:
    return (d.tracked_s, d.seconds, d.first_look_s, d.looked, d.status)


def gaze_of(samples: list[tuple[float, ...]], consent: dict | None = None) -> object:
    events = [{"session": "s", "seq": 1, "type": "session.started", "utc": "2026-12-01T10:00:00Z",
               "data": {"participant": "P-1", "consent": consent or {"pose_capture": True}}}]  # fmt: skip
    return summarise(events, samples)


def test_dwell_across_the_wrap_against_a_hand_worked_path() -> None:
    s = gaze_of(poses(turning, 0.0, 10.0))
    (d,) = session_dwell(s, [DOOR])
    # 10 Hz samples each hold 0.1 s; inside the box: the samples at 2.0, 2.1 ... 3.9 (the edges fall between
    # 1.9 and 2.0 and between 3.9 and 4.0): 20 samples = 2.0 s, the first 2.0 s after the area appeared
    assert facts(d) == (10.0, 2.0, 2.0, True, "looked")
    # the same path with the area shown only from 3.0 to 3.45: clipped to its time range
    (late,) = session_dwell(s, [Area("late", 3.0, 3.45, DOOR.heading, DOOR.pitch)])
    assert (late.tracked_s, late.seconds, late.first_look_s) == (0.45, 0.45, 0.0)
    # the box's complement (-170 .. 170 clockwise) holds the rest of the film's 10 s
    (rest,) = session_dwell(s, [Area("rest", 0.0, 10.0, (-170.0, 170.0), DOOR.pitch)])
    assert (rest.seconds, rest.first_look_s) == (8.0, 0.0)


def test_pauses_add_nothing_and_the_pitch_box_counts() -> None:
    paused = poses(turning, 0.0, 3.0) + [(130.0 + k / 10, 3.0, *quaternion(*turning(3.0))) for k in range(50)]
    paused += poses(turning, 3.1, 10.0, mono0=140.0)
    (d,) = session_dwell(gaze_of(paused), [DOOR])  # five seconds paused inside the box: not dwell
    assert (d.tracked_s, d.seconds, d.first_look_s) == (10.0, 2.0, 2.0)
    above = poses(lambda t: (turning(t)[0], 25.0), 0.0, 10.0)
    (d,) = session_dwell(gaze_of(above), [DOOR])
    assert facts(d) == (10.0, 0.0, None, False, "did not look")


def test_not_reached_and_not_recorded_are_not_zero() -> None:
    samples = poses(turning, 0.0, 10.0)
    later = Area("later", 20.0, 25.0, DOOR.heading, DOOR.pitch)
    _, never = session_dwell(gaze_of(samples), [DOOR, later])
    assert (never.tracked_s, never.looked, never.status) == (0.0, None, NOT_REACHED)
    for refused in (gaze_of(samples, {"given": True, "pose_capture": False}), gaze_of([])):
        (r,) = session_dwell(refused, [DOOR])
        assert facts(r) == (None, None, None, None, NOT_RECORDED)
    nan = [(float("nan"), 175.0, 0.0)]  # samples without a media time are not placed
    assert area_dwell(nan, [DOOR])[0].status == NOT_RECORDED


def report(samples: list[tuple[float, ...]], consent: dict | None = None, areas: list | None = None) -> str:
    consent = consent or {"given": True, "pose_capture": True}
    events = [
        {"session": "s-1", "seq": 1, "type": "session.started", "utc": "2026-12-01T10:00:00Z", "mono": 99.0,
         "data": {"participant": "P-7K3Q", "consent": consent}},
        {"session": "s-1", "seq": 2, "type": "transport.playing", "utc": "2026-12-01T10:00:01Z",
         "mono": 100.0, "film": "f", "media_t": 0.0, "data": {}},
        {"session": "s-1", "seq": 3, "type": "transport.ended", "utc": "2026-12-01T10:00:11Z",
         "mono": 110.0, "film": "f", "media_t": 10.0, "data": {}},
    ]  # fmt: skip
    later = Area("later", 20.0, 25.0, (40.0, 70.0), (-10.0, 20.0), "after the end")
    film = FilmInfo("f", "F", duration=30.0, areas=[DOOR, later] if areas is None else areas)
    return build_report(events, film=film, poses=samples)


def test_the_session_report_shows_the_table() -> None:
    page = report(poses(turning, 0.0, 10.0))
    table = page[page.index("<h2>Areas of interest</h2>") :]
    table = table[: table.index("</section>")]
    rows = re.findall(r"<tr>(.*?)</tr>", table)
    assert len(rows) == 3  # the head and one row per area, in the manifest's order
    cells = [re.sub(r"<[^>]+>", "", c) for c in re.findall(r"<td[^>]*>(.*?)</td>", rows[1])]
    assert cells == ["the child behind the door (door)", "00:00.000–00:10.000", "yes",
                     "2.0 s of 10.0 s watched", "2.0 s after it appeared"]  # fmt: skip
    assert "after the end <small>(later)</small>" in rows[2] and "<td>not reached</td>" in rows[2]
    refused = report(poses(turning, 0.0, 10.0), {"given": True, "pose_capture": False})
    table = refused[refused.index("<h2>Areas of interest</h2>") :]
    assert table.count("<td>not recorded</td>") == 2 and " s watched" not in table
    assert "Areas of interest" not in report(poses(turning, 0.0, 10.0), areas=[])  # the film names none


def test_dwell_rows_are_plain_json() -> None:
    from facilitator.report.aoi import dwell_rows

    rows = dwell_rows(session_dwell(gaze_of(poses(turning, 0.0, 10.0)), [DOOR]))
    assert json.loads(json.dumps(rows)) == [
        {"area": "door", "label": "the child behind the door", "start": 0.0, "end": 10.0, "status": "looked",
         "looked": True, "seconds": 2.0, "first_look_s": 2.0, "tracked_s": 10.0}
    ]  # fmt: skip


def test_the_reports_json_form_with_the_sample_librarys_areas(tmp_path, sample_manifest, capsys) -> None:
    from facilitator.report.cli import main as report_main

    def look(t: float) -> tuple[float, float]:  # the green disc 2-4.5 s, ahead, then the blue one behind
        return (90.0, 0.0) if 2.0 <= t < 4.5 else (180.0, 0.0) if t >= 5.0 else (0.0, 0.0)

    def export(consent: dict) -> Path:
        lines = [
            {"session": "s-1", "seq": 1, "type": "session.started", "utc": "2026-12-01T10:00:00Z",
             "mono": 99.0, "data": {"participant": "P-7K3Q", "consent": consent}},
            {"session": "s-1", "seq": 2, "type": "transport.playing", "utc": "2026-12-01T10:00:01Z",
             "mono": 100.0, "film": "calibration-mono", "media_t": 0.0, "data": {}},
        ]  # fmt: skip
        for mono, t, *q in poses(look, 0.0, 6.0):
            lines.append({"session": "s-1", "type": "pose", "mono": mono, "media_t": t, "data": {"q": q}})
        path = tmp_path / "s.jsonl"
        path.write_text("\n".join(json.dumps(x) for x in lines) + "\n", encoding="utf-8")
        return path

    args = ["--library", str(sample_manifest), "--json"]
    assert report_main([str(export({"given": True, "pose_capture": True})), *args]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert (figures["participant"], figures["head_tracking"]) == ("P-7K3Q", "recorded")
    got = {
        a["area"]: tuple(a[k] for k in ("tracked_s", "seconds", "first_look_s", "status"))
        for a in figures["areas"]
    }
    # green disc shown 2-4.5 s, looked at all of it; blue disc (behind, across 180) shown 0-6 s, looked 5-6 s
    assert got == {"green-disc": (2.5, 2.5, 0.0, "looked"), "blue-disc": (6.0, 1.0, 5.0, "looked")}
    assert report_main([str(export({"given": True, "pose_capture": False})), *args]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert figures["head_tracking"] == NOT_RECORDED
    assert [(a["status"], a["seconds"]) for a in figures["areas"]] == [(NOT_RECORDED, None)] * 2


def test_a_programme_store_with_the_earlier_aoi_table_is_named_not_misread(tmp_path: Path, capsys) -> None:
    import duckdb

    from facilitator.cli import main

    old = tmp_path / "old.duckdb"
    con = duckdb.connect(str(old))
    con.execute("CREATE TABLE aoi(session VARCHAR, film VARCHAR, area VARCHAR, seconds DOUBLE)")
    con.close()
    assert main(["programme", "report", "--db", str(old), "-o", str(tmp_path / "r.html")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "aoi has the columns (session, film, area, seconds) of an earlier" in err[0]


def test_without_a_duration_verify_media_checks_areas_against_the_file(
    tmp_path, sample_manifest, capsys
) -> None:
    from content_manifest.cli import main as manifest_main

    lib = tmp_path / "lib"
    lib.mkdir()
    for name in ("calibration-mono.mp4", "calibration.en.vtt"):
        (lib / name).symlink_to(sample_manifest.parent / name)
    text = sample_manifest.read_text(encoding="utf-8")
    mono = text[text.index("  - id: calibration-mono") : text.index("  - id: calibration-tb")]
    mono = mono.replace("    duration: 6\n", "").replace("        end: 6\n", "        end: 7.5\n")
    (lib / "manifest.yaml").write_text(
        text[: text.index("  - id: calibration-mono")] + mono, encoding="utf-8"
    )
    assert manifest_main(["check", str(lib / "manifest.yaml")]) == 0  # no duration: nothing to compare with
    assert manifest_main(["check", str(lib / "manifest.yaml"), "--verify-media"]) == 2
    out = capsys.readouterr().out
    assert "films[0].areas: area 'blue-disc' ends at 00:07.500, after the file ends" in out, out
