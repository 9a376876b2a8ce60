"""The session server in-process with the real Controller and media engine: concurrent emitters, pose
coalescing, scheduled commands, clear start-up errors."""

from __future__ import annotations

import socket
import sqlite3
import threading
import time

import pytest

from facilitator.client import FacilitatorHome, PlayerClient
from player.control import Controller
from player.protocol.keys import load_or_create_identity, write_public_cert
from player.session.server import SessionServer, SessionServerError
from tests.session_support import wait_for

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def served(sample_library, tmp_path):
    controller = Controller(sample_library, engine_options={"audio": "null"})
    home = FacilitatorHome(tmp_path / "fac", name="t")
    ident = home.identity()
    write_public_cert(tmp_path / "keys" / "authorized" / "t.key", ident.public, {"role": "lead"})
    server = SessionServer(
        controller,
        "tcp://127.0.0.1:0",
        tmp_path / "keys",
        tmp_path / "log.sqlite",
        "p",
        announce=False,
        pose_hz=20,
    )
    controller.set_sink(server.emit)
    server.start()
    controller.load("calibration-mono")
    client = PlayerClient(server.endpoint, load_or_create_identity(tmp_path / "keys", "player").public, ident)
    yield server, controller, client
    client.close()
    server.stop()
    controller.close()


def test_concurrent_emitters_get_gapless_ordered_sequence_numbers(served):
    server, controller, client = served
    got: list[dict] = []
    client.subscribe(got.append, since="now")

    def burst(k: int) -> None:
        for i in range(300):
            controller.emit("test.burst", {"k": k, "i": i})

    threads = [threading.Thread(target=burst, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert wait_for(lambda: sum(e["type"] == "test.burst" for e in got) == 1200, 20)
    seqs = [e["seq"] for e in got]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
    for k in range(4):  # each emitter's own order is kept
        mine = [e["data"]["i"] for e in got if e["type"] == "test.burst" and e["data"]["k"] == k]
        assert mine == list(range(300))
    assert server.stats["commits"] < 1200  # group commit
    assert all(e["film"] == "calibration-mono" for e in got if e["type"] == "test.burst")


POSE_CONSENT = {"given": True, "method": "verbal", "pose_capture": True}


def test_pose_samples_are_coalesced(served):
    server, _controller, client = served
    client.request("session.start", {"participant": "KQM-482", "consent": POSE_CONSENT})
    poses: list[dict] = []
    client.subscribe(lambda e: None, on_pose=poses.append, since="now")
    t0 = time.monotonic()
    n = 0
    while n < 300 or time.monotonic() - t0 < 1.0:  # a ~1 kHz render loop, at least 300 frames
        server.pose((0.0, 0.1 * (n % 10), 0.0, 1.0), 0.5)
        n += 1
        time.sleep(0.001)
    last = (0.0, round(0.1 * ((n - 1) % 10), 6), 0.0, 1.0)
    elapsed = time.monotonic() - t0
    # the newest pose always gets through (coalescing keeps the latest, it does not drop it)
    assert wait_for(lambda: poses and tuple(poses[-1]["data"]["q"]) == last, 20), poses[-3:]
    elapsed_to_last = time.monotonic() - t0
    # sampled at pose_hz, never per render frame: however the threads were scheduled, no more samples than
    # the sampler's ticks in the time taken (plus the catch-up one after a stall)
    assert 2 <= len(poses) <= elapsed_to_last / server.pose_interval + 3, (len(poses), n, elapsed)
    assert len(poses) < n / 5
    pseqs = [p["pseq"] for p in poses]
    assert pseqs == list(range(pseqs[0], pseqs[0] + len(pseqs)))


def test_scheduled_command_runs_at_its_instant(served):
    _server, _controller, client = served
    got: list[dict] = []
    client.subscribe(got.append, since="now")
    at = time.monotonic() + 0.3
    res = client.request("pause", {"at": at})
    assert res["scheduled_at"] == at and res["mono"] < at
    assert wait_for(lambda: any(e["type"] == "command.executed" for e in got), 20)
    done = next(e for e in got if e["type"] == "command.executed")
    assert done["data"]["cmd"] == "pause" and done["mono"] >= at and done["data"]["late_ms"] >= 0
    with pytest.raises(Exception, match="at most"):
        client.request("play", {"at": time.monotonic() + 3600})


def test_a_busy_port_is_a_clear_error(sample_library, tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1] - 1  # the events port (P+1) is taken
        server = SessionServer(
            Controller(sample_library),
            f"tcp://127.0.0.1:{port}",
            tmp_path / "k",
            tmp_path / "l.sqlite",
            announce=False,
        )
        with pytest.raises(SessionServerError, match="cannot listen"):
            server.start()
    with pytest.raises(SessionServerError, match="expected tcp://HOST:PORT"):
        SessionServer(
            Controller(sample_library), "udp://x", tmp_path / "k", tmp_path / "l2.sqlite", announce=False
        ).start()


def _offer_poses(server, seconds: float) -> None:
    t0 = time.monotonic()
    while time.monotonic() - t0 < seconds:
        server.pose((0.0, 0.3, 0.0, 0.95), 0.5)
        time.sleep(0.005)


def test_no_pose_is_kept_in_the_lobby_or_without_pose_consent(served):
    """Issue 14: pose capture refused means nothing stored, streamed or shown live; the lobby keeps none."""
    server, _controller, client = served
    poses: list[dict] = []
    client.subscribe(lambda e: None, on_pose=poses.append, since="now")
    _offer_poses(server, 0.5)  # the lobby (standby)
    lobby = client.request("status")
    assert "heading" not in lobby["controller"] and lobby["controller"]["lobby"] is True
    no_pose = {"given": True, "method": "verbal", "pose_capture": False}
    started = client.request("session.start", {"participant": "KQM-483", "consent": no_pose})
    _offer_poses(server, 0.5)
    st = client.request("status")
    assert "heading" not in st["controller"] and "pitch" not in st["controller"]  # no live gaze either
    client.request("session.end")
    with_pose = client.request("session.start", {"participant": "KQM-484", "consent": POSE_CONSENT})
    _offer_poses(server, 0.5)
    assert wait_for(lambda: poses, 10)
    assert "heading" in client.request("status")["controller"]
    client.request("session.end")
    assert {p["session"] for p in poses} == {with_pose["session"]}
    db = sqlite3.connect(server.log_path)
    kept = {r[0] for r in db.execute("SELECT DISTINCT session FROM poses")}
    db.close()
    assert kept == {with_pose["session"]}, (kept, started)
    assert client.request("poses", {"session": started["session"]})["samples"] == []
