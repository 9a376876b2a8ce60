"""The log disk is not in front of safety: a stalled, full or read-only session log is a health state
(status and heartbeats carry it), logged once with its cause; logged commands are refused ``log_unavailable``
at once; a welfare stop is still carried out; recording resumes by itself and nothing recorded is lost.

A real session server (CURVE, loopback), the real Controller and SQLite log. The faults are SQLite's own:
a write lock held by another connection (the writer's commit waits: a stall), the file's page limit
(``SQLITE_FULL``, what a full disk gives) and ``query_only`` (``SQLITE_READONLY``). Where this runs as root
with loop devices, a real ext4 file system is also filled and frozen (``fsfreeze``: every write blocks)."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import sqlite3
import subprocess
import threading
import time

import pytest
import zmq

from facilitator.client import CommandFailed, FacilitatorHome, PlayerClient
from player import protocol as P
from player.control import Controller
from player.protocol.keys import load_or_create_identity, write_public_cert
from player.session.server import SessionServer
from tests.session_support import wait_for

pytestmark = pytest.mark.timeout(90)


def _serve(sample_library, tmp_path, log_path):
    controller = Controller(sample_library, engine_options={"audio": "null"})
    home = FacilitatorHome(tmp_path / "fac", name="t")
    ident = home.identity()
    write_public_cert(tmp_path / "keys" / "authorized" / "t.key", ident.public, {"role": "lead"})
    server = SessionServer(controller, "tcp://127.0.0.1:0", tmp_path / "keys", log_path, "p", announce=False)
    controller.set_sink(server.emit)
    server.start()
    controller.load("calibration-mono")
    player_key = load_or_create_identity(tmp_path / "keys", "player").public
    client = PlayerClient(server.endpoint, player_key, ident, timeout=10.0, retries=0)
    ctx = zmq.Context()
    sub = ctx.socket(zmq.SUB)
    sub.linger = 0
    sub.curve_serverkey, sub.curve_publickey, sub.curve_secretkey = player_key, ident.public, ident.secret
    sub.setsockopt(zmq.SUBSCRIBE, P.TOPIC_HEARTBEAT)
    sub.connect(server.endpoints.events)
    return controller, server, client, ctx, sub


@pytest.fixture
def served(sample_library, tmp_path):
    parts = _serve(sample_library, tmp_path, tmp_path / "log.sqlite")
    yield parts
    controller, server, client, ctx, sub = parts
    client.close()
    sub.close(0)
    ctx.destroy(0)
    server.stop()
    controller.close()


def _heartbeat_log(sub: zmq.Socket, want: str, timeout: float = 8.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if sub.poll(200):
            _topic, body = sub.recv_multipart()
            if json.loads(body).get("log") == want:
                return True
    return False


def _refused_until(client: PlayerClient, tries: int = 400) -> CommandFailed:
    """Send notes until one is refused (the log stops taking writes at some point)."""
    for i in range(tries):
        try:
            client.request("annotate", {"text": f"{i} " + "x" * 3900})
        except CommandFailed as exc:
            return exc
        time.sleep(0.02)
    raise AssertionError("the log never refused a write")


def _check_outage(controller, server, client, sub, state: str, caplog, exact: bool = True) -> None:
    """The outage as a console sees it. ``exact``: the fault lasts until lifted (SQLite's limits, a held
    lock, a frozen disk); a really full disk may let a write through now and then (SQLite reuses its WAL)."""
    states = {state} if exact else {state, "stalled"}  # a filling disk may first be slow to write
    err = _refused_until(client)
    assert err.code == P.E_LOG_UNAVAILABLE and any(f"({s}:" in err.message for s in states), err.message
    health = client.request("status")["log_health"]  # status still answers, at once
    assert health["state"] in states and health["recording"] is False
    assert _heartbeat_log(sub, health["state"]) or not exact
    stop = client.request("welfare", {"action": "stop"})  # the stop is carried out all the same
    assert stop["welfare"] == "stop" and controller.welfare == "stop"
    if exact:
        assert stop["recorded"] is False
        with pytest.raises(CommandFailed) as again:
            client.request("seek", {"t": 1.0})
        assert again.value.code == P.E_LOG_UNAVAILABLE
        time.sleep(1.3)  # at least one more try of the write (every second)
        said = [r for r in caplog.records if "NOT RECORDING" in r.getMessage()]
        assert len(said) == 1 and f"({state})" in said[0].getMessage()


def _check_recovered(server, client, sub, state: str, caplog, exact: bool = True) -> None:
    assert wait_for(lambda: client.request("status")["log_health"]["state"] == "ok", 30)
    assert _heartbeat_log(sub, "ok")
    client.request("welfare", {"action": "resume"})
    assert client.request("annotate", {"text": "after"})["ref"] > 0
    assert wait_for(lambda: server.events.unrecorded() == 0, 10)
    db = sqlite3.connect(str(server.log_path))
    rows = [json.loads(r[0]) for r in db.execute("SELECT json FROM events WHERE session=? ORDER BY seq",
                                                 (server.session_id,))]  # fmt: skip
    db.close()
    seqs = [e["seq"] for e in rows]
    assert seqs == list(range(1, len(seqs) + 1))  # nothing lost, no gap
    levels = [e["data"]["level"] for e in rows if e["type"] == "welfare.changed"]
    assert levels[-2:] == ["stop", "none"]  # the stop made while nothing could be written is recorded
    health = [e["data"]["state"] for e in rows if e["type"] == "log.health"]
    assert state in health and health[-1] == "ok"
    # said once per outage, with its cause: as many messages as recorded changes to a bad state
    said = [r.getMessage() for r in caplog.records if "NOT RECORDING" in r.getMessage()]
    states = {state} if exact else {state, "stalled"}
    assert 1 <= len(said) <= sum(h != "ok" for h in health), (said, health)  # never once per retry
    assert all(any(f"({s})" in m for s in states) for m in said)


def test_a_full_log_is_reported_once_refuses_commands_and_recovers(served, caplog):
    controller, server, client, _ctx, sub = served
    caplog.set_level(logging.WARNING, "viewpoint.session")
    db = server.events.writer.log.db
    pages = db.execute("PRAGMA page_count").fetchone()[0]
    db.execute(f"PRAGMA max_page_count={pages + 2}")
    _check_outage(controller, server, client, sub, "full", caplog)
    db.execute("PRAGMA max_page_count=1073741823")
    _check_recovered(server, client, sub, "full", caplog)


def test_a_read_only_log_is_reported_and_recovers(served, caplog):
    controller, server, client, _ctx, sub = served
    caplog.set_level(logging.WARNING, "viewpoint.session")
    db = server.events.writer.log.db
    db.execute("PRAGMA query_only=ON")
    _check_outage(controller, server, client, sub, "read_only", caplog)
    db.execute("PRAGMA query_only=OFF")
    _check_recovered(server, client, sub, "read_only", caplog)


def test_a_stalled_log_does_not_hold_commands_or_the_stop(served, caplog):
    controller, server, client, _ctx, sub = served
    caplog.set_level(logging.WARNING, "viewpoint.session")
    other = sqlite3.connect(str(server.log_path), isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # the writer's next commit now waits: nothing completes
    try:
        _check_outage(controller, server, client, sub, "stalled", caplog)
    finally:
        other.execute("COMMIT")
        other.close()
    _check_recovered(server, client, sub, "stalled", caplog)


def test_a_stop_is_carried_out_while_a_purge_waits_for_the_disk(served, sample_library, tmp_path):
    """A purge waits for its deletions to be durable (seconds for hundreds of sessions, longer on a slow
    disk); meanwhile the session thread keeps reading the command socket, so a stop is carried out at once,
    not after the purge (its answer follows when the log has it, as every logged command's does)."""
    controller, server, client, _ctx, _sub = served
    home = FacilitatorHome(tmp_path / "fac", name="t")  # the same lead, a second console (a second laptop)
    player_key = load_or_create_identity(tmp_path / "keys", "player").public
    other_console = PlayerClient(server.endpoint, player_key, home.identity(), timeout=10.0, retries=0)
    other_console.request("status", {})  # connected (its CURVE handshake is done) before the purge
    lock = sqlite3.connect(str(server.log_path), isolation_level=None)
    lock.execute("BEGIN IMMEDIATE")  # the purge's commit now waits for the disk (until it counts as a stall)

    answered: dict[str, float] = {}

    def request(console: PlayerClient, cmd: str, args: dict) -> None:
        with contextlib.suppress(CommandFailed):
            console.request(cmd, args)
        answered[cmd] = time.monotonic()

    purge = threading.Thread(target=request, args=(client, "purge", {"older_than_days": 30}))
    stop = threading.Thread(target=request, args=(other_console, "welfare", {"action": "stop"}))
    try:
        purge.start()
        time.sleep(0.3)  # the purge is being handled: its commit waits for the lock
        sent = time.monotonic()
        stop.start()
        purge.join(15)
        stop.join(15)
        assert controller.welfare == "stop" and controller.welfare_at is not None
        assert sent < controller.welfare_at < answered["purge"], "the stop waited for the purge"
    finally:
        lock.execute("COMMIT")
        lock.close()
        purge.join(15)
        stop.join(15)
        other_console.close()


def _deny_reads(server) -> None:
    """The session thread's own connection to the log is refused every read from now on (SQLite's
    authorizer): whatever still reads the log there fails."""
    reads = (sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ)
    server.events.log.db.set_authorizer(lambda action, *_: sqlite3.SQLITE_DENY if action in reads else 0)


def test_edits_and_resume_read_the_log_on_the_reader_thread(sample_library, tmp_path):
    """Annotation edits and deletes look up their note, and ``session.resume`` the interrupted session, on
    the log reader's thread: a disk that stalls reads never holds the session thread (here the session
    thread's connection refuses every read, and they still work)."""
    controller, server, client, ctx, sub = _serve(sample_library, tmp_path / "a", tmp_path / "a.sqlite")
    try:
        _deny_reads(server)
        consent = {"given": True, "method": "verbal"}
        started = client.request("session.start", {"participant": "KQM-483", "consent": consent})
        refs = [client.request("annotate", {"text": t})["ref"] for t in ("one", "two")]
        assert wait_for(lambda: all(server.events.held(r) is None for r in refs), 10)  # in the log only
        client.request("annotation.edit", {"ref": refs[0], "text": "one, edited"})
        client.request("annotation.delete", {"ref": refs[1]})
        with pytest.raises(CommandFailed) as err:
            client.request("annotation.edit", {"ref": 999_999, "text": "x"})
        assert err.value.code == P.E_NOT_FOUND
        assert wait_for(lambda: server.events.unrecorded() == 0, 10)
        crashed = sqlite3.connect(str(tmp_path / "b.sqlite"))  # the log as a crash mid-session leaves it
        live = sqlite3.connect(str(server.log_path))
        live.backup(crashed)
        live.close()
        crashed.close()
    finally:
        client.close()
        sub.close(0)
        ctx.destroy(0)
        server.stop()
        controller.close()
    controller, server, client, ctx, sub = _serve(sample_library, tmp_path / "b", tmp_path / "b.sqlite")
    try:
        _deny_reads(server)
        res = client.request("session.resume", {"session": started["session"]})
        assert res["participant"] == "KQM-483" and res["resumed"]["session"] == started["session"]
        with pytest.raises(CommandFailed) as err:  # refused: resumed already (this run, maybe not yet logged)
            client.request("session.resume", {"session": started["session"]})
        assert err.value.code == P.E_BAD_ARGS and "resumed already" in err.value.message
        db = sqlite3.connect(str(server.log_path))
        kinds = [t for (t,) in db.execute("SELECT type FROM events WHERE session=?", (started["session"],))]
        db.close()
        assert kinds.count("annotation.edited") == 1 and kinds.count("annotation.deleted") == 1
    finally:
        client.close()
        sub.close(0)
        ctx.destroy(0)
        server.stop()
        controller.close()


# ------------------------------------------------------------------ a real file system (root, loop devices)


def _can_mount() -> str | None:
    if os.geteuid() != 0:
        return "needs root (loop device, mount, fsfreeze)"
    for tool in ("mkfs.ext4", "mount", "umount", "fsfreeze"):
        if shutil.which(tool) is None:
            return f"{tool} not installed"
    return None


@pytest.fixture
def ext4(tmp_path):
    why = _can_mount()
    if why:
        pytest.skip(why)
    image, mnt = tmp_path / "disk.img", tmp_path / "mnt"
    mnt.mkdir()
    with open(image, "wb") as f:
        f.truncate(24 << 20)
    subprocess.run(["mkfs.ext4", "-q", "-F", str(image)], check=True)
    done = subprocess.run(["mount", "-o", "loop", str(image), str(mnt)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a loop device here: {done.stderr.decode().strip()}")
    yield mnt
    subprocess.run(["fsfreeze", "-u", str(mnt)], capture_output=True)
    subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def test_a_real_full_disk(sample_library, tmp_path, ext4, caplog):
    caplog.set_level(logging.WARNING, "viewpoint.session")
    controller, server, client, ctx, sub = _serve(sample_library, tmp_path, ext4 / "log.sqlite")
    filler = ext4 / "filler"
    try:
        with open(filler, "wb") as f, contextlib.suppress(OSError):
            while True:
                f.write(b"\0" * (1 << 20))
                f.flush()
                os.fsync(f.fileno())
        _check_outage(controller, server, client, sub, "full", caplog, exact=False)
        filler.unlink()
        _check_recovered(server, client, sub, "full", caplog, exact=False)
    finally:
        client.close()
        sub.close(0)
        ctx.destroy(0)
        server.stop()
        controller.close()


def test_a_real_frozen_disk(sample_library, tmp_path, ext4, caplog):
    caplog.set_level(logging.WARNING, "viewpoint.session")
    controller, server, client, ctx, sub = _serve(sample_library, tmp_path, ext4 / "log.sqlite")
    try:
        subprocess.run(["fsfreeze", "-f", str(ext4)], check=True)
        try:
            _check_outage(controller, server, client, sub, "stalled", caplog)
        finally:
            subprocess.run(["fsfreeze", "-u", str(ext4)], check=True)
        _check_recovered(server, client, sub, "stalled", caplog)
    finally:
        client.close()
        sub.close(0)
        ctx.destroy(0)
        server.stop()
        controller.close()
