"""The headless backend inside the real playback loop: viewer input, welfare fades, desktop key mapping."""

from __future__ import annotations

import time

import numpy as np
import pytest

from player.app import PlaybackLoop, PlayOptions
from player.backends import BackendError, create_backend
from player.control import Controller


@pytest.fixture
def controller(sample_library):
    c = Controller(sample_library, engine_options={"audio": "null", "hwdec": "none"})
    c.load("calibration-mono")
    yield c
    c.close()


def run_loop(controller, hook, **backend_options):
    backend = create_backend("headless", eye_size=(48, 48), fov=60.0, display_rate=60.0, **backend_options)
    events: list[tuple[str, dict]] = []
    loop = PlaybackLoop(backend, controller, PlayOptions(exit_on_end=False, frame_hook=hook))
    controller.set_sink(lambda kind, data: (events.append((kind, data)), loop.record_event(kind, data)))
    deadline = time.monotonic() + 20

    def guarded(loop, info):
        if time.monotonic() > deadline:
            backend.inject("exit")
        hook(loop, info)

    loop.options.frame_hook = guarded
    return loop.run(), events, backend


def test_break_request_pauses_and_is_reported(controller):
    seen = {}

    def hook(loop, info):
        t = loop.result.last_media_t
        if "asked" not in seen and t > 0.5:
            seen["asked"] = t
            loop.backend.inject("break_request", source="test")
        elif "asked" in seen and "state" not in seen and loop.result.display_frames % 10 == 0:
            state = controller.status()["state"]
            if state == "paused":
                seen["state"] = state
                loop.backend.inject("exit")

    result, events, _ = run_loop(controller, hook)
    assert seen.get("state") == "paused"
    assert result.stopped_by == "viewer"
    assert any(k == "viewer.break_request" and d.get("source") == "test" for k, d in events)


def test_welfare_stop_fades_the_eyes_to_the_calm_scene(controller):
    images: dict[str, np.ndarray] = {}
    marks: dict[str, float] = {}

    def hook(loop, info):
        now = time.monotonic()
        if "film" not in images and loop.result.last_media_t > 0.3:
            images["film"] = loop.backend.read_eye(0)
            controller.dispatch("welfare", {"action": "stop"})
            marks["stop"] = now
        elif "stop" in marks and now - marks["stop"] > 1.2 and "calm" not in images:
            images["calm"] = loop.backend.read_eye(0)
            loop.backend.inject("exit")

    run_loop(controller, hook)
    film, calm = (
        images[k].astype(np.float64) for k in ("film", "calm")
    )  # the fade itself: test_render_overlay
    assert film[24, 24, 0] > 200, "the red disc is in front before the stop"
    assert calm.mean() < 40 and calm[4, 4].max() < 40, "a calm dark scene (and the message) after the fade"


def test_overlay_pictures_are_made_after_a_frames_submit_never_inside_one(controller, monkeypatch):
    """Both subtitle cues and the stop message are rasterised by prepare_overlays (after a frame's submit),
    before they show; the frame that first shows them, the stop's first faded frame included, only draws."""
    from player.render.head_locked import HeadLockedOverlays

    made: list[tuple[str, bool]] = []  # (picture key, made by prepare)
    preparing = [False]
    real_texture, real_prepare = HeadLockedOverlays.texture, HeadLockedOverlays.prepare

    def texture(self, key):
        if key not in self._cache:
            made.append((key, preparing[0]))
        return real_texture(self, key)

    def prepare(self, states, limit=1):
        preparing[0] = True
        try:
            return real_prepare(self, states, limit)
        finally:
            preparing[0] = False

    monkeypatch.setattr(HeadLockedOverlays, "texture", texture)
    monkeypatch.setattr(HeadLockedOverlays, "prepare", prepare)
    marks: dict[str, float] = {}

    def hook(loop, info):
        if "stop" not in marks and loop.result.last_media_t > 3.3:  # the second cue (3.0 s) has shown
            controller.dispatch("welfare", {"action": "stop"})
            marks["stop"] = time.monotonic()
        elif "stop" in marks and time.monotonic() - marks["stop"] > 0.5:
            loop.backend.inject("exit")

    run_loop(controller, hook)
    keys = [key for key, _ in made]
    assert "subtitle:Calibration film: look for the red disc in front of you." in keys
    assert "subtitle:Turn right to find the green disc." in keys
    assert "message:" + controller.overlay.stop_message in keys
    assert [key for key, by_prepare in made if not by_prepare] == [], "made inside a display frame"


def test_unknown_backend_is_refused():
    with pytest.raises(BackendError, match="backend 'vr': expected one of headless, desktop, openxr"):
        create_backend("vr")


def test_desktop_keys_map_to_events():
    glfw = pytest.importorskip("glfw")
    from player.backends.desktop import DesktopBackend

    b = DesktopBackend(eye_size=(64, 64))
    for key in (glfw.KEY_SPACE, glfw.KEY_LEFT, glfw.KEY_R, glfw.KEY_B, glfw.KEY_ESCAPE):
        b._on_key(None, key, 0, glfw.PRESS, 0)
    b._on_key(None, glfw.KEY_SPACE, 0, glfw.REPEAT, 0)  # holding space does not toggle again
    assert [(e.kind, e.data.get("key")) for e in b.poll_events()] == [
        ("key", "space"),
        ("key", "left"),
        ("recentre", None),
        ("break_request", None),
        ("exit", None),
    ]
    b._drag = (100.0, 100.0)
    b._on_cursor(None, 60.0, 120.0)  # drag left and down: look right and up
    assert b.heading == pytest.approx(10.0) and b.pitch == pytest.approx(5.0)
