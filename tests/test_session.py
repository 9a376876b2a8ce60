"""The session protocol against a real headless player process: commands, events, roles, clone pattern."""

from __future__ import annotations

import sqlite3
import threading
import time

import pytest

from facilitator.client import CommandFailed, RequestTimeout
from tests.session_support import KeepPlaying, Player, make_home, wait_for
from tests.support import assert_refused

pytestmark = pytest.mark.timeout(120)

# the player plays only inside a consented session; this one also agrees to pose capture
RIG_SESSION = {"participant": "P-100", "consent": {"given": True, "method": "verbal", "pose_capture": True}}


@pytest.fixture(scope="module")
def rig(sample_manifest, tmp_path_factory):
    base = tmp_path_factory.mktemp("session")
    alice = make_home(base / "alice", "alice")
    olivia = make_home(base / "olivia", "olivia")
    p = Player(sample_manifest, base / "p1", "p1")
    p.authorize(alice, "lead")
    p.authorize(olivia, "observer")
    p.start()
    lead = p.client(alice)
    lead.request("session.start", RIG_SESSION)
    lead.request("play")
    rig = {"player": p, "alice": alice, "olivia": olivia, "lead": lead, "base": base}
    rig["keeper"] = KeepPlaying(lead)
    yield rig
    rig["keeper"].stop()
    lead.close()
    p.stop()


def _types(events):
    return [e["type"] for e in events]


def test_commands_events_and_envelope(rig):
    c = rig["player"].client(rig["alice"])
    got: list[dict] = []
    snap = c.subscribe(got.append, since="session")
    assert snap is not None and snap["session"]["id"].startswith("s-")
    assert c.role == "lead" and c.player == "p1"
    assert c.request("pause") is not None
    res = c.request("seek", {"t": 1.5})
    assert isinstance(res, dict)
    c.request("play")
    ann = c.request("annotate", {"text": "looked away", "tags": ["distress"]})
    assert wait_for(lambda: any(e["type"] == "annotation.added" for e in got), 20)
    # gapless, ordered, one session, full envelope
    sid = got[0]["session"]
    seqs = [e["seq"] for e in got if e["session"] == sid]
    assert seqs == list(range(1, len(seqs) + 1))
    assert got[0]["type"] == "session.started"
    for e in got:
        assert {"v", "session", "seq", "mono", "utc", "film", "media_t", "type", "data"} <= set(e)
        assert e["utc"].endswith("Z")
    assert any(e["film"] == "calibration-mono" for e in got)
    types = _types(got)
    # the command is logged before its effects, and the effects before the reply
    i = next(i for i, e in enumerate(got) if e["type"] == "command" and e["data"]["cmd"] == "pause")
    assert "transport.paused" in types[i:]
    assert got[[e["type"] for e in got].index("annotation.added")]["seq"] == ann["ref"]
    assert c.health()["alive"]
    c.close()


def test_request_id_is_never_executed_twice(rig):
    c = rig["player"].client(rig["alice"])
    r1 = c.request("annotate", {"text": "once only"}, request_id="dup-annotation-1")
    r2 = c.request("annotate", {"text": "once only"}, request_id="dup-annotation-1")
    assert r1 == r2
    r3 = c.request("annotate", {"text": "once only"}, request_id="dup-annotation-2")
    assert r3["ref"] != r1["ref"]

    def logged() -> int:
        db = sqlite3.connect(rig["player"].log, timeout=5)
        try:
            return db.execute(
                "SELECT count(*) FROM events WHERE type='annotation.added' AND json LIKE '%once only%'"
            ).fetchone()[0]
        finally:
            db.close()

    # logged before the replies (see above), so no wait is needed for the count to be final
    assert logged() == 2
    c.close()


def test_errors_name_what_was_wrong(rig):
    c = rig["player"].client(rig["alice"])
    assert_refused(lambda cmd, args: c.request(cmd, args), CommandFailed)  # as the controller refuses them
    with pytest.raises(CommandFailed) as e:
        c.request("load", {"film": "no-such-film"})
    assert e.value.code not in ("internal",)
    with pytest.raises(CommandFailed) as e:
        c.request("annotation.delete", {"ref": 999999})
    assert e.value.code == "not_found"
    with pytest.raises(CommandFailed) as e:
        c.request("session.start", {"participant": "P-1", "consent": {"given": False}})
    assert e.value.code == "bad_args" and "consent" in e.value.message
    with pytest.raises(CommandFailed) as e:
        c.request("session.start", {"participant": "Jane Smith", "consent": {"given": True}})
    assert "args.participant" in e.value.message
    c.close()


def test_observer_is_read_only(rig):
    obs = rig["player"].client(rig["olivia"])
    got: list[dict] = []
    obs.subscribe(got.append, since="now")
    assert obs.role == "observer"
    assert "controller" in obs.request("status")
    for cmd, args in (("pause", {}), ("welfare", {"action": "stop"}), ("annotate", {"text": "x"})):
        with pytest.raises(CommandFailed) as e:
            obs.request(cmd, args)
        assert e.value.code == "forbidden"
    rig["lead"].request("annotate", {"text": "seen by the observer"})
    assert wait_for(lambda: any(e["type"] == "annotation.added" for e in got), 20)
    obs.close()


def test_unpaired_client_can_neither_command_nor_subscribe(rig, tmp_path):
    p = rig["player"]
    mallory = make_home(tmp_path / "mallory", "mallory")
    mallory.remember("p1", p.endpoint, p.public_key(), "lead")  # knows the address and the player's key
    c = mallory.client("p1", timeout=0.5, retries=1)
    with pytest.raises(RequestTimeout):
        c.request("pause")
    got: list[dict] = []
    c.subscribe(got.append, since="now", wait=1.5)
    rig["lead"].request("annotate", {"text": "not for mallory"})
    time.sleep(1.0)
    assert got == [] and c.snapshot is None and not c.health()["alive"]
    c.close(bye=False)
    status = rig["lead"].request("status")
    assert all(x["name"] != "mallory" for x in status["consoles"])


def test_session_lifecycle_and_annotations(rig):
    c = rig["player"].client(rig["alice"])
    got: list[dict] = []
    c.subscribe(got.append, since="session")
    before = c.snapshot["session"]["id"]
    res = c.request(
        "session.start",
        {"participant": "P-017", "consent": {"given": True, "method": "verbal"}, "pause_on_lost": False},
    )
    sid = res["session"]
    assert sid != before
    ref = c.request("annotate", {"text": "first", "tags": ["a"]})["ref"]
    c.request("annotation.edit", {"ref": ref, "text": "first, edited"})
    c.request("annotation.delete", {"ref": ref})
    end = c.request("session.end", {"reason": "done"})
    assert end["session"] == sid
    with pytest.raises(CommandFailed) as e:
        c.request("session.end")
    assert e.value.code == "no_session"
    assert wait_for(
        lambda: any(e["type"] == "session.started" and e["session"] == end["standby"] for e in got)
    )
    mine = [e for e in got if e["session"] == sid]
    assert [e["seq"] for e in mine] == list(range(1, len(mine) + 1))
    assert mine[0]["type"] == "session.started" and mine[0]["data"]["participant"] == "P-017"
    assert mine[0]["data"]["previous"]["session"] == before
    assert mine[-1]["type"] == "session.ended"
    kinds = _types(mine)
    assert (
        kinds.index("annotation.added") < kinds.index("annotation.edited") < kinds.index("annotation.deleted")
    )
    edited = next(e for e in mine if e["type"] == "annotation.edited")
    assert edited["data"]["ref"] == ref and edited["data"]["text"] == "first, edited"
    sessions = c.request("sessions")["sessions"]
    assert any(s["id"] == sid and s["participant"] == "P-017" and s["ended_utc"] for s in sessions)
    with pytest.raises(CommandFailed) as e:  # back in the lobby: nothing plays until the next session
        c.request("play")
    assert e.value.code == "no_consent"
    c.request("session.start", RIG_SESSION)  # the other tests' session, playing
    c.request("play")
    c.close()


def test_late_joiner_and_two_consoles_see_the_same_sequence(rig):
    a = rig["player"].client(rig["alice"])
    got_a: list[dict] = []
    a.subscribe(got_a.append, since="session")
    for i in range(20):
        a.request("annotate", {"text": f"n{i}"})
    b = rig["player"].client(rig["olivia"])
    got_b: list[dict] = []
    b.subscribe(got_b.append, since="session")  # late: snapshot + catch-up from the log
    for i in range(20):
        a.request("annotate", {"text": f"m{i}"})
    assert wait_for(
        lambda: len(got_b) and got_b[-1]["seq"] == got_a[-1]["seq"] and len(got_b) >= len(got_a), 20
    )
    key = [(e["session"], e["seq"], e["type"]) for e in got_a]
    assert [(e["session"], e["seq"], e["type"]) for e in got_b][: len(key)] == key
    a.close()
    b.close()


def test_one_console_on_two_players(rig, sample_manifest):
    alice = rig["alice"]
    p2 = Player(sample_manifest, rig["base"] / "p2", "p2")
    p2.authorize(alice)
    p2.start()
    try:
        c1, c2 = rig["player"].client(alice), p2.client(alice)
        got = {"p1": [], "p2": []}
        lock = threading.Lock()

        def sink(name):
            def f(e):
                with lock:
                    got[name].append(e)

            return f

        c1.subscribe(sink("p1"), since="now")
        c2.subscribe(sink("p2"), since="session")
        c1.request("annotate", {"text": "to p1"})
        c2.request("annotate", {"text": "to p2"})
        assert wait_for(
            lambda: (
                any(e["type"] == "annotation.added" for e in got["p1"])
                and any(e["type"] == "annotation.added" for e in got["p2"])
            ),
            5,
        )
        assert {e["session"] for e in got["p1"]}.isdisjoint({e["session"] for e in got["p2"]})
        assert c1.player == "p1" and c2.player == "p2"
        c1.close()
        c2.close()
    finally:
        p2.stop()


def test_pose_stream_is_sampled_logged_and_fetchable(rig):
    c = rig["player"].client(rig["olivia"])
    poses: list[dict] = []
    c.subscribe(lambda e: None, on_pose=poses.append, since="now")
    assert wait_for(lambda: len(poses) >= 5, 20)
    pseqs = [p["pseq"] for p in poses]
    assert pseqs == sorted(pseqs) and all(p["type"] == "pose" and len(p["data"]["q"]) == 4 for p in poses)
    sid = poses[-1]["session"]
    res = c.request("poses", {"session": sid, "after": pseqs[0] - 1, "limit": 3})
    assert res["first_pseq"] == pseqs[0] and len(res["samples"]) == 3 and res["more"]
    assert abs(res["samples"][0][0] - poses[0]["mono"]) < 1e-5
    c.close()


def test_pause_when_the_lead_console_is_lost(rig):
    rig["keeper"].stop()  # nothing else may press play during this test
    try:
        a = rig["player"].client(rig["alice"])
        got: list[dict] = []
        a.subscribe(got.append, since="now")
        a.request(
            "session.start", {"participant": "P-300", "consent": {"given": True}, "pause_on_lost": True}
        )
        a.request("seek", {"t": 0.0})
        a.request("play")
        watcher = rig["player"].client(rig["olivia"])
        seen: list[dict] = []
        watcher.subscribe(seen.append, since="now")
        a.close(bye=False)  # vanishes without a word: heartbeats stop
        assert wait_for(lambda: any(e["type"] == "session.paused_on_lost" for e in seen), 20)
        lost = next(e for e in seen if e["type"] == "facilitator.lost")
        assert lost["data"]["name"] == "alice" and lost["data"]["role"] == "lead"
        assert wait_for(lambda: any(e["type"] == "transport.paused" for e in seen), 20)
        watcher.close()
    finally:
        rig["keeper"] = KeepPlaying(rig["lead"])
