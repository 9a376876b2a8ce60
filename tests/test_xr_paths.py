"""The play command against a real runtime (Monado in the xr root): which backend and layer path it takes and
why, each layer path and its fall-back (the extension withheld with $VIEWPOINT_XR_WITHHOLD), snapshots read
back from the OpenXR swapchain, the refresh rate and the judder count in the report.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from content_manifest.sample import RED
from tests import test_xr
from tests.test_xr import run_in_root

xr_root, xr_library = test_xr.xr_root, test_xr.xr_library  # the same session fixtures: one root, one library

pytestmark = [pytest.mark.xr, pytest.mark.timeout(240)]

EQ2 = "XR_KHR_composition_layer_equirect2"
EQ1 = "XR_KHR_composition_layer_equirect"


def play(library: Path, tmp_path: Path, *options: str, withhold: str = "") -> tuple:
    """`viewpoint-player play` in the root (auto backend unless told); (process, report or None)."""
    report = tmp_path / "report.json"
    report.unlink(missing_ok=True)
    args = ["python", "-m", "player.cli", "play", "--manifest", str(library), "--film", "calibration-mono",
            "--render-scale", "0.3", "--duration", "0.8", "--audio", "null", "--report", str(report),
            *options]  # fmt: skip
    env = ["--env", f"VIEWPOINT_XR_WITHHOLD={withhold}"] if withhold else []
    proc = run_in_root([*args], [library.parent, tmp_path], extra=env)
    data = json.loads(report.read_text()) if report.exists() else None
    return proc, data


def test_auto_takes_the_headset_and_snapshots_come_from_the_swapchain(xr_root, xr_library, tmp_path):
    """No --backend: the runtime is active, so openxr, said with the reason; --snapshot-at makes auto take the
    projection layer, whose swapchain images are read back (the film's front, red, straight ahead)."""
    out = tmp_path / "snaps"
    proc, report = play(xr_library, tmp_path, "--snapshot-at", "0.3", "--out", str(out))
    err = proc.stderr
    assert proc.returncode == 0, err[-3000:]
    assert "viewpoint-player: backend openxr (an OpenXR runtime is active" in err
    assert "layer projection (auto: --snapshot-at reads the eyes back" in err
    assert report["result"] == "pass" and report["backend"] == "openxr", report["reasons"]
    assert report["output"]["layer"] == "projection" and report["output"]["reason"].startswith("an OpenXR")
    assert len(report["snapshots"]) == 2
    for eye in ("left", "right"):  # both eyes share one swapchain image, side by side
        image = np.asarray(Image.open(out / f"snap-0.300-{eye}.png").convert("RGB"))
        assert image.shape[0] > 16 and image.shape[1] > 16
        # the simulated head moves a little; the film's front disc (red) fills the middle of the view
        cy, cx = image.shape[0] // 2, image.shape[1] // 2
        centre = image[cy - 2 : cy + 2, cx - 2 : cx + 2].reshape(-1, 3)
        assert np.abs(centre.mean(axis=0) - np.array(RED)).max() < 60, (eye, centre[0])
    # refresh-rate matching and the judder count are in the report
    refresh = report["output"]["refresh_rate"]
    assert refresh["offered"] and refresh["chosen"] in refresh["offered"], refresh
    assert report["output"]["display_hz"] > 0
    judder = report["judder"]
    assert judder["pictures"] > 0 and judder["irregular"] >= 0


def test_equirect_snapshots_are_refused(xr_root, xr_library, tmp_path):
    """--layer equirect2 cannot read the eyes back (the compositor draws them): refused before playing."""
    proc, report = play(xr_library, tmp_path, "--layer", "equirect2", "--snapshot-at", "0.3", "--out",
                        str(tmp_path / "s"))  # fmt: skip
    assert proc.returncode == 2 and report is None
    assert "--snapshot-at cannot read back an equirect2 layer's eyes" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    ("layer", "withhold", "expected", "reason"),
    [
        ("auto", "", "equirect2", f"auto: the runtime offers {EQ2}"),
        ("auto", EQ2, "projection", "auto: no equirect layer"),
        ("projection", "", "projection", "asked for with --layer projection"),
        ("equirect2", "", "equirect2", "asked for with --layer equirect2"),
    ],
)
def test_layer_paths_and_fall_backs(xr_root, xr_library, tmp_path, layer, withhold, expected, reason):
    """auto picks equirect2 where offered; with equirect2 withheld (and Monado has no version 1) it falls back
    to the projection layer; each path plays the film to the duration and says which path and why."""
    proc, report = play(xr_library, tmp_path, "--layer", layer, withhold=withhold)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"layer {expected} ({reason}" in proc.stderr, proc.stderr[-2000:]
    assert report["output"]["layer"] == expected and report["result"] == "pass", report
    assert report["frames"]["displayed"] > 5


@pytest.mark.parametrize(("layer", "withhold", "missing"), [("equirect2", EQ2, EQ2), ("equirect", "", EQ1)])
def test_a_layer_the_runtime_lacks_is_refused_with_the_fix(xr_root, xr_library, tmp_path, layer, withhold,
                                                           missing):  # fmt: skip
    """Asking for a layer the runtime does not offer fails with what is missing and what to do (Monado 25 has
    no version 1 equirect layer, so that path is only ever refused here)."""
    proc, _ = play(xr_library, tmp_path, "--layer", layer, withhold=withhold)
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert f"--layer {layer}: the runtime does not offer {missing}" in proc.stderr
    assert "fix: Use --layer auto" in proc.stderr and "Traceback" not in proc.stderr


def test_equirect_version_1_runs_where_offered(xr_root, xr_library, tmp_path):
    """The version 1 layer (the Meta PC runtime's) needs a runtime that offers it."""
    check = run_in_root(["python", "-c", "import xr; print(*(e.extension_name.decode() for e in "
                         "xr.enumerate_instance_extension_properties()))"], [])  # fmt: skip
    if EQ1 not in check.stdout.split():
        pytest.skip(f"Monado 25 does not offer {EQ1} (the Meta PC runtime does): the v1 path is refused here")
    proc, report = play(xr_library, tmp_path, "--layer", "equirect")
    assert proc.returncode == 0 and report["output"]["layer"] == "equirect", proc.stderr[-2000:]


def test_doctor_says_which_path_films_take_with_equirect2_withheld(xr_root, xr_library):
    doctor = run_in_root(
        ["python", "-m", "player.cli", "doctor", "--no-audio", "--library", str(xr_library)],
        [xr_library.parent],
        extra=["--env", f"VIEWPOINT_XR_WITHHOLD={EQ2}"],
    )
    out = doctor.stdout
    assert doctor.returncode == 0, out[-3000:] + doctor.stderr[-2000:]
    assert "ok [capabilities] 360 films take the projection layer (auto: no equirect layer" in out
    assert f"equirect2 no: the runtime does not offer {EQ2}" in out
    assert "film calibration-mono: projection layer" in out
    assert "refresh rates: " in out and "user presence: no" in out
