"""`viewpoint-player qa` on a library that is not the calibration set: every case of issue 17 gets its answer.

One library of tiny films made here (PyAV encodes; metadata written by this project's MP4 writer and by
MKVToolNix's mkvmerge), one qa run, one JUnit file: each film's case says what the issue expects.
"""

from __future__ import annotations

import os
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from content_manifest.probe import sha256_file
from content_manifest.spherical import inject_mp4
from player.cli import main
from tests.qa_films import layout_film, mkvmerge

ZERO = "0" * 64
RIGHT_FIRST = "    eye_order: right-first\n"


def _entry(film_id: str, file: str, sha: str, projection: str, stereo: str, extra: str = "") -> str:
    return (
        f'  - id: {film_id}\n    title: {film_id}\n    file: {file}\n    sha256: "{sha}"\n'
        f"    projection: {projection}\n    stereo: {stereo}\n    audio: none\n"
        f'    duration: "00:01.000"\n{extra}'
    )


@pytest.fixture(scope="module")
def qa_library(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("qa-library")
    mono = layout_film(d / "mono.mp4", "equirect360", "mono")
    tb = layout_film(d / "tb.mp4", "equirect360", "top-bottom")
    lr180 = layout_film(d / "lr180.mp4", "equirect180", "left-right")
    inject_mp4(lr180, "equirect180", "left-right")  # its own metadata says 180 left-right
    mono180 = layout_film(d / "mono180.mp4", "equirect180", "mono")
    shutil.copy(mono, d / "zero.mp4")
    damaged = d / "damaged.mp4"
    damaged.write_bytes(mono.read_bytes()[: mono.stat().st_size // 2])
    os.mkfifo(d / "fifo.mp4")
    os.symlink("/dev/zero", d / "zero-device.mp4")
    cubemap = ("--projection-type", "0:2", "--projection-private", "0:" + "00" * 12)  # cbmp: layout 0
    cube = mkvmerge(mono, d / "cube.mkv", *cubemap)
    mkv_mesh = mkvmerge(mono, d / "mesh.mkv", "--projection-type", "0:3")  # FFmpeg drops it: read by us
    eac = d / "eac.mp4"
    shutil.copy(mono, eac)
    inject_mp4(eac, "mesh", "mono")  # how YouTube stores its equi-angular cubemaps
    right = layout_film(d / "right-src.mp4", "equirect360", "top-bottom", eye_order="right-first")
    right = mkvmerge(right, d / "right-first.mkv", "--stereo-mode", "0:top_bottom_right_first")
    h444 = layout_film(d / "h444.mp4", "equirect360", "mono", pix_fmt="yuv444p")
    prores = layout_film(d / "prores.mov", "equirect360", "mono", codec="prores_ks", pix_fmt="yuv422p10le")
    sha = sha256_file
    films = [
        _entry("good-mono", "mono.mp4", sha(mono), "equirect360", "mono"),
        _entry("tb-as-mono", "tb.mp4", sha(tb), "equirect360", "mono"),
        _entry("lr180-as-360", "lr180.mp4", sha(lr180), "equirect360", "mono"),
        _entry("mono180-as-tb", "mono180.mp4", sha(mono180), "equirect360", "top-bottom"),
        _entry("missing", "gone.mp4", ZERO, "equirect360", "mono"),
        _entry("zero-hash", "zero.mp4", ZERO, "equirect360", "mono"),
        _entry("damaged", "damaged.mp4", ZERO, "equirect360", "mono"),
        _entry("fifo", "fifo.mp4", ZERO, "equirect360", "mono"),
        _entry("dev-zero", "zero-device.mp4", ZERO, "equirect360", "mono"),
        _entry("cubemap", "cube.mkv", sha(cube), "equirect360", "mono"),
        _entry("eac", "eac.mp4", sha(eac), "equirect360", "mono"),
        _entry("mkv-mesh", "mesh.mkv", sha(mkv_mesh), "equirect360", "mono"),
        _entry("right-first-as-left", "right-first.mkv", sha(right), "equirect360", "top-bottom"),
        _entry("right-first", "right-first.mkv", sha(right), "equirect360", "top-bottom", RIGHT_FIRST),
        _entry("h264-444", "h444.mp4", sha(h444), "equirect360", "mono"),
        _entry("prores-422-10", "prores.mov", sha(prores), "equirect360", "mono"),
    ]
    manifest = d / "manifest.yaml"
    manifest.write_text("manifest_version: 1\nfilms:\n" + "".join(films), encoding="utf-8")
    return manifest


@pytest.fixture(scope="module")
def verdict(qa_library, tmp_path_factory):
    junit = tmp_path_factory.mktemp("qa-out") / "junit.xml"
    code = main(["qa", "--manifest", str(qa_library), "--junit", str(junit), "--eye-size", "32x32",
                 "--speed", "8"])  # fmt: skip
    cases = {}
    for case in ET.parse(junit).getroot().findall("./testsuite/testcase"):
        failure = case.find("failure")
        err = case.find("system-err")
        cases[case.get("name")] = (
            failure.text if failure is not None else None,
            err.text if err is not None else "",
        )
    return code, cases


def test_every_film_gets_a_case_whatever_happens_to_the_others(verdict, qa_library):
    code, cases = verdict
    assert code == 1
    assert len(cases) == 16


@pytest.mark.parametrize(
    ("film", "expected"),
    [
        ("good-mono", None),
        ("h264-444", None),  # was refused at play: pixel format 'yuv444p' is not supported
        ("prores-422-10", None),
        ("right-first", None),
        ("tb-as-mono", "top and bottom halves of the picture show the same scene"),
        ("lr180-as-360", "the file's spherical metadata says equirect180, not equirect360"),
        ("lr180-as-360", "the file's stereo metadata says left-right, not mono"),
        ("lr180-as-360", "left and right halves of the picture show the same scene"),
        ("lr180-as-360", "the edges do not meet as a 360 picture's do"),
        ("mono180-as-tb", "top and bottom halves of the picture do not show the same scene"),
        ("mono180-as-tb", "the edges do not meet as a 360 picture's do"),
        ("missing", "file: 'gone.mp4' does not exist"),
        ("zero-hash", "sha256: the file's sha256 is"),
        ("damaged", "damaged.mp4"),
        ("fifo", "file: 'fifo.mp4' is a FIFO (named pipe)"),
        ("dev-zero", "is a link to a character device (/dev/zero)"),
        ("cubemap", "the file's spherical metadata says cubemap"),
        ("eac", "equi-angular cubemap, EAC"),
        ("mkv-mesh", "the file's spherical metadata says mesh projection"),
        ("right-first-as-left", "eye_order: the file's stereo metadata says right-first"),
    ],
)
def test_each_case_gives_its_answer(verdict, film, expected):
    failure, _ = verdict[1][film]
    if expected is None:
        assert failure is None, failure
    else:
        assert failure is not None and expected in failure, failure


def test_zero_hash_film_is_still_played(verdict):
    failure, _ = verdict[1]["zero-hash"]
    assert failure.count("\n") == 0  # only the hash: the film itself plays and its layout is right


def test_unreadable_manifest_still_writes_junit(tmp_path):
    manifest = tmp_path / "manifest.yaml"
    manifest.write_text("manifest_version: 1\nfilms: [\n", encoding="utf-8")
    junit = tmp_path / "out" / "junit.xml"
    assert main(["qa", "--manifest", str(manifest), "--junit", str(junit)]) == 2
    case = ET.parse(junit).getroot().find("./testsuite/testcase")
    assert case.get("name") == "manifest" and "YAML syntax error" in case.find("failure").text
    assert main(["qa", "--manifest", str(tmp_path / "none.yaml"), "--junit", str(junit)]) == 2
    assert "cannot read" in ET.parse(junit).getroot().find("./testsuite/testcase/failure").text


def test_unknown_film_is_a_failed_case_not_a_stop(qa_library, tmp_path):
    junit = tmp_path / "junit.xml"
    code = main(["qa", "--manifest", str(qa_library), "--films", "nope", "missing", "--junit", str(junit)])
    assert code == 1
    names = [c.get("name") for c in ET.parse(junit).getroot().findall("./testsuite/testcase")]
    assert names == ["nope", "missing"]


def test_docs_state_the_thresholds_the_code_uses():
    from content_manifest import layout
    from content_manifest.formats import PIXEL_FORMATS
    from content_manifest.nodes import ALIAS_LIMIT

    text = (Path(__file__).parent.parent / "docs" / "manifest.md").read_text(encoding="utf-8")
    doc = " ".join(text.split())
    assert (layout.ALIKE, layout.UNLIKE, layout.MAX_SHIFT, layout.SAMPLES) == (0.85, 0.6, 3, 5)
    assert (layout.SEAM_FACTOR, layout.SEAM_LEVELS, layout.ANALYSIS_WIDTH) == (3.0, 4.0, 256)
    for words in ("at least 0.85", "0.6", "3 columns of disparity", "five sampled", "256", "plus 4 levels",
                  "three times", f"{ALIAS_LIMIT:,}", "eye_order: left-first", "audio: none"):  # fmt: skip
        assert words in doc, words
    for name in PIXEL_FORMATS:
        assert name in doc or name.replace("420", "4xx").replace("422", "4xx").replace("444", "4xx") in doc


REFUSED = [("cubemap", "cubemap"), ("eac", "equi-angular cubemap, EAC"), ("mkv-mesh", "EAC")]


@pytest.mark.parametrize(("film", "name"), REFUSED)
def test_play_refuses_cubemap_and_eac_by_name(qa_library, film, name):
    import time

    from content_manifest import load_library
    from player.control import Controller

    c = Controller(load_library(qa_library, check_files=False), engine_options={"audio": "none"})
    events: list[tuple[str, dict]] = []
    c.set_sink(lambda kind, data: events.append((kind, data)))
    try:
        c.load(film, play=True)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not any(k == "transport.error" for k, _ in events):
            time.sleep(0.05)
    finally:
        c.close()
    errors = [d for k, d in events if k == "transport.error"]
    assert errors and errors[0]["reason"] == "unsupported_projection", events
    assert name in errors[0]["message"] and "equirectangular" in errors[0]["message"]


def test_a_wrong_entry_fails_its_own_case_only(qa_library, tmp_path):
    text = qa_library.read_text(encoding="utf-8")
    broken = tmp_path / "manifest.yaml"
    text = text.replace("file: gone.mp4", "file: ../../etc/passwd")  # film "missing": leaves the folder
    text = text.replace(
        "    projection: equirect360\n    stereo: mono\n", "    projection: cube\n    stereo: mono\n", 1
    )
    broken.write_text(text, encoding="utf-8")
    for name in ("mono.mp4", "h444.mp4"):
        shutil.copy(qa_library.parent / name, tmp_path / name)
    junit = tmp_path / "junit.xml"
    code = main(["qa", "--manifest", str(broken), "--films", "good-mono", "missing", "h264-444",
                 "--junit", str(junit), "--speed", "8"])  # fmt: skip
    assert code == 1
    cases = {
        c.get("name"): c.find("failure") for c in ET.parse(junit).getroot().findall("./testsuite/testcase")
    }
    assert list(cases) == ["good-mono", "missing", "h264-444"]
    assert "projection: unknown value 'cube'" in cases["good-mono"].text
    assert "'../../etc/passwd' leaves the library folder" in cases["missing"].text
    assert cases["h264-444"] is None


def test_interrupted_qa_still_writes_every_case(qa_library, tmp_path):
    import signal
    import subprocess
    import sys

    junit = tmp_path / "junit.xml"
    cmd = [sys.executable, "-m", "player.cli", "qa", "--manifest", str(qa_library), "--junit", str(junit),
           "--speed", "1", "--films", "good-mono", "h264-444", "prores-422-10", "right-first"]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, cwd=Path(__file__).parent.parent)
    first = proc.stdout.readline()  # the first film's verdict: the second is playing now
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=60)
    cases = ET.parse(junit).getroot().findall("./testsuite/testcase")
    assert first.startswith("PASS good-mono")
    assert [c.get("name") for c in cases] == ["good-mono", "h264-444", "prores-422-10", "right-first"]
    assert "not run: qa was interrupted" in cases[-1].find("failure").text
