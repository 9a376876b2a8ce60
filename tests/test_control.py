"""The Controller: commands, errors, and the events it emits (with the real media engine, no audio device)."""

from __future__ import annotations

import time

import pytest

from player.control import CommandError, Controller
from player.render.projection import head_orientation
from tests.support import assert_refused


def wait_state(c: Controller, state: str, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if c.status()["state"] == state:
            return
        time.sleep(0.01)
    raise AssertionError(f"state {c.status()['state']!r}, expected {state!r}")


def kinds(c: Controller) -> list[str]:
    return [k for k, _ in c.events]


def test_dispatch_errors_name_the_problem(controller):
    assert_refused(controller.dispatch, CommandError)
    with pytest.raises(CommandError) as e:
        controller.dispatch("load", {"film": "nope"})
    assert e.value.code == "unknown_film"


def test_play_pause_seek_chapter_and_safe_points(controller):
    c = controller
    c.dispatch("play", {})
    wait_state(c, "playing")
    c.dispatch("pause", {})
    wait_state(c, "paused")
    assert c.overlay_state(time.monotonic() + 1).pause_alpha == pytest.approx(1.0)
    assert c.dispatch("chapter", {"index": 2})["chapter"] == "close"
    wait_state(c, "paused")
    assert c.dispatch("chapter", {"id": "look-around"})["media_t"] == 2.0
    wait_state(c, "paused")
    assert c.dispatch("next_safe_point", {})["media_t"] == 4.5
    wait_state(c, "paused")
    with pytest.raises(CommandError) as e:
        c.dispatch("next_safe_point", {})
    assert e.value.code == "no_safe_point"
    assert "transport.seeking" in kinds(c) and "transport.paused" in kinds(c)
    assert all(d.get("film") == "calibration-mono" for k, d in c.events if k.startswith("transport."))


def test_welfare_stop_pauses_at_once_and_resume_continues(controller):
    c = controller
    c.dispatch("play", {})
    wait_state(c, "playing")
    c.overlay_state()  # a frame is drawn: what follows fades from it
    c.dispatch("welfare", {"action": "stop"})
    assert c.status()["state"] == "paused"  # instantly, not after the fade
    assert c.engine._mixer.muted or c.status()["welfare"] == "stop"
    with pytest.raises(CommandError) as e:
        c.dispatch("play", {})
    assert e.value.code == "welfare_stop"
    later = c.overlay_state(time.monotonic() + 5)
    assert later.calm == pytest.approx(1.0) and later.message
    soon = c.overlay_state(time.monotonic() + 0.1)
    assert 0.0 < soon.calm < 1.0, "the welfare scene fades in, never cuts"
    c.dispatch("welfare", {"action": "resume"})
    wait_state(c, "playing")
    welfare = [d for k, d in c.events if k == "welfare.changed"]
    assert [(w["previous"], w["level"], w["by"]) for w in welfare] == [
        ("none", "stop", "facilitator"),
        ("stop", "none", "facilitator"),
    ]


def test_chapters_warnings_and_subtitles_follow_media_time(controller):
    c = controller
    for t in (0.0, 0.6, 1.2, 2.1, 3.5):
        c.tick(t)
    entered = [(d["id"], d["index"]) for k, d in c.events if k == "chapter.entered"]
    assert entered == [("intro", 0), ("look-around", 1)]
    assert [k for k in kinds(c) if k.startswith("content_warning")] == [
        "content_warning.upcoming",
        "content_warning.entered",
        "content_warning.exited",
    ]
    upcoming = [d for k, d in c.events if k == "content_warning.upcoming"]
    assert len(upcoming) == 1 and upcoming[0]["in_s"] == 1.0 and "flashing-lights" in upcoming[0]["tags"]
    assert [d["start"] for k, d in c.events if k == "content_warning.entered"] == [1.0]
    assert "green disc" in c.overlay.subtitle  # cue 00:03.000 --> 00:05.500
    c.tick(5.8)
    assert c.overlay.subtitle == ""


def test_break_request_and_recentre_from_the_viewer(controller):
    c = controller
    c.dispatch("play", {})
    wait_state(c, "playing")
    c.report_pose(head_orientation(90.0, 0.0), 0.5)
    c.viewer_event("break_request", {"source": "controller"})
    assert c.status()["state"] == "paused"
    c.viewer_event("recentre")
    assert c.overlay.recentre_yaw == pytest.approx(90.0)
    assert "viewer.break_request" in kinds(c) and "viewer.recentre" in kinds(c)


def test_a_session_opened_on_a_loaded_film_enters_its_chapter_again(controller):
    """A film loaded in the lobby (pre-flight) logs its first chapter there; the session's log gets it too."""
    c = controller
    c.tick(0.2)
    c.open_session(pose_capture=False)
    c.tick(0.3)
    assert [d["id"] for k, d in c.events if k == "chapter.entered"] == ["intro", "intro"]


def test_volume_and_mute(controller):
    assert controller.dispatch("volume", {"volume": 0.5, "muted": True}) == {"volume": 0.5, "muted": True}
    assert controller.dispatch("mute", {"muted": False}) == {"muted": False}
    with pytest.raises(CommandError):
        controller.dispatch("volume", {})


def test_a_failing_sink_does_not_stop_commands(controller):
    def broken(kind, data):
        raise RuntimeError("disk full")

    controller.set_sink(broken)
    assert controller.status()["film"] == "calibration-mono"
    controller.dispatch("pause", {})
