"""The OpenXR backend against a real runtime: Monado 25 (simulated headset) in the sandboxed trixie root.

Every test runs the real player (Controller + PlaybackLoop + OpenXRBackend + Renderer + MediaEngine) inside
the root built by scripts/xr-root.sh, with monado-service running. Input is real: Monado's remote driver turns
the head and presses Index-controller buttons, which reach the player through OpenXR actions. With the XCB
compositor, Monado draws into an Xvfb window and the screen shows what the headset would show.

Where the root cannot be built or entered (not root, no chroot/debootstrap/unshare) the tests skip with the
reason, except with CI=true, where they fail: CI must never silently skip them.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
from pathlib import Path

import pytest

from content_manifest.sample import BLACK, BLUE, CYAN, DISCS, GREEN, RED, WHITE, YELLOW

pytestmark = [pytest.mark.xr, pytest.mark.timeout(240)]

REPO = Path(__file__).resolve().parents[1]
XR_ROOT = REPO / "scripts" / "xr-root.sh"
IN_CI = os.environ.get("CI", "").lower() == "true"
COLOURS = {
    "red": RED,
    "green": GREEN,
    "blue": BLUE,
    "yellow": YELLOW,
    "cyan": CYAN,
    "white": WHITE,
    "black": BLACK,
}


def _unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"CI=true, so the OpenXR tests must run, but: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def xr_root() -> Path:
    """The built root (built here when missing: ~100 s the first time, then cached)."""
    check = subprocess.run(["sh", str(XR_ROOT), "check"], capture_output=True, text=True)
    if check.returncode != 0:
        _unavailable(f"cannot use the Monado root here: {check.stdout.strip() or check.stderr.strip()}")
    build = subprocess.run(["sh", str(XR_ROOT), "build"], capture_output=True, text=True, timeout=1200)
    if build.returncode != 0:
        _unavailable(f"building the Monado root failed: {build.stderr.strip()[-600:]}")
    return Path(build.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="session")
def xr_library(sample_manifest: Path) -> Path:
    """The sample library plus a manifest whose calibration-mono has front_heading 90 (same film file)."""
    text = sample_manifest.read_text(encoding="utf-8")
    front90 = sample_manifest.with_name("front90.yaml")
    first = text.index("front_heading: 0")
    front90.write_text(text[:first] + "front_heading: 90" + text[first + len("front_heading: 0") :], "utf-8")
    return sample_manifest


def run_in_root(
    args: list[str],
    shares: list[Path],
    *,
    compositor: str = "null",
    remote: bool = False,
    runtime: str = "running",
    timeout: int = 150,
    extra: list[str] = (),
) -> subprocess.CompletedProcess:
    cmd = ["sh", str(XR_ROOT), "run", "--compositor", compositor]
    if runtime == "stopped":
        cmd.append("--no-runtime")
    elif runtime == "none":
        cmd.append("--no-runtime-installed")
    for share in shares:
        cmd += ["--share", str(share)]
    if remote:
        cmd.append("--remote")
    cmd += list(extra)
    return subprocess.run([*cmd, "--", *args], capture_output=True, text=True, timeout=timeout)


def run_session(
    xr_library: Path,
    tmp_path: Path,
    name: str,
    *options: str,
    compositor: str = "null",
    remote: bool = True,
    manifest: str = "manifest.yaml",
) -> dict:
    report = tmp_path / f"{name}.json"
    args = [
        "python",
        "scripts/xr/xr_session.py",
        "--library",
        str(xr_library.with_name(manifest)),
        "--report",
        str(report),
        *options,
    ]
    proc = run_in_root(args, [xr_library.parent, tmp_path], compositor=compositor, remote=remote)
    assert report.exists(), f"no report; rc={proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    data = json.loads(report.read_text())
    assert data.get("ok"), data.get("traceback") or data
    errors = [s for s in data["script"] if s["step"] == "error"]
    assert not errors, errors[0]["traceback"]
    return data


def quat_heading(q: list[float]) -> float:
    """Clockwise heading (degrees) of a head orientation's forward (-Z) direction."""
    x, y, z, w = q
    fx, fz = -(2 * (x * z + y * w)), -(1 - 2 * (x * x + y * y))
    return math.degrees(math.atan2(fx, -fz)) % 360.0


def close_to(colour: list[int], expected: tuple[int, int, int], tol: int = 48) -> bool:
    return all(abs(a - b) <= tol for a, b in zip(colour, expected))


def disc_colour(heading: float) -> tuple[int, int, int]:
    for h, colour in DISCS:
        if abs((heading - h + 180.0) % 360.0 - 180.0) < 1.0:
            return colour
    raise AssertionError(f"no disc at heading {heading}")


def assert_clean_lifecycle(states: list[str]) -> None:
    for needed in ("READY", "SYNCHRONIZED", "VISIBLE", "FOCUSED", "STOPPING", "IDLE", "EXITING"):
        assert needed in states, states
    assert states[-3:] == ["STOPPING", "IDLE", "EXITING"], states
    assert states.index("FOCUSED") < states.index("STOPPING")


def kinds(report: dict) -> list[str]:
    return [e["kind"] for e in report["events"]]


def test_session_input_actions_and_facilitator_pause(xr_root, xr_library, tmp_path):
    """FOCUSED, >= 100 frames with a projection layer, head poses from the runtime, pause by the viewer's
    "I need a break" button (real controller input through OpenXR actions), recentre, pause by the facilitator
    (controller command), clean end."""
    r = run_session(
        xr_library,
        tmp_path,
        "input",
        "--scenario",
        "input",
        "--layer",
        "projection",
        "--graphics",
        "egl",
        "--frames",
        "110",
    )
    d = r["describe"]
    assert d["graphics"] == "egl" and d["layer"] == "projection"
    assert d["srgb"] is True and d["swapchain_format"] == hex(0x8C43)  # GL_SRGB8_ALPHA8: correct gamma
    assert "/interaction_profiles/valve/index_controller" in d["profiles"]
    assert_clean_lifecycle(r["states"])
    assert r["frames_with_layers"] >= 100 and r["layer_submissions"] == r["frames_with_layers"]
    # display_time is the predicted display time in time.monotonic() seconds (XR_KHR_convert_timespec_time):
    # a little ahead of "now" when begin_frame returns (the null compositor runs at 20 Hz)
    leads = sorted(r["display_lead_ms"])
    assert r["clock_exact"] and 0.0 < leads[len(leads) // 2] < 150.0, leads[:5] + leads[-5:]
    steps = {s["step"]: s for s in r["script"]}
    # the head pose we gave the runtime comes back as the view pose the player rendered with
    assert abs(quat_heading(steps["look90"]["view0"]) - 90.0) < 1.0
    assert steps["break"]["state"] == "paused"
    assert "viewer.break_request" in kinds(r)
    assert abs(steps["recentre"]["overlay_yaw"] - 90.0) < 1.0  # recentred where the viewer looked
    assert steps["facilitator_pause"]["state"] == "paused"
    assert steps["resumed"]["state"] == "playing"
    assert r["loop"]["errors"] == []


def test_a_break_button_held_while_the_controllers_are_bound_pauses(xr_root, xr_library, tmp_path):
    """A viewer who already holds "I need a break" when the session starts (the runtime binds the controllers
    with the button down, and Monado then reports no change) still gets the break: the player takes a press as
    a rising edge of the button's state, not only the runtime's "changed" flag."""
    r = run_session(
        xr_library, tmp_path, "held", "--scenario", "held", "--layer", "projection", "--frames", "40"
    )
    steps = {s["step"]: s for s in r["script"]}
    assert "viewer.break_request" in kinds(r), kinds(r)
    assert steps["held"]["state"] == "paused"
    assert r["loop"]["errors"] == []


def test_equirect_layer_with_the_simulated_headset(xr_root, xr_library, tmp_path):
    """The equirect2 layer path on Monado's moving simulated HMD: the picture is converted into the layer once
    per video frame (not per display frame), the views follow the runtime's head motion, clean end."""
    r = run_session(
        xr_library,
        tmp_path,
        "equirect",
        "--scenario",
        "basic",
        "--layer",
        "equirect2",
        "--frames",
        "110",
        remote=False,
    )
    assert r["describe"]["layer"] == "equirect2"
    assert_clean_lifecycle(r["states"])
    assert r["frames_with_layers"] >= 100
    assert 1 <= r["equirect_updates"] <= r["loop"]["uploads"] + 1
    assert r["distinct_orientations"] > 50  # the simulated head moves: poses come from the runtime


FILMS = {  # parameter -> (manifest, film, front heading, right eye's disc at heading 0)
    "mono": ("manifest.yaml", "calibration-mono", 0.0, None),
    "front90": ("front90.yaml", "calibration-mono", 90.0, None),
    "top-bottom": ("manifest.yaml", "calibration-tb", 0.0, CYAN),
}


@pytest.mark.parametrize("layer", ["projection", "equirect2"])
@pytest.mark.parametrize("film", list(FILMS))
def test_compositor_shows_each_disc(xr_root, xr_library, tmp_path, layer, film):
    """End to end: Monado's own compositor draws into an Xvfb window; while the (remote-driven) head faces
    each calibration disc, a screenshot of that window shows that disc's colour in both eyes."""
    manifest, film_id, front, right_cyan = FILMS[film]
    r = run_session(
        xr_library,
        tmp_path,
        f"discs-{layer}-{film}",
        "--scenario",
        "discs",
        "--layer",
        layer,
        "--film",
        film_id,
        "--render-scale",
        "0.3",
        "--frames",
        "60",
        compositor="xcb",
        manifest=manifest,
    )
    assert r["describe"]["graphics"] == "glx" and r["describe"]["layer"] == layer
    looks = [s for s in r["script"] if s["step"] == "look"]
    assert len(looks) == 6
    wrong = []
    for s in looks:
        if s["pitch"] > 45:
            expected = WHITE
        elif s["pitch"] < -45:
            expected = BLACK
        else:
            expected = disc_colour(s["heading"] + front)
        right_expected = right_cyan if right_cyan and expected == RED else expected
        if not (close_to(s["left"], expected) and close_to(s["right"], right_expected)):
            wrong.append((s["heading"], s["pitch"], s["left"], s["right"], expected, right_expected))
    assert not wrong, f"screen colours differ from the discs faced: {wrong}"
    paused = next(s for s in r["script"] if s["step"] == "paused_overlay")
    # the facilitator's pause shows the head-locked pause indicator on the compositor's screen (for the
    # equirect layer it is an alpha-blended projection layer on top)
    assert paused["state"] == "paused" and paused["white_before"] == 0 and paused["white_after"] > 20, paused
    if layer == "equirect2":
        assert paused["overlay_frames"] > 0
    recentred = next(s for s in r["script"] if s["step"] == "recentred")
    front_colour = disc_colour(front)  # after recentring, the film's front is where the viewer faced
    assert close_to(recentred["left"], front_colour), recentred
    assert_clean_lifecycle(r["states"])


def test_focus_loss_pauses_and_waits_for_someone_to_resume(xr_root, xr_library, tmp_path):
    """Another OpenXR app takes the headset (what the system menu does): the session leaves FOCUSED, playback
    pauses with a viewer.focus_lost event, and it stays paused after focus returns until the facilitator
    resumes."""
    r = run_session(xr_library, tmp_path, "focus", "--scenario", "focus", "--frames", "40", remote=False)
    steps = {s["step"]: s for s in r["script"]}
    assert steps["other_app"]["focus_lost"] and steps["other_app"]["state"] == "paused"
    lost = [e for e in r["events"] if e["kind"] == "viewer.focus_lost"]
    assert lost and lost[0]["data"]["reason"] == "session_state"
    assert steps["other_app_gone"]["focused"] and steps["other_app_gone"]["state"] == "paused"
    assert "viewer.focus_gained" in kinds(r)
    assert steps["resumed"]["state"] == "playing"
    assert_clean_lifecycle(r["states"])


def test_facilitated_session_through_the_cli(xr_root, xr_library, tmp_path):
    """The real CLI (`viewpoint-player play --backend openxr --listen ...`) with a facilitator paired over
    ZeroMQ/CURVE: the viewer's break button pauses and reaches the facilitator as an event, the facilitator's
    pause and play work, the film plays to its end, and all of it is in the player's session log."""
    work = tmp_path / "facilitated"
    report_path = tmp_path / "facilitated.json"
    args = [
        "python",
        "scripts/xr/facilitated.py",
        "--library",
        str(xr_library),
        "--workdir",
        str(work),
        "--report",
        str(report_path),
    ]
    proc = run_in_root(args, [xr_library.parent, tmp_path], remote=True)
    assert report_path.exists(), proc.stdout[-2000:] + proc.stderr[-2000:]
    r = json.loads(report_path.read_text())
    assert r.get("ok"), r.get("traceback")
    steps = {s["step"]: s for s in r["steps"]}
    assert steps["focused"]["seen"]
    assert steps["break"]["event"]["data"]["source"] == "viewer" and steps["break"]["paused"]
    assert (
        steps["play"]["playing"]
        and steps["facilitator_pause"]["paused"]
        and steps["facilitator_play"]["playing"]
    )
    assert steps["ended"]["seen"]
    logged = r["logged_types"]
    for kind in ("viewer.focus_gained", "viewer.break_request", "transport.paused", "transport.ended"):
        assert kind in logged, (kind, logged)
    assert logged.count("command") >= 3
    assert r["rc"] in (0, 1) and "Traceback" not in r["stderr"], r["stderr"][-2000:]


def test_runtime_loss_is_reported_and_the_session_comes_back(xr_root, xr_library, tmp_path):
    """monado-service dies mid-film: focus_lost pauses playback, the player keeps running, and when the
    runtime is back the session is recreated and layers are submitted again."""
    r = run_session(xr_library, tmp_path, "loss", "--scenario", "loss", "--frames", "40", remote=False)
    steps = {s["step"]: s for s in r["script"]}
    assert steps["lost"]["losses"] == 1
    assert steps["restored"]["restores"] == 1 and steps["restored"]["frames_with_layers_after"] >= 20
    assert "LOST" in r["states"] and r["states"].count("FOCUSED") >= 2
    lost = [e for e in r["events"] if e["kind"] == "viewer.focus_lost"]
    assert lost and lost[0]["data"]["reason"] == "runtime_lost"
    assert r["loop"]["end_state"] == "paused"  # resumes only when the facilitator or the viewer says so
    assert_clean_lifecycle(r["states"])


@pytest.mark.parametrize("runtime", ["stopped", "none"])
def test_missing_runtime_gives_the_doctors_message(xr_root, xr_library, runtime):
    """No runtime running (or none installed): `play --backend openxr` and `doctor` explain, no traceback."""
    expected = {"stopped": "installed but did not respond", "none": "No OpenXR runtime is installed"}[runtime]
    play = run_in_root(
        [
            "python",
            "-m",
            "player.cli",
            "play",
            "--backend",
            "openxr",
            "--manifest",
            str(xr_library),
            "--film",
            "calibration-mono",
        ],
        [xr_library.parent],
        runtime=runtime,
    )
    assert play.returncode != 0
    assert expected in play.stderr and "Traceback" not in play.stderr + play.stdout, play.stderr[-2000:]
    doctor = run_in_root(["python", "-m", "player.cli", "doctor", "--no-audio"], [], runtime=runtime)
    assert doctor.returncode == 1, doctor.stdout + doctor.stderr
    assert expected in doctor.stdout and "fix:" in doctor.stdout
    assert "Traceback" not in doctor.stdout + doctor.stderr


def test_doctor_with_the_runtime(xr_root, xr_library):
    """The doctor names the runtime, its extensions, a working graphics binding and the films' state."""
    doctor = run_in_root(
        ["python", "-m", "player.cli", "doctor", "--library", str(xr_library), "--json"], [xr_library.parent]
    )
    assert doctor.returncode == 0, doctor.stdout[-3000:] + doctor.stderr[-2000:]
    report = json.loads(doctor.stdout[doctor.stdout.index("{") :])
    by_area: dict[str, list] = {}
    for c in report["checks"]:
        by_area.setdefault(c["area"], []).append(c)
    runtime = by_area["runtime"][0]
    assert runtime["ok"] and "Monado" in runtime["details"]["name"]
    assert runtime["details"]["manifest"].endswith("openxr_monado.json")
    assert "XR_KHR_composition_layer_equirect2" in runtime["details"]["extensions"]
    assert any(c["ok"] and c["summary"].startswith("EGL works") for c in by_area["graphics"])
    matrix = by_area["capabilities"][0]["details"]  # the capability matrix and each film's layer path
    assert matrix["layers"]["equirect2"] == "yes" and matrix["layers"]["projection"] == "yes"
    assert matrix["layers"]["equirect"].startswith("no: the runtime does not offer")
    assert len(matrix["films"]) == 3 and set(matrix["films"].values()) == {"equirect2"}
    assert isinstance(matrix["refresh_rates"], list) and matrix["refresh_rates"]
    assert all(c["ok"] for c in by_area["films"]) and len(by_area["films"]) == 3


# -- playback waits for the headset (engineer M; self-contained: its driver is written here) ----------------

_FOCUS_DRIVER = r'''
"""In the xr root: the real player (Controller + PlaybackLoop + OpenXRBackend + renderer + media engine) with
autoplay on, as `viewpoint-player play --backend openxr` runs it; records each display frame's session state
and transport state, and every controller event, then writes JSON."""
import json, sys, threading, time
from content_manifest import load_library
from player.app import PlaybackLoop, PlayOptions
from player.backends import create_backend
from player.control import Controller

library, film_id, out = sys.argv[1], sys.argv[2], sys.argv[3]
controller = Controller(load_library(library), engine_options={"audio": "null", "hwdec": "none"})
controller.load(film_id)
film = controller.film
backend = create_backend("openxr", layer="projection", graphics="egl", projection=film.projection,
                         stereo=film.stereo, front_heading=film.front_heading, render_scale=0.3)
events, frames = [], []
lock = threading.Lock()


def sink(kind, data):
    with lock:
        events.append({"kind": kind, "data": data, "xr_state": backend.state, "focused": backend.focused})


def hook(loop, info):
    engine = controller.engine
    frames.append({"xr_state": backend.state, "focused": backend.focused,
                   "transport": str(getattr(engine.state, "value", engine.state)),
                   "media_t": loop.result.last_media_t, "layers": backend.stats.frames_with_layers,
                   "uploads": loop.result.uploads})
    playing = [f for f in frames if f["transport"] == "playing"]
    if len(playing) >= 20 or len(frames) > 600:
        backend.request_exit()


controller.set_sink(sink)
timer = threading.Timer(60, backend.request_exit)
timer.daemon = True
timer.start()
result = PlaybackLoop(backend, controller, PlayOptions(exit_on_end=False, frame_hook=hook)).run()
timer.cancel()
controller.close()
json.dump({"events": events, "frames": frames, "states": backend.stats.states,
           "stopped_by": result.stopped_by, "errors": result.errors}, open(out, "w"), default=str)
'''


def test_playback_starts_when_the_headset_is_focused(xr_root, xr_library, tmp_path):
    """Autoplay with the OpenXR backend waits for the session's FOCUSED state (the first focus_gained): until
    then the film is loaded and paused at its first frame and `runtime.waiting` says so; it then plays from
    the film's opening. The remote driver's Index controllers also reach the log as `viewer.input_profile`."""
    driver = tmp_path / "focus_driver.py"
    driver.write_text(_FOCUS_DRIVER, encoding="utf-8")
    out = tmp_path / "focus_driver.json"
    proc = run_in_root(
        ["python", str(driver), str(xr_library), "calibration-mono", str(out)],
        [xr_library.parent, tmp_path],
        remote=True,
    )
    assert out.exists(), f"rc={proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    r = json.loads(out.read_text())
    assert r["errors"] == [] and "FOCUSED" in r["states"], r
    names = [e["kind"] for e in r["events"]]
    waiting, focused, playing = (
        names.index("runtime.waiting"),
        names.index("viewer.focus_gained"),
        names.index("transport.playing"),
    )
    assert waiting < focused < playing, names
    assert r["events"][waiting]["data"]["message"] == "waiting for the headset"
    assert not r["events"][waiting]["focused"]  # it waited because the session was not FOCUSED yet
    assert r["events"][playing]["focused"] and r["events"][playing]["xr_state"] == "FOCUSED"
    assert r["events"][playing]["data"]["media_t"] < 0.1  # from the film's opening
    before = [f for f in r["frames"] if not f["focused"]]
    assert all(f["transport"] in ("loaded", "paused") and f["media_t"] == 0.0 for f in before), before
    assert sum(f["transport"] == "playing" for f in r["frames"]) >= 20
    profiles = [e["data"] for e in r["events"] if e["kind"] == "viewer.input_profile"]
    assert profiles and any("index_controller" in p.get("right", "") for p in profiles), profiles
