"""OpenXR backend pieces that need no runtime: geometry, format choice, error wording, runtime discovery,
the doctor without a runtime, the XWD reader and the Monado remote-driver packet layout.

Not marked `xr`: these run in every `make test`; tests/test_xr.py holds the ones against a real runtime.
"""

from __future__ import annotations

import json
import math
import struct
import sys
from pathlib import Path

import numpy as np
import pytest

from player.backends.openxr import runtime_available
from player.backends.openxr.capabilities import LAYER_CHOICES
from player.backends.openxr.errors import XrSetupError, explain
from player.backends.openxr.graphics import gl_version_for, plan_graphics
from player.backends.openxr.runtime import runtime_library, runtime_manifest_path
from player.backends.openxr.spaces import quat_yaw, yaw_quat
from player.backends.openxr.swapchain import GL_RGBA8, GL_SRGB8, GL_SRGB8_ALPHA8, choose_format

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts" / "xr"))


@pytest.mark.parametrize("degrees", [0.0, 30.0, 90.0, -90.0, 179.0])
def test_yaw_round_trip(degrees):
    assert math.isclose(math.degrees(quat_yaw(yaw_quat(math.radians(degrees)))), degrees, abs_tol=1e-9)


def test_positive_yaw_turns_forward_to_the_left():
    x, y, z, w = yaw_quat(math.radians(90))
    forward_x = -(2 * (x * z + y * w))  # R * (0, 0, -1), x component
    assert math.isclose(forward_x, -1.0, abs_tol=1e-9)


def test_swapchain_format_prefers_srgb():
    assert choose_format([GL_RGBA8, GL_SRGB8_ALPHA8]) == (GL_SRGB8_ALPHA8, True)
    assert choose_format([GL_RGBA8, GL_SRGB8]) == (GL_SRGB8, True)
    assert choose_format([GL_RGBA8]) == (GL_RGBA8, False)
    with pytest.raises(XrSetupError, match="no colour format"):
        choose_format([0x1234])


def test_gl_version_is_at_least_3_3():
    assert gl_version_for((4 << 48) | (5 << 32)) == (4, 5)
    assert gl_version_for((3 << 48) | (0 << 32)) == (3, 3)


def test_graphics_choice(monkeypatch):
    with pytest.raises(XrSetupError, match="--graphics"):
        plan_graphics("vulkan")
    if sys.platform.startswith("linux"):
        monkeypatch.delenv("DISPLAY", raising=False)
        assert plan_graphics("auto") == "egl"
        monkeypatch.setenv("DISPLAY", ":0")
        assert plan_graphics("auto") == "glx"
    assert "equirect" in LAYER_CHOICES and "projection" in LAYER_CHOICES


def test_errors_are_plain_words():
    class RuntimeUnavailableError(Exception):
        pass

    class FormFactorUnavailableError(Exception):
        pass

    missing = explain(RuntimeUnavailableError(), "connecting")
    assert "No OpenXR runtime" in missing.problem and "SteamVR" in missing.fix
    no_headset = explain(FormFactorUnavailableError(), "looking for the headset")
    assert "sees no headset" in no_headset.problem and "switch it on" in no_headset.fix


def test_runtime_discovery_follows_xr_runtime_json(tmp_path, monkeypatch):
    manifest = tmp_path / "rt.json"
    manifest.write_text(
        json.dumps({"file_format_version": "1.0.0", "runtime": {"library_path": "./librt.so"}})
    )
    monkeypatch.setenv("XR_RUNTIME_JSON", str(manifest))
    assert runtime_manifest_path() == str(manifest)
    assert runtime_library(str(manifest)) == "./librt.so"
    assert runtime_available()
    monkeypatch.setenv("XR_RUNTIME_JSON", str(tmp_path / "missing.json"))
    assert not runtime_available()


def test_doctor_without_a_runtime_explains_and_fails(tmp_path, monkeypatch, capsys):
    from player import doctor

    monkeypatch.setenv("XR_RUNTIME_JSON", str(tmp_path / "none.json"))
    assert doctor.main(["--no-audio"]) == 1
    out = capsys.readouterr().out
    assert "XX [runtime]" in out and "fix:" in out and "Traceback" not in out


def test_doctor_checks_films(sample_manifest, tmp_path, monkeypatch, capsys):
    from player import doctor

    monkeypatch.setenv("XR_RUNTIME_JSON", str(tmp_path / "none.json"))
    report = doctor.run(sample_manifest, audio=False)
    films = [c for c in report.checks if c.area == "films"]
    assert len(films) == 3 and all(c.ok for c in films)
    broken = tmp_path / "lib"
    broken.mkdir()
    text = sample_manifest.read_text()
    (broken / "manifest.yaml").write_text(text)
    for name in ("calibration-mono.mp4", "calibration-foa.mp4"):
        (broken / name).write_bytes((sample_manifest.parent / name).read_bytes())
    (broken / "calibration-tb.mp4").write_bytes(b"not a film")
    (broken / "calibration.en.vtt").write_bytes((sample_manifest.parent / "calibration.en.vtt").read_bytes())
    report = doctor.run(broken / "manifest.yaml", audio=False)
    bad = [c for c in report.checks if c.area == "films" and not c.ok]
    assert bad and all(c.fix for c in bad) and report.blocked


def test_xwd_reader(tmp_path):
    from xwd import read_xwd

    w, h = 4, 2
    header = [
        100 + 8,
        7,
        2,
        24,
        w,
        h,
        0,
        0,
        32,
        0,
        32,
        32,
        w * 4,
        4,
        0xFF0000,
        0xFF00,
        0xFF,
        8,
        256,
        0,
        w,
        h,
        0,
        0,
        0,
    ]
    pixels = np.zeros((h, w), dtype="<u4")
    pixels[0, 1] = 0x00FF0000  # red
    pixels[1, 2] = 0x000000FF  # blue
    path = tmp_path / "s.xwd"
    path.write_bytes(struct.pack(">25I", *header) + b"screen\x00\x00" + pixels.tobytes())
    img = read_xwd(path)
    assert img.shape == (h, w, 3)
    assert img[0, 1].tolist() == [255, 0, 0] and img[1, 2].tolist() == [0, 0, 255] and img[0, 0].sum() == 0


def test_monado_remote_packet_layout():
    import monado_remote as m

    assert m.HEAD.size == 128 and m.CONTROLLER.size == 120 and m.PACKET_SIZE == 376
    q = m.yaw_pitch_quat(90.0)
    assert math.isclose(math.degrees(quat_yaw(q)), -90.0, abs_tol=1e-6)  # heading 90 (right) = yaw -90


def test_layer_choice_follows_the_runtime():
    from player.backends.openxr.backend import OpenXRBackend
    from player.backends.openxr.capabilities import choose_layer

    eq2 = "XR_KHR_composition_layer_equirect2"
    assert choose_layer("auto", ["XR_KHR_opengl_enable", eq2]).layer == "equirect2"
    assert choose_layer("auto", ["XR_KHR_opengl_enable"]).layer == "projection"
    with pytest.raises(XrSetupError, match="equirect2"):
        choose_layer("equirect2", ["XR_KHR_opengl_enable"])
    assert choose_layer("projection", [eq2]).layer == "projection"
    with pytest.raises(XrSetupError, match="--layer"):
        OpenXRBackend(layer="cube")


def test_overlay_visibility_matches_the_renderer():
    from player.backends.openxr.film import overlay_visible as _overlay_visible
    from player.render.overlay import OverlayState

    assert not _overlay_visible(OverlayState())
    assert _overlay_visible(OverlayState(paused=True, pause_alpha=1.0))
    assert _overlay_visible(OverlayState(subtitle="Hello", subtitle_alpha=0.5))
    assert not _overlay_visible(OverlayState(subtitle="Hello", subtitle_alpha=0.0))


def test_graphics_fixes_name_only_bindings_that_exist_on_the_platform():
    from player.backends.openxr.errors import other_bindings

    assert "egl" not in other_bindings("win32") and "glx" not in other_bindings("win32")
    assert "--graphics egl" in other_bindings("linux")


def test_per_frame_calls_answer_ints_and_failures_keep_pyopenxrs_exceptions():
    """The per-frame entry points (calls.py) answer the plain XrResult; a failure becomes the exception
    pyopenxr raises for it (the backend recognises a lost runtime by its class name), an unknown code too,
    and pyopenxr's own function objects are left as they were."""
    import xr

    from player.backends.openxr.backend import LOST_ERRORS
    from player.backends.openxr.calls import failure, int_call

    fn = int_call("xrEndFrame")
    assert fn is not xr.raw_functions.xrEndFrame and xr.raw_functions.xrEndFrame.restype is xr.Result
    assert fn.argtypes == xr.raw_functions.xrEndFrame.argtypes
    assert type(failure(int(xr.Result.ERROR_RUNTIME_FAILURE))).__name__ in LOST_ERRORS
    assert type(failure(int(xr.Result.ERROR_SESSION_LOST))).__name__ in LOST_ERRORS
    unknown = failure(-987654)
    assert isinstance(unknown, xr.exception.ErrorResult) and "-987654" in str(unknown)
