"""viewpoint-player qa: every sample film passes, the JUnit XML is well formed, a broken film fails."""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET

from player.cli import main


def test_qa_sample_library_passes(sample_manifest, tmp_path):
    junit = tmp_path / "junit.xml"
    code = main(["qa", "--manifest", str(sample_manifest), "--films", "calibration-mono", "calibration-tb",
                 "--junit", str(junit), "--eye-size", "32x32", "--speed", "8"])  # fmt: skip
    root = ET.parse(junit).getroot()
    cases = root.findall("./testsuite/testcase")
    assert code == 0, [c.find("failure").text for c in cases if c.find("failure") is not None]
    assert [c.get("name") for c in cases] == ["calibration-mono", "calibration-tb"]
    assert all(c.find("failure") is None for c in cases)
    assert "projection" in cases[1].find("system-out").text


def test_qa_truncated_film_fails(sample_manifest, tmp_path):
    lib = tmp_path / "lib"
    shutil.copytree(sample_manifest.parent, lib)
    film = lib / "calibration-mono.mp4"
    data = film.read_bytes()
    film.write_bytes(data[: len(data) // 2])  # cut in half: the moov box is gone
    junit = tmp_path / "junit.xml"
    code = main(["qa", "--manifest", str(lib / "manifest.yaml"), "--films", "calibration-mono",
                 "--junit", str(junit), "--eye-size", "32x32", "--speed", "8"])  # fmt: skip
    assert code == 1
    failure = ET.parse(junit).getroot().find("./testsuite/testcase/failure")
    assert failure is not None and "calibration-mono" in failure.text


def test_frame_number_check_reads_the_rendered_picture(sample_library):
    import dataclasses

    from player.qa import check_frame_number
    from player.render import Renderer
    from player.render.egl import EGLContext
    from tests.render_helpers import decode_frames

    ctx = EGLContext()
    try:
        for film_id, stereo in (("calibration-mono", "mono"), ("calibration-tb", "top-bottom")):
            frame, _keep = decode_frames(sample_library.films[film_id].path, {37})[37]
            renderer = Renderer("equirect360", stereo, 0.0)
            renderer.upload(frame)
            assert check_frame_number(renderer, frame) is None
            wrong = dataclasses.replace(frame, index=38)
            assert "reads 37" in check_frame_number(renderer, wrong)
            renderer.close()
    finally:
        ctx.close()
