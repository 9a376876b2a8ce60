"""The stop path: a lead's welfare is carried out the moment it is read, ahead of whatever was read with it;
an observer's welfare flood is refused without parsing and cannot hold the lead's stop; a request id is one
command (``id_reused``); reads are paged; the controller's status says what the viewer hears.

A real session server (CURVE on loopback) with the real Controller and media engine, in-process."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path

import pytest
import zmq

from facilitator.client import CommandFailed, FacilitatorHome, PlayerClient
from facilitator.console.urgent import UrgentSender
from player import protocol as P
from player.control import Controller
from player.protocol.keys import load_or_create_identity, write_public_cert
from player.session import clone
from player.session.dispatch import PER_CONSOLE
from player.session.server import SessionServer
from player.session.sockets import PUB_HWM
from tests.session_support import wait_for

pytestmark = pytest.mark.timeout(60)


def _home(tmp_path, name: str, role: str):
    home = FacilitatorHome(tmp_path / name, name=name)
    ident = home.identity()
    write_public_cert(tmp_path / "keys" / "authorized" / f"{name}.key", ident.public, {"role": role})
    return ident


@pytest.fixture
def rig(sample_library, tmp_path):
    controller = Controller(sample_library, engine_options={"audio": "null"})
    lead, obs = _home(tmp_path, "lead", "lead"), _home(tmp_path, "obs", "observer")
    gate = threading.Event()
    gate.set()
    server = SessionServer(
        controller, "tcp://127.0.0.1:0", tmp_path / "keys", tmp_path / "log.sqlite", "p", announce=False
    )
    # a real extension handler that can hold the session thread (so messages pile up behind it)
    server.add_handler("group.leave", lambda args, client: {"left": gate.wait(10)})
    controller.set_sink(server.emit)
    server.start()
    controller.load("calibration-mono")
    player_key = load_or_create_identity(tmp_path / "keys", "player").public
    ctx = zmq.Context()
    socks: list[zmq.Socket] = []

    def dealer(ident) -> zmq.Socket:
        s = ctx.socket(zmq.DEALER)
        s.linger = 0
        s.sndhwm = s.rcvhwm = 100_000
        s.curve_serverkey, s.curve_publickey, s.curve_secretkey = player_key, ident.public, ident.secret
        s.connect(server.endpoint)
        socks.append(s)
        return s

    client = PlayerClient(server.endpoint, player_key, lead)
    yield {"server": server, "controller": controller, "client": client, "dealer": dealer, "gate": gate,
           "lead": lead, "obs": obs}  # fmt: skip
    gate.set()
    client.close()
    for s in socks:
        s.close(0)
    ctx.destroy(0)
    server.stop()
    controller.close()


def _ask(s: zmq.Socket, rid: str, cmd: str, args: dict | None = None, timeout: float = 10.0) -> dict:
    s.send(P.encode_command(rid, cmd, args or {}))
    end = time.monotonic() + timeout
    while s.poll(max(1, int((end - time.monotonic()) * 1000))):
        reply = json.loads(s.recv())
        if reply.get("id") == rid:
            return reply
    raise TimeoutError(f"{cmd}: no reply")


def test_a_lead_stop_overtakes_everything_read_with_it(rig):
    """Held session thread; an observer queues snapshots, then the lead stops: once the thread reads them
    all, the stop is carried out first, so every snapshot (sent before it) already shows the stop."""
    obs, lead = rig["dealer"](rig["obs"]), rig["dealer"](rig["lead"])
    holder = rig["dealer"](rig["lead"])
    _ask(obs, "warm", "ping")
    _ask(lead, "warm", "ping")
    rig["gate"].clear()
    holder.send(P.encode_command("hold", "group.leave", {}))
    time.sleep(0.2)  # the session thread is inside the handler now
    for i in range(PER_CONSOLE - 10):
        obs.send(P.encode_command(f"s{i}", "snapshot", {}))
    lead.send(P.encode_command("stop-1", "welfare", {"action": "stop"}))
    time.sleep(0.2)
    rig["gate"].set()
    stop = None
    while stop is None and lead.poll(10_000):
        r = json.loads(lead.recv())
        stop = r if r.get("id") == "stop-1" else None
    assert stop is not None and stop["ok"] and stop["result"]["welfare"] == "stop"
    seen = 0
    while seen < PER_CONSOLE - 10 and obs.poll(10_000):
        r = json.loads(obs.recv())
        assert r["ok"], r
        assert r["result"]["state"]["controller"]["welfare"] == "stop"
        seen += 1
    assert seen == PER_CONSOLE - 10
    assert rig["controller"].welfare == "stop"


def test_an_observer_welfare_flood_is_refused_unparsed_and_the_lead_stop_runs(rig):
    server, controller = rig["server"], rig["controller"]
    obs = rig["dealer"](rig["obs"])
    _ask(obs, "warm", "ping")
    before = server.stats["commands"]
    flood = 5000
    for i in range(flood):
        obs.send(P.encode_command(f"w{i}", "welfare", {"action": "stop"}))
    # the lead's stop, sent while the flood is being read
    assert rig["client"].request("welfare", {"action": "stop"}, timeout=10)["welfare"] == "stop"
    assert controller.welfare == "stop"
    rig["client"].request("welfare", {"action": "resume"}, timeout=10)
    time.sleep(0.3)
    codes: dict[str, int] = {}
    while obs.poll(200):
        r = json.loads(obs.recv())
        assert not r["ok"]
        codes[r["error"]["code"]] = codes.get(r["error"]["code"], 0) + 1
    assert set(codes) <= {P.E_FORBIDDEN, P.E_UNAVAILABLE} and codes.get(P.E_FORBIDDEN)
    # none of the observer's welfare messages was parsed or handled as a command
    assert server.stats["commands"] - before < 20
    assert controller.welfare == "none"


def test_a_request_id_is_one_command(rig):
    c, controller = rig["client"], rig["controller"]
    note = c.request("annotate", {"text": "first"}, request_id="r-1")
    assert c.request("annotate", {"text": "first"}, request_id="r-1") == note  # a retry: same answer
    with pytest.raises(CommandFailed) as err:
        c.request("welfare", {"action": "stop"}, request_id="r-1")
    assert err.value.code == P.E_ID_REUSED and "r-1" in err.value.message
    assert controller.welfare == "none"  # not carried out, and not answered with the note's result
    with pytest.raises(CommandFailed) as err:
        c.request("annotate", {"text": "second"}, request_id="r-1")
    assert err.value.code == P.E_ID_REUSED
    # an id that only lives in the log (the memory cache forgotten) is refused the same way
    rig["server"].dispatcher.replies._recent.clear()
    with pytest.raises(CommandFailed) as err:
        c.request("welfare", {"action": "stop"}, request_id="r-1")
    assert err.value.code == P.E_ID_REUSED
    assert c.request("welfare", {"action": "stop"}, request_id="r-2")["welfare"] == "stop"


def test_status_says_what_the_viewer_hears(rig):
    c = rig["client"]
    c.request("volume", {"volume": 0.5})
    c.request("welfare", {"action": "stop"})
    st = c.request("status")["controller"]
    assert st["welfare"] == "stop" and st["muted"] is True and st["muted_set"] is False
    c.request("welfare", {"action": "soften"})
    st = c.request("status")["controller"]
    assert st["muted"] is False and st["volume"] == pytest.approx(0.2) and st["volume_set"] == 0.5
    c.request("welfare", {"action": "resume"})
    st = c.request("status")["controller"]
    assert st["muted"] is False and st["volume"] == 0.5


def test_large_reads_are_paged(rig):
    c = rig["client"]
    for i in range(clone.EVENTS_PAGE + 20):
        c.request("annotate", {"text": f"n{i}"})
    res = c.request("events", {"limit": 1000})
    assert len(res["events"]) == clone.EVENTS_PAGE and res["more"] is True
    last = json.loads(json.dumps(res["events"][-1]))
    rest = c.request("events", {"session": last["session"], "after": last["seq"], "limit": 1000})
    assert rest["events"] and rest["events"][0]["seq"] == last["seq"] + 1
    # the snapshot's fold carries over between calls and agrees with a fold from scratch
    snap1 = c.request("snapshot")
    c.request("annotate", {"text": "after"})
    snap2 = c.request("snapshot")
    assert snap2["seq"] > snap1["seq"]
    fresh = P.initial_state()
    for ev in rig["server"].log.session_events(snap2["session"]["id"], 0, snap2["seq"]):
        P.apply_event(fresh, ev)
    fresh["controller"], fresh["consoles"] = snap2["state"]["controller"], snap2["state"]["consoles"]
    assert json.loads(json.dumps(fresh)) == snap2["state"]
    assert wait_for(lambda: rig["server"].events.health[0] == "ok", 5)


def test_an_edit_looked_up_by_the_log_reader_is_one_command(rig):
    """An edit whose note is only in the log waits for the log reader (queued behind an observer's reads
    here), never on the session thread: the lead's stop is not held by it, a retry of it meanwhile is not
    run twice, and the same id for another command is refused ``id_reused``."""
    server, c = rig["server"], rig["client"]
    ref = c.request("annotate", {"text": "first"})["ref"]
    assert wait_for(lambda: server.events.held(ref) is None, 10)  # durable: only the log has it now
    obs, lead = rig["dealer"](rig["obs"]), rig["dealer"](rig["lead"])
    _ask(obs, "warm", "ping")
    _ask(lead, "warm", "ping")
    for i in range(PER_CONSOLE - 10):
        obs.send(P.encode_command(f"e{i}", "events", {"limit": 1000}))
    edit = P.encode_command("ed-1", "annotation.edit", {"ref": ref, "text": "edited"})
    lead.send(edit)
    lead.send(edit)  # a retry of it
    lead.send(P.encode_command("ed-1", "annotation.delete", {"ref": ref}))  # the same id, another command
    lead.send(P.encode_command("stop-1", "welfare", {"action": "stop"}))
    replies: dict[str, list[dict]] = {}

    def answered() -> bool:
        edits = replies.get("ed-1", [])
        return "stop-1" in replies and any(r["ok"] for r in edits) and not all(r["ok"] for r in edits)

    while not answered() and lead.poll(10_000):
        r = json.loads(lead.recv())
        replies.setdefault(r["id"], []).append(r)
    assert [r["result"]["welfare"] for r in replies["stop-1"]] == ["stop"]
    edits = replies["ed-1"]
    oks = [r for r in edits if r["ok"]]
    assert oks and oks[0]["result"]["ref"] == ref and all(r == oks[0] for r in oks)
    assert [r["error"]["code"] for r in edits if not r["ok"]] == [P.E_ID_REUSED]
    events = c.request("events", {"session": server.session_id, "after": 0, "limit": 1000})["events"]
    changed = [e for e in events if e["type"] in ("annotation.edited", "annotation.deleted")]
    assert [(e["type"], e["data"]["ref"]) for e in changed] == [("annotation.edited", ref)]  # once


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs Linux /proc to read the RSS")
def test_a_subscriber_that_never_reads_cannot_grow_the_player(sample_library, tmp_path):
    """The event PUB's high-water mark per subscriber: a subscriber that stops reading while the player
    publishes tens of thousands of large events costs the player at most `PUB_HWM` messages of memory, not
    everything published (the rest is dropped for it; it catches up from the log by seq), and a welfare stop
    sent meanwhile is carried out and answered."""
    shm = Path("/dev/shm")
    logs = Path(tempfile.mkdtemp(dir=shm)) if shm.is_dir() else tmp_path  # the log's bytes are not the test
    controller = Controller(sample_library, engine_options={"audio": "null"})
    lead = _home(tmp_path, "lead", "lead")
    server = SessionServer(controller, "tcp://127.0.0.1:0", tmp_path / "keys", logs / "log.sqlite", "p",
                           announce=False)  # fmt: skip
    controller.set_sink(server.emit)
    server.start()
    player_key = load_or_create_identity(tmp_path / "keys", "player").public
    client = PlayerClient(server.endpoint, player_key, lead, timeout=10.0)
    ctx = zmq.Context()
    stuck = ctx.socket(zmq.SUB)
    stuck.linger = 0
    stuck.rcvhwm = 100
    stuck.curve_serverkey, stuck.curve_publickey, stuck.curve_secretkey = player_key, lead.public, lead.secret
    stuck.setsockopt(zmq.SUBSCRIBE, b"")
    stuck.connect(server.endpoints.events)
    blob = "x" * 8000
    size = len(blob)

    def publish(n: int) -> None:
        """n events of ~8 KB through the controller's event sink, each durable, then published."""
        for i in range(0, n, 500):
            target = server.events.seq + min(500, n - i)
            for _ in range(min(500, n - i)):
                server.emit("transport.warning", {"reason": "test", "message": blob})
            assert wait_for(lambda t=target: server.events.last_published >= t, 60)

    try:
        assert stuck.poll(10_000)  # subscribed (a heartbeat or an event came): from now on it never reads
        first_seq = server.events.last_published
        full, n = PUB_HWM + 3000, 16_000
        publish(full)  # its queue in the player is full now
        before = _rss()
        stopped: dict = {}
        stop = threading.Thread(target=lambda: stopped.update(client.request("welfare", {"action": "stop"})))
        stop.start()
        publish(n)  # ~130 MB more published: were it all kept for it, the player would grow by that
        stop.join(30)
        grown = _rss() - before
        assert grown < n * size / 3, f"RSS grew {grown / 1e6:.0f} MB; {n * size / 1e6:.0f} MB published"
        assert stopped.get("welfare") == "stop" and controller.welfare == "stop"
        # what it did not take was dropped for it, and is still in the log
        seqs = []
        while stuck.poll(200):
            topic, body = stuck.recv_multipart()
            if topic == P.TOPIC_EVENT:
                seqs.append(json.loads(body)["seq"])
        assert seqs and len(seqs) < (full + n) // 2 and seqs[0] > first_seq
        later = client.request("events", {"session": server.session_id, "after": seqs[-1], "limit": 10})
        assert later["events"][0]["seq"] == seqs[-1] + 1 or seqs[-1] == server.events.last_published
    finally:
        client.close()
        stuck.close(0)
        ctx.destroy(0)
        server.stop()
        controller.close()
        if logs != tmp_path:
            shutil.rmtree(logs, ignore_errors=True)


def test_the_console_urgent_sender_keeps_the_order(rig):
    """The console's urgent sender (`facilitator.console.urgent`): the first command leaves on the thread
    that submits it, the next ones queue behind it on the sender's thread; commands submitted at once are
    carried out in the order they were submitted."""
    c, controller = rig["client"], rig["controller"]
    urgent = PlayerClient(c.endpoint, c.server_key, rig["lead"])
    urgent.request("ping", {})  # connected: the first command can leave at once
    sender = UrgentSender(urgent, "p")
    try:
        actions = ["stop", "resume", "stop", "soften"]
        futures = [sender.submit("welfare", {"action": a}) for a in actions]
        assert [f.result(30)["welfare"] for f in futures] == ["stop", "none", "stop", "soften"]
        assert controller.welfare == "soften"
        since = {"session": rig["server"].session_id, "after": 0, "limit": 1000}
        events = c.request("events", since)["events"]
        levels = [e["data"]["level"] for e in events if e["type"] == "welfare.changed"]
        assert levels[-4:] == ["stop", "none", "stop", "soften"]
    finally:
        sender.close()
        urgent.close()
