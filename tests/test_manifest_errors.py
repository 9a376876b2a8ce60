"""`viewpoint-manifest check`: each kind of bad input gets FILE:LINE:COL: path: message (expected)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from content_manifest import ManifestError, load_library
from content_manifest.cli import main

SHA = "0" * 64

VALID = """\
manifest_version: 1
title: Test library
films:
  - id: school-gate
    title: At the school gate
    file: film.mp4
    sha256: "{sha}"
    projection: equirect360
    stereo: mono
    front_heading: 0
    audio: stereo
    duration: "01:00.000"
    subtitles:
      en: film.en.vtt
    audience:
      min_age: 16
      guidance: For practitioners.
    chapters:
      - id: arrival
        start: "00:00.000"
        title: Arrival
        prompts: ["What do you notice?"]
      - id: argument
        start: "00:20.000"
        title: The argument
    content_warnings:
      - start: "00:25.000"
        end: "00:30.000"
        tags: [raised-voices]
        note: Shouting.
    safe_points: [0, "00:40.000"]
"""


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "film.mp4").write_bytes(b"not checked without --verify-media")
    (tmp_path / "film.en.vtt").write_text("WEBVTT\n\n00:01.000 --> 00:02.000\nHello\n")
    return tmp_path


def check(folder: Path, text: str, capsys, *extra: str) -> tuple[int, list[str], str]:
    manifest = folder / "manifest.yaml"
    manifest.write_text(text, encoding="utf-8")
    rc = main(["check", str(manifest), *extra])
    out, err = capsys.readouterr()
    return rc, out.splitlines(), err


def errors(lines: list[str]) -> list[str]:
    return [
        line for line in lines if ": warning: " not in line and not line.endswith("film(s), 0 warning(s)")
    ]


def one_error(folder: Path, text: str, capsys, *extra: str) -> str:
    rc, lines, err = check(folder, text, capsys, *extra)
    assert rc == 2, lines
    assert "invalid: 1 error(s)" in err
    found = errors(lines)
    assert len(found) == 1, found
    return found[0]


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_valid_manifest_exits_0(folder, capsys):
    rc, lines, _ = check(folder, VALID.format(sha=SHA), capsys)
    assert rc == 0
    assert lines[-1].endswith("valid: 1 film(s), 0 warning(s)")


def test_yaml_syntax_error_has_position(folder, capsys):
    text = VALID.format(sha=SHA).replace(
        'prompts: ["What do you notice?"]', 'prompts: ["What do you notice?"'
    )
    msg = one_error(folder, text, capsys)
    assert re.match(r".*manifest\.yaml:\d+:\d+: \(document\): YAML syntax error: .*\(valid YAML\)$", msg)


def test_bad_indentation_is_a_syntax_error(folder, capsys):
    text = VALID.format(sha=SHA).replace("    title: At the school gate", "   title: At the school gate")
    msg = one_error(folder, text, capsys)
    assert "YAML syntax error" in msg


@pytest.mark.parametrize(
    ("old", "new", "path", "message"),
    [
        (
            "front_heading: 0",
            "front_heading: north",
            "films[0].front_heading",
            "expected degrees, -360..360, got 'north' (degrees, -360..360)",
        ),
        ("front_heading: 0", "front_heading: 400", "films[0].front_heading", "400 is out of range"),
        ("    title: At the school gate", "    title: [a, b]", "films[0].title", "expected text, got a list"),
        (
            "      min_age: 16",
            "      min_age: sixteen",
            "films[0].audience.min_age",
            "expected an age in years",
        ),
        (
            '    safe_points: [0, "00:40.000"]',
            "    safe_points: 40",
            "films[0].safe_points",
            "expected a list",
        ),
        ("manifest_version: 1", "manifest_version: '1'", "manifest_version", "expected 1, got '1'"),
        (
            "projection: equirect360",
            "projection: equirect",
            "films[0].projection",
            "unknown value 'equirect' (did you mean 'equirect360'?)",
        ),
        ("stereo: mono", "stereo: over-under", "films[0].stereo", "unknown value 'over-under' (one of: mono"),
        ("audio: stereo", "audio: ambisonic", "films[0].audio", "unknown value 'ambisonic'"),
        ("id: school-gate", "id: School Gate", "films[0].id", "'School Gate' is not a slug"),
        (f'sha256: "{SHA}"', "sha256: abc123", "films[0].sha256", "'abc123' is not 64 hexadecimal digits"),
        (
            "      en: film.en.vtt",
            "      english: film.en.vtt",
            "films[0].subtitles.english",
            "bad key 'english' (a language tag",
        ),
        (
            "        tags: [raised-voices]",
            "        tags: raised-voices",
            "films[0].content_warnings[0].tags",
            "expected a list, got 'raised-voices'",
        ),
    ],
)
def test_wrong_types_and_values(folder, capsys, old, new, path, message):
    text = VALID.format(sha=SHA)
    assert old in text
    text = text.replace(old, new, 1)
    msg = one_error(folder, text, capsys)
    line = line_of(text, new)
    assert f":{line}:" in msg
    assert f": {path}: " in msg
    assert message in msg


def test_unknown_key_suggests_the_right_one(folder, capsys):
    text = VALID.format(sha=SHA).replace("    front_heading: 0", "    front_headng: 0")
    msg = one_error(folder, text, capsys)
    line = line_of(text, "front_headng")
    assert msg.endswith(
        f"manifest.yaml:{line}:5: films[0].front_headng: unknown key 'front_headng' "
        "(did you mean 'front_heading'?)"
    )


def test_unknown_key_without_a_close_match_lists_the_keys(folder, capsys):
    text = VALID.format(sha=SHA).replace("        note: Shouting.", "        note: Shouting.\n        zzz: 1")
    msg = one_error(folder, text, capsys)
    assert "films[0].content_warnings[0].zzz: unknown key 'zzz' (one of: start, end, tags, note)" in msg


def test_missing_required_key(folder, capsys):
    text = VALID.format(sha=SHA).replace("    projection: equirect360\n", "")
    msg = one_error(folder, text, capsys)
    assert (
        f":{line_of(text, '- id: school-gate')}:5: films[0].projection: missing required key 'projection'"
        in msg
    )


def test_duplicate_film_ids(folder, capsys):
    base = VALID.format(sha=SHA)
    film = base[base.index("  - id: school-gate") :]
    text = base + film.replace("title: At the school gate", "title: Again")
    msg = one_error(folder, text, capsys)
    second = [i for i, line in enumerate(text.splitlines(), 1) if "- id: school-gate" in line][1]
    assert (
        f":{second}:9: films[1].id: duplicate film id 'school-gate' (a unique id; first used at line 4)"
        in msg
    )


def test_duplicate_yaml_keys(folder, capsys):
    text = VALID.format(sha=SHA).replace("    audio: stereo\n", "    audio: stereo\n    audio: mono\n")
    msg = one_error(folder, text, capsys)
    line = line_of(text, "audio: mono")
    assert (
        f":{line}:5: films[0].audio: duplicate key 'audio' (each key once; first at line {line - 1})" in msg
    )


def test_duplicate_chapter_ids(folder, capsys):
    text = VALID.format(sha=SHA).replace("id: argument", "id: arrival")
    msg = one_error(folder, text, capsys)
    assert "films[0].chapters[1].id: duplicate chapter id 'arrival'" in msg


@pytest.mark.parametrize("bad", ["1:75", "00:61.000", "1h20m", "-5", "1:5"])
def test_bad_time_strings(folder, capsys, bad):
    text = VALID.format(sha=SHA).replace('start: "00:20.000"', f'start: "{bad}"')
    msg = one_error(folder, text, capsys)
    line = line_of(text, f'start: "{bad}"')
    assert msg.endswith(
        f":{line}:16: films[0].chapters[1].start: bad time '{bad}' (seconds, mm:ss.fff or hh:mm:ss.fff)"
    )


def test_all_time_forms_are_read(folder, capsys):
    text = (
        VALID.format(sha=SHA)
        .replace('start: "00:20.000"', "start: 00:00:20.5")
        .replace('safe_points: [0, "00:40.000"]', 'safe_points: [0, 40, 41.5, "00:42", 0:00:43.250]')
    )
    (folder / "manifest.yaml").write_text(text)
    film = load_library(folder / "manifest.yaml").films["school-gate"]
    assert film.chapters[1].start == 20.5
    assert film.chapters[0].end == 20.5 and film.chapters[1].end == 60.0
    assert film.safe_points == [0.0, 40.0, 41.5, 42.0, 43.25]


def test_chapter_outside_the_film(folder, capsys):
    text = VALID.format(sha=SHA).replace('start: "00:20.000"', 'start: "01:20.000"')
    msg = one_error(folder, text, capsys)
    assert (
        "films[0].chapters[1].start: starts at 01:20.000, at or after the film's end "
        "(a start before the duration 01:00.000)" in msg
    )


def test_warning_outside_the_film_and_backwards(folder, capsys):
    text = VALID.format(sha=SHA).replace('end: "00:30.000"', 'end: "01:30.000"')
    msg = one_error(folder, text, capsys)
    assert "films[0].content_warnings[0].end: ends at 01:30.000, after the film ends" in msg
    text = VALID.format(sha=SHA).replace('end: "00:30.000"', 'end: "00:24.000"')
    msg = one_error(folder, text, capsys)
    assert "films[0].content_warnings[0].end: ends at 00:24.000, not after its start 00:25.000" in msg


def test_safe_point_after_the_end(folder, capsys):
    text = VALID.format(sha=SHA).replace('safe_points: [0, "00:40.000"]', 'safe_points: [0, "02:00"]')
    msg = one_error(folder, text, capsys)
    assert "films[0].safe_points[1]: 02:00.000 is after the film ends" in msg


def test_unordered_chapters(folder, capsys):
    text = VALID.format(sha=SHA).replace('start: "00:20.000"', 'start: "00:00.000"')
    msg = one_error(folder, text, capsys)
    line = line_of(text, "id: argument") + 1
    assert f":{line}:16: films[0].chapters[1].start: starts at 00:00.000, not after chapter 'arrival'" in msg
    assert "(chapters in order of start, each starting later)" in msg


def test_overlapping_chapters(folder, capsys):
    text = VALID.format(sha=SHA).replace(
        "        title: Arrival\n", "        title: Arrival\n        end: 25\n"
    )
    msg = one_error(folder, text, capsys)
    assert (
        "films[0].chapters[0].end: ends at 00:25.000, overlapping chapter 'argument' (starts 00:20.000)"
        in msg
    )


def test_missing_files(folder, capsys):
    (folder / "film.mp4").unlink()
    (folder / "film.en.vtt").unlink()
    rc, lines, _ = check(folder, VALID.format(sha=SHA), capsys)
    assert rc == 2
    assert any("films[0].file: the film file 'film.mp4' does not exist" in x for x in lines)
    assert any("films[0].subtitles.en: the subtitle file 'film.en.vtt' does not exist" in x for x in lines)


def test_subtitles_must_be_webvtt(folder, capsys):
    (folder / "film.en.vtt").write_text("1\n00:00:01,000 --> 00:00:02,000\nSRT, not WebVTT\n")
    msg = one_error(folder, VALID.format(sha=SHA), capsys)
    assert "films[0].subtitles.en: 'film.en.vtt' is not a WebVTT file" in msg


def test_absolute_path_is_refused(folder, capsys):
    text = VALID.format(sha=SHA).replace("file: film.mp4", f"file: {(folder / 'film.mp4').as_posix()}")
    msg = one_error(folder, text, capsys)
    assert (
        "films[0].file: " in msg and "is an absolute path (a path relative to the manifest's folder)" in msg
    )


def test_windows_separators_work_everywhere(folder):
    (folder / "subs").mkdir()
    (folder / "film.en.vtt").rename(folder / "subs" / "film.en.vtt")
    text = VALID.format(sha=SHA).replace("en: film.en.vtt", "en: subs\\film.en.vtt")
    (folder / "manifest.yaml").write_text(text)
    film = load_library(folder / "manifest.yaml").films["school-gate"]
    assert film.subtitles["en"] == (folder / "subs" / "film.en.vtt").resolve()


def test_aspect_ratio_in_media_block_contradicts_stereo(folder, capsys):
    text = VALID.format(sha=SHA) + "    media: {width: 3840, height: 1920}\n"
    text = text.replace("stereo: mono", "stereo: top-bottom")
    msg = one_error(folder, text, capsys)
    assert "films[0].stereo: equirect360 top-bottom contradicts the picture's aspect ratio 3840x1920" in msg
    assert "fits equirect360 mono or equirect180 left-right" in msg


def test_aspect_problem_of_a_refused_stereo_value_points_at_the_projection(folder, capsys):
    text = VALID.format(sha=SHA) + "    media: {width: 1920, height: 1920}\n"
    text = text.replace("stereo: mono", "stereo: sideways")
    rc, lines, _ = check(folder, text, capsys)
    assert rc == 2
    found = errors(lines)
    assert len(found) == 2, found
    assert f":{line_of(text, 'stereo: sideways')}:13: films[0].stereo: unknown value 'sideways'" in found[1]
    # the refused value counts as not given: the picture is judged as mono, at the projection's place
    assert f":{line_of(text, 'projection:')}:17: films[0].stereo: equirect360 mono contradicts" in found[0]


def test_unsupported_version(folder, capsys):
    msg = one_error(
        folder, VALID.format(sha=SHA).replace("manifest_version: 1", "manifest_version: 2"), capsys
    )
    assert msg.endswith(":1:19: manifest_version: unsupported version 2 (1; this Viewpoint reads version 1)")


def test_empty_and_non_mapping_documents(folder, capsys):
    msg = one_error(folder, "# nothing here\n", capsys)
    assert ":1:1: (document): the manifest is empty" in msg
    msg = one_error(folder, "- just\n- a list\n", capsys)
    assert ":1:1: (root): expected a library (a mapping with manifest_version and films), got a list" in msg


def test_not_utf8(folder, capsys):
    manifest = folder / "manifest.yaml"
    manifest.write_bytes(b"manifest_version: 1\ntitle: \xff\xfe\nfilms: []\n")
    assert main(["check", str(manifest)]) == 2
    assert ":2:1: (document): the file is not UTF-8 text" in capsys.readouterr().out


def test_every_problem_is_reported_at_once_in_file_order(folder, capsys):
    text = (
        VALID.format(sha=SHA)
        .replace("front_heading: 0", "front_heading: east")
        .replace('start: "00:20.000"', 'start: "0:99"')
        .replace("tags: [raised-voices]", "tags: [raised-voices]\n        severity: high")
        .replace("    audio: stereo\n", "    audio: stereo\n    audio: mono\n")
    )
    rc, lines, err = check(folder, text, capsys)
    assert rc == 2
    found = errors(lines)
    assert len(found) == 4, found
    assert "invalid: 4 error(s)" in err
    numbers = [int(x.split(":")[1]) for x in found]
    assert numbers == sorted(numbers)


def test_could_not_run_exits_1(tmp_path, capsys):
    assert main(["check", str(tmp_path / "nope.yaml")]) == 1
    assert "cannot read" in capsys.readouterr().err


def test_load_library_raises_with_every_problem(folder):
    text = (
        VALID.format(sha=SHA)
        .replace("front_heading: 0", "front_heading: x")
        .replace("audio: stereo", "audio: 5")
    )
    (folder / "manifest.yaml").write_text(text)
    with pytest.raises(ManifestError) as e:
        load_library(folder / "manifest.yaml")
    assert len(e.value.problems) == 2
    assert "films[0].front_heading" in str(e.value) and "films[0].audio" in str(e.value)


# --- --verify-media -------------------------------------------------------------------------------------


@pytest.fixture
def media_folder(sample_manifest: Path, tmp_path: Path) -> Path:
    """A copy of the sample library to damage."""
    shutil.copytree(sample_manifest.parent, tmp_path, dirs_exist_ok=True)
    return tmp_path


def verify(folder: Path, capsys, text: str | None = None) -> tuple[int, list[str]]:
    manifest = folder / "manifest.yaml"
    if text is not None:
        manifest.write_text(text)
    rc = main(["check", str(manifest), "--verify-media"])
    return rc, capsys.readouterr().out.splitlines()


def test_sample_library_verifies(sample_manifest, capsys):
    assert main(["check", str(sample_manifest), "--verify-media"]) == 0
    assert capsys.readouterr().out.strip().endswith("valid: 3 film(s), media verified, 0 warning(s)")


def test_sha256_mismatch(media_folder, capsys):
    film = media_folder / "calibration-mono.mp4"
    data = bytearray(film.read_bytes())
    data[-5] ^= 0xFF  # still decodes (the end of the moov box's metadata), but not the same bytes
    film.write_bytes(bytes(data))
    rc, lines = verify(media_folder, capsys)
    assert rc == 2
    text = (media_folder / "manifest.yaml").read_text()
    line = line_of(text, "sha256:")
    assert any(f":{line}:13: films[0].sha256: the file's sha256 is" in x for x in lines), lines


def test_not_a_video(media_folder, capsys):
    (media_folder / "calibration-tb.mp4").write_text("hello, I am text\n")
    rc, lines = verify(media_folder, capsys)
    assert rc == 2
    assert any("films[1].file: 'calibration-tb.mp4': not a video file PyAV can open" in x for x in lines), (
        lines
    )


def test_truncated_files(media_folder, capsys):
    film = media_folder / "calibration-mono.mp4"
    film.write_bytes(film.read_bytes()[:20000])  # moov at the end: the index is gone
    rc, lines = verify(media_folder, capsys)
    assert rc == 2
    assert any("films[0].file: 'calibration-mono.mp4': not a video file PyAV can open" in x for x in lines)


def test_truncated_faststart_file_stops_early(media_folder, capsys):
    import av

    film = media_folder / "calibration-mono.mp4"
    fast = media_folder / "fast.mp4"
    with av.open(str(film)) as src, av.open(str(fast), "w", options={"movflags": "+faststart"}) as dst:
        streams = {s.index: dst.add_stream_from_template(s) for s in src.streams}
        for packet in src.demux():
            if packet.dts is not None:
                packet.stream = streams[packet.stream.index]
                dst.mux(packet)
    film.write_bytes(fast.read_bytes()[:30000])
    rc, lines = verify(media_folder, capsys)
    assert rc == 2
    want = "films[0].file: 'calibration-mono.mp4' is truncated or damaged: decoding failed at 00:0"
    assert any(want in x and "(a file that decodes from start to end)" in x for x in lines), lines


def test_spherical_metadata_contradicts_manifest(media_folder, capsys):
    text = (media_folder / "manifest.yaml").read_text()
    # the mono film is 2:1, which would also fit equirect180 left-right: only its metadata can tell
    first = text.index("projection: equirect360")
    text = text[:first] + "projection: equirect180" + text[first + len("projection: equirect360") :]
    first = text.index("stereo: mono")
    text = text[:first] + "stereo: left-right" + text[first + len("stereo: mono") :]
    rc, lines = verify(media_folder, capsys, text)
    assert rc == 2
    assert any(
        "films[0].projection: the file's spherical metadata says equirect360, not equirect180" in x
        for x in lines
    ), lines
    assert any("films[0].stereo: the file's stereo metadata says mono, not left-right" in x for x in lines)


def test_aspect_ratio_fallback_without_metadata(media_folder, sample_film_without_metadata, capsys):
    from content_manifest.probe import sha256_file

    film = media_folder / "calibration-tb.mp4"
    shutil.copy(sample_film_without_metadata, film)
    text = (media_folder / "manifest.yaml").read_text()
    old_sha = load_library(media_folder / "manifest.yaml").films["calibration-tb"].sha256
    text = text.replace(old_sha, sha256_file(film))
    rc, lines = verify(media_folder, capsys, text)
    assert rc == 0
    assert any("films[1].projection: warning: no spherical metadata in the file" in x for x in lines), lines
    wrong = text.replace("stereo: top-bottom", "stereo: mono").replace("height: 512", "height: 256")
    rc, lines = verify(media_folder, capsys, wrong)
    assert rc == 2
    assert any(
        "films[1].stereo: equirect360 mono contradicts the picture's aspect ratio 512x512" in x for x in lines
    ), lines


def test_audio_layout_must_match_channels(media_folder, capsys):
    text = (media_folder / "manifest.yaml").read_text().replace("audio: ambix-foa", "audio: stereo")
    rc, lines = verify(media_folder, capsys, text)
    assert rc == 2
    assert any(
        "films[2].audio: the file's audio has 4 channel(s) (4.0), not the 2 of stereo" in x for x in lines
    )


def test_duration_must_match(media_folder, capsys):
    text = (media_folder / "manifest.yaml").read_text().replace("duration: 6\n", "duration: 9\n", 1)
    rc, lines = verify(media_folder, capsys, text)
    assert rc == 2
    assert any("films[0].duration: the file is 00:06.000 long, not 00:09.000" in x for x in lines), lines


def test_times_checked_against_the_file_when_the_manifest_has_no_duration(media_folder, capsys):
    text = (media_folder / "manifest.yaml").read_text().replace("    duration: 6\n", "", 1)
    text = text.replace('safe_points: [0, 2, "00:04.500"]', 'safe_points: [0, 2, "00:08.500"]', 1)
    rc, lines = verify(media_folder, capsys, text)
    assert rc == 2
    assert any("films[0].safe_points: safe point 00:08.500 is after the file ends" in x for x in lines), lines


def test_json_report(folder, capsys):
    import json

    text = VALID.format(sha=SHA).replace("front_heading: 0", "front_heading: east")
    (folder / "manifest.yaml").write_text(text)
    assert main(["check", str(folder / "manifest.yaml"), "--json"]) == 2
    report = json.loads(capsys.readouterr().out)
    assert report["valid"] is False and report["films"] == []
    [problem] = report["problems"]
    assert problem["path"] == "films[0].front_heading" and problem["line"] == line_of(text, "front_heading")
    assert problem["severity"] == "error" and problem["expected"] == "degrees, -360..360"
    (folder / "manifest.yaml").write_text(VALID.format(sha=SHA))
    assert main(["check", str(folder / "manifest.yaml"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["films"] == ["school-gate"]
