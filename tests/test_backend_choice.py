"""The backend interface and the play command's honest defaults, without a runtime: which backend and why,
no silent fall-back to headless, head scripts and snapshots refused where a backend cannot take them, the
layer and refresh-rate choices, the judder count, and the doctor's audio check on a real (null) device."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from player.backends import BACKENDS, Backend, BackendOptions, backend_class
from player.backends.openxr.capabilities import choose_layer, choose_refresh_rate, layer_paths
from player.backends.openxr.errors import XrSetupError
from player.cadence import Cadence
from player.cli import main

REPO = Path(__file__).resolve().parents[1]
EQ2, EQ1 = "XR_KHR_composition_layer_equirect2", "XR_KHR_composition_layer_equirect"


@pytest.fixture
def no_runtime(monkeypatch, tmp_path):
    """A machine with no active OpenXR runtime (the loader's manifest points nowhere)."""
    monkeypatch.setenv("XR_RUNTIME_JSON", str(tmp_path / "no-runtime.json"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_DIRS", str(tmp_path))


def play_args(manifest: Path, *extra: str) -> list[str]:
    return ["play", "--manifest", str(manifest), "--film", "calibration-mono", "--audio", "null", *extra]


# -- the interface -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(BACKENDS))
def test_every_backend_derives_from_the_base_and_is_made_from_options(name):
    cls = backend_class(name)
    assert issubclass(cls, Backend)
    for method in ("open", "begin_frame", "end_frame", "close", "from_options"):
        assert getattr(cls, method) is not getattr(Backend, method), f"{name} lacks {method}"
    backend = cls.from_options(BackendOptions(eye_size=(32, 32)))
    assert backend.name == name and isinstance(backend.describe(), dict)


def test_the_playback_loop_probes_no_backend_attribute():
    """Every optional capability has a default on Backend, so player/app.py never getattr()s the backend."""
    tree = ast.parse((REPO / "player" / "app.py").read_text(encoding="utf-8"))
    probes = [
        ast.unparse(node)
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and getattr(node.func, "id", "") in ("getattr", "hasattr")
        and "backend" in ast.unparse(node.args[0])
    ]
    assert probes == []


# -- honest defaults ---------------------------------------------------------------------------------------


def test_no_runtime_and_no_backend_asked_fails_with_the_doctors_message(sample_manifest, no_runtime, capsys):
    assert main(play_args(sample_manifest)) == 1
    err = capsys.readouterr().err
    assert "does not exist" in err or "No OpenXR runtime is installed" in err
    assert "fix: Install your headset's software" in err and "--backend desktop" in err
    assert "viewpoint-player: backend" not in err  # nothing chosen: never a silent fall-back to headless


def test_the_chosen_backend_is_named_with_the_reason(sample_manifest, capsys):
    args = play_args(sample_manifest, "--backend", "headless", "--eye-size", "32x32", "--duration", "0.2")
    code = main(args)
    assert code == 0
    assert "viewpoint-player: backend headless (asked for with --backend headless)" in capsys.readouterr().err


def test_openxr_refuses_a_head_script_and_equirect_snapshots(sample_manifest, tmp_path, no_runtime, capsys):
    script = tmp_path / "head.yaml"
    script.write_text("- {t: 0, heading: 90}\n", encoding="utf-8")
    code = main(play_args(sample_manifest, "--backend", "openxr", "--head-script", str(script)))
    assert code == 2
    assert "--head-script: the openxr backend takes the head pose from the headset" in capsys.readouterr().err
    out = tmp_path / "snaps"
    args = ["--backend", "openxr", "--layer", "equirect2", "--snapshot-at", "1", "--out", str(out)]
    code = main(play_args(sample_manifest, *args))
    assert code == 2
    assert "--snapshot-at cannot read back an equirect2 layer's eyes" in capsys.readouterr().err


def test_render_scale_is_an_option_with_a_range(sample_manifest, capsys):
    with pytest.raises(SystemExit):
        main(play_args(sample_manifest, "--render-scale", "5"))
    assert "--render-scale: '5': expected a scale, at least 0.1 and at most 2" in capsys.readouterr().err


def test_judder_is_counted_in_the_report(sample_manifest, tmp_path):
    """A 30 fps film on a 60 Hz display: every picture for 2 display frames; on 45 Hz it alternates 2, 1."""
    reports = {}
    for rate in ("60", "45"):
        report = tmp_path / f"r{rate}.json"
        args = ["--backend", "headless", "--eye-size", "32x32", "--display-rate", rate, "--duration", "1.5"]
        code = main(play_args(sample_manifest, *args, "--report", str(report)))
        assert code == 0
        reports[rate] = json.loads(report.read_text())["judder"]
    assert reports["60"]["pattern"] == 2 and reports["60"]["pictures"] > 20, reports["60"]
    assert reports["60"]["irregular"] <= reports["60"]["pictures"] // 4, reports["60"]
    assert reports["45"]["irregular"] >= reports["45"]["pictures"] // 3, reports["45"]


def test_cadence_ignores_runs_broken_by_a_pause():
    c = Cadence()
    frames = [(True, True), (False, True), (True, True), (False, True), (True, True), (False, False),
              (True, True), (True, True), (False, True), (False, True), (True, True)]  # fmt: skip
    for new, playing in frames:
        c.frame(new, playing)
    # runs 2, 2, then the pause drops the third; after it 1 (its start was seen) and 3
    assert c.report() == {"pictures": 4, "pattern": 2, "irregular": 2, "runs": {"1": 1, "2": 2, "3": 1}}


# -- layer and refresh-rate choices -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("extensions", "projection", "snapshots", "expected"),
    [
        ([EQ2, EQ1], "equirect360", False, "equirect2"),
        ([EQ1], "equirect360", False, "equirect"),  # the Meta PC runtime (Quest Link)
        ([EQ1], "equirect180", False, "projection"),  # v1 cannot narrow the sphere
        ([], "equirect360", False, "projection"),  # SteamVR, Virtual Desktop
        ([EQ2], "equirect360", True, "projection"),  # snapshots read the projection layer back
    ],
)
def test_auto_layer_by_capability(extensions, projection, snapshots, expected):
    assert choose_layer("auto", extensions, projection, snapshots).layer == expected


def test_explicit_layers_the_runtime_lacks_are_refused():
    with pytest.raises(XrSetupError, match=f"--layer equirect: the runtime does not offer {EQ1}"):
        choose_layer("equirect", [EQ2])
    with pytest.raises(XrSetupError, match="is not known"):
        choose_layer("cylinder", [EQ2])
    assert layer_paths([EQ2])["equirect2"] is None


@pytest.mark.parametrize(
    ("rates", "fps", "expected"),
    [
        ([72.0, 80.0, 90.0, 120.0], 30.0, 120.0),  # the highest whole multiple
        ([72.0, 90.0], 24.0, 72.0),
        ([72.0, 90.0], 60.0, 72.0),  # none whole: 72/60 = 1.2 repeats 1 picture in 5, 90/60 = 1.5 every other
        ([59.94, 90.0], 29.97, 59.94),  # 90/29.97 = 3.003 drifts a frame every 11 s
        ([], 30.0, None),
        ([90.0], None, None),
    ],
)
def test_refresh_rate_matching(rates, fps, expected):
    rate, reason = choose_refresh_rate(rates, fps)
    assert rate == expected, reason


# -- the doctor's audio check -----------------------------------------------------------------------------


def _doctor_audio(env: dict) -> dict:
    proc = subprocess.run(
        [sys.executable, "-m", "player.cli", "doctor", "--json"], capture_output=True, text=True,
        env={**os.environ, **env, "XR_RUNTIME_JSON": "/nonexistent.json"}, timeout=60,
    )  # fmt: skip
    report = json.loads(proc.stdout[proc.stdout.index("{") :])
    return next(c for c in report["checks"] if c["area"] == "audio")


def test_doctor_opens_the_audio_output_and_names_a_null_device(tmp_path):
    """ALSA's default device made the null PCM: the doctor opens it, plays silence, and says that it discards
    the sound (a non-blocking warning), where listing devices alone said audio was fine."""
    conf = tmp_path / "asound.conf"
    conf.write_text("pcm.!default {\n type null\n}\n", encoding="utf-8")
    check = _doctor_audio({"ALSA_CONFIG_PATH": str(conf)})
    assert not check["ok"] and not check["blocking"], check
    assert "null device" in check["summary"] and check["details"]["frames_played"] > 0


def test_doctor_says_when_no_audio_output_opens(tmp_path):
    conf = tmp_path / "asound.conf"
    conf.write_text("pcm.!default {\n type hw\n card 9\n}\n", encoding="utf-8")  # no such card
    check = _doctor_audio({"ALSA_CONFIG_PATH": str(conf)})
    assert not check["ok"] and "cannot open an audio output" in check["summary"], check


def test_the_documented_capabilities_are_the_base_class_ones():
    """docs/renderer.md's table of optional capabilities names exactly what Backend declares."""
    import re

    text = (REPO / "docs" / "renderer.md").read_text(encoding="utf-8")
    table = text[text.index("| capability | default |") : text.index("The registry is")]
    rows = [r for r in table.splitlines()[2:] if r.startswith("|")]
    documented = {m for row in rows for m in re.findall(r"`(\w+)", row.split("|")[1])}
    required = {"name", "open", "begin_frame", "end_frame", "close"}
    declared = {n for n in vars(Backend) if not n.startswith("_")} - required
    assert documented == declared


def test_the_documented_player_command_names_every_option():
    """docs/renderer.md's synopsis of `viewpoint-player play` and `qa` names every option the parser takes
    (an option added to the code and not to the docs fails here)."""
    import argparse
    import re

    from player.cli import build_parser

    text = (REPO / "docs" / "renderer.md").read_text(encoding="utf-8")
    synopsis = text[text.index("## `viewpoint-player`") :].split("```")[1]
    documented = set(re.findall(r"--[a-z][a-z-]*", synopsis))
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    for command in ("play", "qa"):
        options = {o for a in sub.choices[command]._actions for o in a.option_strings if o.startswith("--")}
        assert options - {"--help"} <= documented, f"{command}: not in docs/renderer.md"
