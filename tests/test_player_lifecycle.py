"""The player's lifecycle gaps, with real parts (Controller, media engine, PlaybackLoop, headless backend, the
session server's SQLite log, the CLI as a process): autoplay waiting for the headset's focus, the backend's
runtime notices reaching the log as events, per-user defaults for --keys/--log, and Ctrl-C as a clean stop."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from player.app import IGNORED_KINDS, VIEWER_KINDS, PlaybackLoop, PlayOptions
from player.backends import create_backend
from player.cli import build_parser, default_keys_dir, default_log_path, player_home
from player.control import RUNTIME_NOTICES, Controller

pytestmark = pytest.mark.timeout(90)

BIN = Path(sys.executable).parent


def _state(c: Controller) -> str:
    return str(getattr(c.engine.state, "value", c.engine.state))


def _rig(sample_library, **backend_options):
    controller = Controller(sample_library, engine_options={"audio": "null", "hwdec": "none"})
    events: list[tuple[str, dict]] = []
    controller.set_sink(lambda kind, data: events.append((kind, data)))
    controller.load("calibration-mono")
    backend = create_backend("headless", eye_size=(32, 32), display_rate=30.0, **backend_options)
    return controller, backend, events


def _kinds(events) -> list[str]:
    return [k for k, _ in events]


# -- 1: a backend that starts when focused holds the film at its first frame until then ------------------


def test_autoplay_waits_for_the_first_focus_when_the_backend_asks(sample_library):
    controller, backend, events = _rig(sample_library)
    backend.starts_when_focused = True  # as OpenXRBackend declares it
    seen: dict = {}

    def hook(loop: PlaybackLoop, info) -> None:
        frames = loop.result.display_frames
        if frames == 15:  # half a second of display frames, no focus yet
            seen["before"] = (_state(controller), loop.result.last_media_t, loop.result.uploads)
            backend.inject("focus_gained", reason="session_state", state="FOCUSED")
        if frames == 16:
            seen["after_focus"] = _state(controller)

    loop = PlaybackLoop(backend, controller, PlayOptions(duration=0.5, frame_hook=hook))
    try:
        result = loop.run()
    finally:
        controller.close()
    state, media_t, uploads = seen["before"]
    assert state in ("loaded", "paused") and media_t == 0.0, seen
    assert uploads >= 1  # the headset shows the first frame while it waits
    assert seen["after_focus"] in ("playing", "buffering")
    kinds = _kinds(events)
    waiting = kinds.index("runtime.waiting")
    assert events[waiting][1]["message"] == "waiting for the headset"
    assert waiting < kinds.index("viewer.focus_gained") < kinds.index("transport.playing"), kinds
    assert result.stopped_by == "duration" and result.last_media_t >= 0.5


def test_without_the_property_playback_starts_at_once(sample_library):
    controller, backend, events = _rig(sample_library)
    seen: dict = {}

    def hook(loop: PlaybackLoop, info) -> None:
        if loop.result.display_frames == 3:
            seen["state"] = _state(controller)
            loop.request_stop("terminated")

    try:
        PlaybackLoop(backend, controller, PlayOptions(frame_hook=hook)).run()
    finally:
        controller.close()
    assert seen["state"] in ("playing", "buffering") and "runtime.waiting" not in _kinds(events)


@pytest.mark.parametrize("before_focus", ["pause", "welfare_stop", "headset_off"])
def test_a_decision_before_the_focus_keeps_the_film_paused(sample_library, before_focus):
    """A facilitator's pause, a welfare stop or a viewer's hold before the headset is in use wins over the
    deferred autoplay: focus_gained then starts nothing."""
    controller, backend, events = _rig(sample_library)
    backend.starts_when_focused = True
    seen: dict = {}

    def hook(loop: PlaybackLoop, info) -> None:
        frames = loop.result.display_frames
        if frames == 2:
            if before_focus == "pause":
                controller.dispatch("pause")
            elif before_focus == "welfare_stop":
                controller.dispatch("welfare", {"action": "stop"})
            else:
                backend.inject("headset_off", reason="proximity")
        elif frames == 4:
            backend.inject("focus_gained", reason="session_state", state="FOCUSED")
        elif frames == 12:
            seen["state"] = _state(controller)
            loop.request_stop("terminated")

    try:
        PlaybackLoop(backend, controller, PlayOptions(frame_hook=hook)).run()
    finally:
        controller.close()
    assert seen["state"] in ("loaded", "paused"), seen
    assert "viewer.focus_gained" in _kinds(events) and "transport.playing" not in _kinds(events)


# -- 2: runtime notices and the viewer's controllers reach the log ------------------------------------------


def test_backend_notices_are_events_in_the_session_log(sample_library, tmp_path):
    from player.session.server import SessionServer

    controller = Controller(sample_library, engine_options={"audio": "null", "hwdec": "none"})
    log_path = tmp_path / "log.sqlite"
    server = SessionServer(controller, "tcp://127.0.0.1:0", tmp_path / "keys", log_path, "p", announce=False)
    controller.set_sink(server.emit)
    server.start()
    backend = create_backend("headless", eye_size=(32, 32), display_rate=30.0)
    profile = "/interaction_profiles/oculus/touch_controller"
    script = [
        ("focus_lost", {"reason": "runtime_lost", "state": "FOCUSED"}),
        ("runtime_lost", {"reason": "session_loss_pending"}),
        ("runtime_restored", {"runtime": "Monado"}),
        ("space_changed", {"source": "runtime"}),
        ("input_profile", {"left": profile, "right": profile}),
        ("look", {"heading": 10.0, "pitch": 0.0}),  # ignored on purpose
        ("from_a_newer_backend", {}),  # unknown: ignored, the loop goes on
    ]

    def hook(loop: PlaybackLoop, info) -> None:
        frames = loop.result.display_frames
        if frames == 2:
            for kind, data in script:
                backend.inject(kind, **data)
        elif frames == 6:
            loop.request_stop("terminated")

    try:
        controller.load("calibration-mono")
        result = PlaybackLoop(backend, controller, PlayOptions(frame_hook=hook), server=server).run()
    finally:
        server.stop()
        controller.close()
    assert result.stopped_by == "terminated" and result.errors == []
    with sqlite3.connect(log_path) as db:
        logged = [json.loads(r[0]) for r in db.execute("SELECT json FROM events ORDER BY pos")]
    by_type = {e["type"]: e for e in logged}
    types = [e["type"] for e in logged]
    assert types.index("viewer.focus_lost") < types.index("runtime.lost") < types.index("runtime.restored")
    assert by_type["runtime.lost"]["data"]["reason"] == "session_loss_pending"
    assert by_type["runtime.restored"]["data"]["runtime"] == "Monado"
    assert by_type["runtime.space_changed"]["data"] == {"source": "runtime"}
    assert by_type["viewer.input_profile"]["data"] == {"left": profile, "right": profile}
    assert by_type["hold.changed"]["data"]["reason"] == "focus_lost"  # the loss paused and held it
    assert not any(t.startswith("look") or "newer" in t for t in types)


def test_every_kind_a_backend_emits_is_handled_or_ignored_on_purpose():
    """The kinds the backends emit (player/backends/*.py, openxr included) are all known to the loop."""
    import re

    root = Path(__file__).resolve().parents[1] / "player" / "backends"
    emitted: set[str] = set()
    for path in root.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        emitted |= set(re.findall(r'BackendEvent\("(\w+)"', text))
        emitted |= set(re.findall(r'_emit\(\s*"(\w+)"', text))
    from player.backends.openxr.actions import EVENT_FOR_ACTION

    emitted |= set(EVENT_FOR_ACTION.values())
    known = set(VIEWER_KINDS) | set(RUNTIME_NOTICES) | set(IGNORED_KINDS) | {"key", "exit"}
    assert emitted and emitted <= known, emitted - known
    from player.backends import base

    for kind in known:
        assert f"``{kind}``" in base.BackendEvent.__doc__, kind


# -- 3: per-user defaults for --keys and --log --------------------------------------------------------------


def test_player_home_defaults_per_platform(tmp_path):
    win = player_home({"LOCALAPPDATA": r"C:\Users\p\AppData\Local"}, "win32")
    assert win == Path(r"C:\Users\p\AppData\Local") / "Viewpoint" / "player"
    xdg = tmp_path / "data"
    assert player_home({"XDG_DATA_HOME": str(xdg)}, "linux") == xdg / "viewpoint" / "player"
    fallback = Path.home() / ".local" / "share" / "viewpoint" / "player"
    assert player_home({"XDG_DATA_HOME": "relative/dir"}, "linux") == fallback  # XDG: absolute only
    assert player_home({}, "darwin") == fallback
    assert player_home({"VIEWPOINT_PLAYER_HOME": str(tmp_path)}, "win32") == tmp_path
    env = {"XDG_DATA_HOME": str(xdg)}
    assert default_keys_dir(env, "linux") == xdg / "viewpoint" / "player" / "keys"
    assert default_log_path(env, "linux") == xdg / "viewpoint" / "player" / "sessions.sqlite"
    help_text = build_parser()._subparsers._group_actions[0].choices["play"].format_help()
    assert "sessions.sqlite" in help_text and "keys" in help_text


# -- 4: Ctrl-C is the operator's clean stop -----------------------------------------------------------------


def _logged(log: Path) -> list[dict]:
    if not log.exists():
        return []
    db = sqlite3.connect(log, timeout=5)
    try:
        return [json.loads(r[0]) for r in db.execute("SELECT json FROM events ORDER BY pos")]
    except sqlite3.OperationalError:  # not created yet
        return []
    finally:
        db.close()


def _wait(pred, timeout: float = 30.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.05)
    return bool(pred())


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX SIGINT; Windows' Ctrl-C takes the same handler")
def test_ctrl_c_ends_a_facilitated_player_cleanly_with_default_keys_and_log(sample_manifest, tmp_path):
    data_home = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if k != "VIEWPOINT_PLAYER_HOME"}
    env.update(XDG_DATA_HOME=str(data_home), PYOPENGL_PLATFORM="egl", EGL_PLATFORM="surfaceless",
               PYTHONUNBUFFERED="1")  # fmt: skip
    report = tmp_path / "report.json"
    cmd = [
        str(BIN / "viewpoint-player"),
        "play",
        "--manifest",
        str(sample_manifest),
        "--film",
        "calibration-mono",
        "--backend",
        "headless",
        "--eye-size",
        "32x32",
        "--display-rate",
        "30",
        "--listen",
        "tcp://127.0.0.1:0",
        "--report",
        str(report),
        "--name",
        "lifecycle",
    ]  # fmt: skip  (no --keys, no --log: the per-user defaults)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True)
    reader.start()
    home = data_home / "viewpoint" / "player"
    log = home / "sessions.sqlite"
    try:
        # the lobby: the film is loaded, and nothing plays before a consented session
        loaded = _wait(lambda: any(e["type"] == "transport.loaded" for e in _logged(log)))
        assert loaded, "".join(lines)[-3000:]
        time.sleep(0.5)
        assert not any(e["type"] == "transport.playing" for e in _logged(log))
        proc.send_signal(signal.SIGINT)
        rc = proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    reader.join(5)
    output = "".join(lines)
    assert rc == 0, output[-3000:]
    assert "Traceback" not in output
    assert f"keys in {home / 'keys'}" in output
    assert (home / "keys" / "player.key").exists()
    events = _logged(log)
    ended = [e for e in events if e["type"] == "session.ended"]
    assert ended and ended[-1]["data"] == {"reason": "player_terminated", "detail": "SIGINT"}
    sid = ended[-1]["session"]
    seqs = [e["seq"] for e in events if e["session"] == sid]
    assert seqs == list(range(1, len(seqs) + 1)) and ended[-1]["seq"] == seqs[-1]
    with sqlite3.connect(log) as db:
        assert db.execute("SELECT count(*) FROM sessions WHERE ended_utc IS NULL").fetchone()[0] == 0
    data = json.loads(report.read_text(encoding="utf-8"))
    assert data["stopped_by"] == "operator" and data["stop_detail"] == "SIGINT"
    assert data["notes"]["stop"].startswith("stopped by the operator (SIGINT)")
    assert data["result"] == "pass", data["reasons"]
    assert "stopped by the operator" in output
