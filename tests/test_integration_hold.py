"""A viewer's break holds a headset out of the group; the film's hash at load; a failed load's events.

In-process, with the real Controller and media engine, the real session server (ZeroMQ, SQLite) with the group
sync service attached as the player CLI does, and a real facilitator client.
"""

from __future__ import annotations

import os
import shutil
import time

import pytest

from content_manifest import load_library
from facilitator.client import CommandFailed, FacilitatorHome, PlayerClient
from player.control import CommandError, Controller
from player.protocol.keys import load_or_create_identity, write_public_cert
from player.session.server import SessionServer
from player.sync.service import GroupSyncService
from tests.session_support import wait_for

pytestmark = pytest.mark.timeout(90)


@pytest.fixture
def grouped(sample_library, tmp_path):
    controller = Controller(sample_library, engine_options={"audio": "null", "hwdec": "none"})
    home = FacilitatorHome(tmp_path / "fac", name="t")
    ident = home.identity()
    write_public_cert(tmp_path / "keys" / "authorized" / "t.key", ident.public, {"role": "lead"})
    server = SessionServer(
        controller, "tcp://127.0.0.1:0", tmp_path / "keys", tmp_path / "log.sqlite", "p", announce=False
    )
    group = GroupSyncService(controller).attach(server)
    add_listener = getattr(controller, "add_resume_listener", None)
    if add_listener is not None:
        add_listener(group.follower.catch_up)  # as player/cli.py wires it
    events: list[dict] = []
    controller.set_sink(server.emit)
    server.start()
    controller.load("calibration-mono")
    client = PlayerClient(server.endpoint, load_or_create_identity(tmp_path / "keys", "player").public, ident)
    # a film plays to a viewer only inside a consented session (docs/protocol.md, "Session lifecycle")
    client.request("session.start", {"participant": "P-201", "consent": {"given": True, "method": "verbal"}})
    client.subscribe(events.append, since="now")
    yield controller, client, events
    client.close()
    group.close()
    server.stop()
    controller.close()


def _state(c: Controller) -> str:
    return c.status()["state"]


def _sync(client: PlayerClient, at: float, media_t: float, playing: bool, epoch: int) -> dict:
    timeline = {"at": at, "media_t": media_t, "playing": playing, "group": "g", "epoch": epoch}
    cmd = "play" if playing else "pause"
    return client.request("group.sync", {"timeline": timeline, "cmd": cmd})


def test_a_break_holds_the_headset_through_group_plays_until_resumed(grouped):
    c, client, events = grouped
    _sync(client, time.monotonic() + 0.3, 0.0, True, 1)
    assert wait_for(lambda: _state(c) == "playing", 20)

    c.viewer_event("break_request")
    assert wait_for(lambda: _state(c) == "paused", 20)
    assert c.status()["held"] == "break_request"
    held_at = c.media_time()

    # the group carries on: a new group play (the lead pressed play again) and a scheduled play
    at = time.monotonic() + 0.3
    _sync(client, at, held_at, True, 2)
    client.request("play", {"at": time.monotonic() + 0.3})
    assert wait_for(
        lambda: (
            any(e["type"] == "sync.executed" and e["data"]["epoch"] == 2 for e in events)
            and any(e["type"] == "command.failed" for e in events)
        ),
        20,
    )
    time.sleep(0.4)
    assert _state(c) == "paused" and c.status()["held"] == "break_request"
    executed = next(e for e in events if e["type"] == "sync.executed" and e["data"]["epoch"] == 2)
    assert executed["data"]["held"] is True
    failed = next(e for e in events if e["type"] == "command.failed")
    assert failed["data"]["code"] == "held" and "break_request" in failed["data"]["message"]
    assert abs(c.media_time() - held_at) < 0.05, "a held headset does not move"

    time.sleep(1.0)  # the group is well ahead by now
    # the facilitator resumes it: it plays again, where the group is by now
    n = len(events)
    client.request("welfare", {"action": "resume"})
    assert c.status()["held"] is None
    assert wait_for(lambda: any(e["type"] == "sync.executed" for e in events[n:]), 20)
    rejoin = next(e for e in events[n:] if e["type"] == "sync.executed")
    group_t = held_at + (rejoin["data"]["at"] - at)
    assert abs(rejoin["data"]["media_t"] - group_t) < 0.01  # the rejoin timeline is the group's
    assert rejoin["data"]["held"] is False and rejoin["data"]["playing"] is True
    assert group_t - held_at > 1.2
    # it jumped to the group (had it just played on, it would be about 0.3 s past where it was held)
    assert rejoin["data"]["media_after"] > group_t - 0.2
    assert wait_for(lambda: _state(c) == "playing", 20)
    assert wait_for(lambda: sum(e["type"] == "hold.changed" for e in events) == 2, 20)
    released = [e for e in events if e["type"] == "hold.changed"]
    assert [e["data"]["held"] for e in released] == [True, False]
    assert released[0]["data"]["reason"] == "break_request" and released[1]["data"]["by"] == "facilitator"


def test_focus_lost_holds_and_the_viewer_or_a_direct_play_resumes(grouped):
    c, client, events = grouped
    c.play()
    assert wait_for(lambda: _state(c) == "playing", 20)
    c.viewer_event("focus_lost")
    assert wait_for(lambda: _state(c) == "paused", 20)
    assert c.status()["held"] == "focus_lost"
    with pytest.raises(CommandError) as e:
        c.play_scheduled()
    assert e.value.code == "held"
    c.viewer_event("focus_gained")  # coming back alone does not start the film
    assert c.status()["held"] == "focus_lost" and _state(c) == "paused"
    c.toggle_pause()  # the viewer's own resume
    assert c.status()["held"] is None
    assert wait_for(lambda: _state(c) == "playing", 20)
    c.viewer_event("headset_off")
    assert wait_for(lambda: c.status()["held"] == "headset_off" and _state(c) == "paused", 20)
    client.request("play")  # a facilitator's direct play is a person's decision: it resumes
    assert c.status()["held"] is None
    assert wait_for(lambda: _state(c) == "playing", 20)

    def released_by() -> list:
        return [e["data"].get("by") for e in events if e["type"] == "hold.changed" and not e["data"]["held"]]

    assert wait_for(lambda: len(released_by()) == 2, 20) and released_by() == ["viewer", "facilitator"]


def test_welfare_stop_still_holds_and_resume_releases_both(grouped):
    c, client, _events = grouped
    c.play()
    c.viewer_event("break_request")
    client.request("welfare", {"action": "stop"})
    assert c.held == "welfare_stop"
    with pytest.raises(CommandFailed):
        client.request("play")
    client.request("welfare", {"action": "resume"})
    assert c.held is None
    assert wait_for(lambda: _state(c) == "playing", 20)


# -- load: the film's sha256 against the manifest, hashed off the caller's thread, cached ------------------


@pytest.fixture
def copied_library(sample_manifest, tmp_path):
    src = sample_manifest.parent
    dst = tmp_path / "lib"
    shutil.copytree(src, dst)
    return dst / sample_manifest.name


def test_load_verifies_the_hash_of_the_content_and_reports_a_mismatch(copied_library):
    lib = load_library(copied_library)
    c = Controller(lib, engine_options={"audio": "null", "hwdec": "none"})
    events: list[tuple[str, dict]] = []
    c.set_sink(lambda k, d: events.append((k, d)))
    hashed: list[str] = []
    original = c.hasher._hash
    c.hasher._hash = lambda path: hashed.append(path.name) or original(path)
    try:
        res = c.load("calibration-mono")
        assert res["sha256_ok"] is True and res["sha256"] == lib.films["calibration-mono"].sha256
        c.load("calibration-tb")
        res = c.load("calibration-mono")
        assert res["sha256_ok"] is True
        assert hashed == ["calibration-mono.mp4", "calibration-tb.mp4", "calibration-mono.mp4"], "every load"
        # the file changes in place, same size and modification time: its content is what is compared
        path = lib.films["calibration-mono"].path
        st = path.stat()
        data = bytearray(path.read_bytes())
        data[len(data) // 2] ^= 0xFF
        path.write_bytes(bytes(data))
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
        res = c.load("calibration-mono")
        assert res["sha256_ok"] is False and res["sha256"] != lib.films["calibration-mono"].sha256
        assert hashed.count("calibration-mono.mp4") == 3
        verified = [d for k, d in events if k == "film.verified"]
        assert [d["sha256_ok"] for d in verified] == [True, True, True, False]
        assert c.status()["sha256_ok"] is False
    finally:
        c.close()


def test_a_failed_load_keeps_the_film_and_its_state(copied_library):
    lib_path = copied_library
    broken = lib_path.parent / "calibration-tb.mp4"
    broken.write_bytes(b"not a film" * 100)
    lib = load_library(lib_path)
    c = Controller(lib, engine_options={"audio": "null", "hwdec": "none"})
    events: list[tuple[str, dict]] = []
    c.set_sink(lambda k, d: events.append((k, d)))
    try:
        c.load("calibration-mono")
        c.play()
        assert wait_for(lambda: _state(c) == "playing", 20)
        with pytest.raises(CommandError) as e:
            c.load("calibration-tb")
        assert e.value.code == "load_failed"
        time.sleep(0.3)
        assert c.film.id == "calibration-mono" and _state(c) == "playing"
        kinds = [(k, d.get("film")) for k, d in events if k.startswith("transport.")]
        assert ("transport.closed", "calibration-tb") not in kinds, "the failed engine's close is not news"
        errors = [d for k, d in events if k == "transport.error"]
        assert errors and errors[-1].get("fatal") is False and errors[-1]["film"] == "calibration-tb"
    finally:
        c.close()
