"""`viewpoint-player qa --backend openxr`: the same checks through a real runtime (Monado in the XR root)."""

from __future__ import annotations

import os
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from content_manifest.probe import sha256_file
from tests.qa_films import layout_film

pytestmark = [pytest.mark.xr, pytest.mark.timeout(300)]
XR_ROOT = Path(__file__).resolve().parent.parent / "scripts" / "xr-root.sh"


def _root() -> None:
    check = subprocess.run(["sh", str(XR_ROOT), "check"], capture_output=True, text=True)
    reason = check.stdout.strip() or check.stderr.strip()
    if check.returncode == 0:
        build = subprocess.run(["sh", str(XR_ROOT), "build"], capture_output=True, text=True, timeout=1200)
        if build.returncode == 0:
            return
        reason = build.stderr.strip()[-600:]
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true, so the OpenXR tests must run, but: {reason}")
    pytest.skip(f"cannot use the Monado root here: {reason}")


def test_qa_through_monado(sample_manifest, tmp_path):
    _root()
    lib = tmp_path / "lib"
    shutil.copytree(sample_manifest.parent, lib)
    tb = layout_film(lib / "tb.mp4", "equirect360", "top-bottom")
    manifest = lib / "manifest.yaml"
    manifest.write_text(
        manifest.read_text(encoding="utf-8")
        + f'  - id: tb-as-mono\n    title: T\n    file: tb.mp4\n    sha256: "{sha256_file(tb)}"\n'
        "    projection: equirect360\n    stereo: mono\n    audio: none\n",
        encoding="utf-8",
    )
    junit = tmp_path / "junit.xml"
    films = ["calibration-mono", "calibration-tb", "tb-as-mono"]
    args = ["python", "-m", "player.cli", "qa", "--manifest", str(manifest), "--backend", "openxr",
            "--films", *films, "--junit", str(junit), "--speed", "8"]  # fmt: skip
    cmd = ["sh", str(XR_ROOT), "run", "--compositor", "null", "--share", str(tmp_path), "--", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=240)
    assert junit.exists(), proc.stdout[-2000:] + proc.stderr[-2000:]
    cases = {c.get("name"): c for c in ET.parse(junit).getroot().findall("./testsuite/testcase")}
    assert proc.returncode == 1
    for name in ("calibration-mono", "calibration-tb"):
        assert cases[name].find("failure") is None, cases[name].find("failure").text
        assert '"backend": "openxr"' in cases[name].find("system-out").text
    failure = cases["tb-as-mono"].find("failure").text
    assert "top and bottom halves of the picture show the same scene" in failure
