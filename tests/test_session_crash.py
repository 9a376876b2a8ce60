"""SIGKILL the player mid-session under load, repeatedly: the log opens cleanly and holds every event that
any subscriber received (events are committed before they are published)."""

from __future__ import annotations

import json
import random
import sqlite3
import threading
import time

import pytest

from facilitator.client import ClientError
from player.session.log import SessionLog
from tests.session_support import Player, make_home, wait_for

pytestmark = pytest.mark.timeout(180)

ROUNDS = 3


def _load(client, stop: threading.Event, kind: str) -> None:
    i = 0
    while not stop.is_set():
        i += 1
        try:
            if kind == "annotate":
                client.request("annotate", {"text": f"load {i}", "tags": ["load"]}, timeout=0.3, retries=0)
            else:
                cmd = ("pause", "play", "seek")[i % 3]
                client.request(cmd, {"t": (i % 50) / 10} if cmd == "seek" else {}, timeout=0.3, retries=0)
        except ClientError:
            if stop.is_set():
                return
            time.sleep(0.05)


def test_sigkill_under_load_loses_nothing_a_subscriber_saw(sample_manifest, tmp_path):
    home = make_home(tmp_path / "fac", "lead")
    p = Player(sample_manifest, tmp_path / "player", "crashy")
    p.authorize(home)
    rng = random.Random(6)
    seen_total = 0
    sessions_seen: set[str] = set()
    for _ in range(ROUNDS):
        p.start()
        sub = p.client(home)
        got: list[dict] = []
        lock = threading.Lock()

        def keep(ev, got=got, lock=lock):
            with lock:
                got.append(ev)

        assert sub.subscribe(keep, since="session") is not None
        stop = threading.Event()
        loaders = [p.client(home), p.client(home)]
        sub.request(
            "session.start", {"participant": f"P-{rng.randint(100, 999)}", "consent": {"given": True}}
        )
        threads = [
            threading.Thread(target=_load, args=(c, stop, k), daemon=True)
            for c, k in zip(loaders, ("annotate", "transport"))
        ]
        for t in threads:
            t.start()
        assert wait_for(lambda got=got: len(got) > 30, 30)
        time.sleep(rng.uniform(0.2, 0.8))
        p.kill()  # SIGKILL, mid-stream
        with lock:
            received = list(got)
        stop.set()
        for t in threads:
            t.join(5)
        for c in (*loaders, sub):
            c.close(bye=False)

        db = sqlite3.connect(p.log)
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        logged = {(s, q): json.loads(j) for s, q, j in db.execute("SELECT session, seq, json FROM events")}
        missing = [
            (e["session"], e["seq"], e["type"]) for e in received if (e["session"], e["seq"]) not in logged
        ]
        assert not missing, f"received but not in the log: {missing[:5]}"
        for e in received:
            assert logged[(e["session"], e["seq"])] == e
        per_session: dict[str, list[int]] = {}
        for s, q in sorted(logged, key=lambda k: (k[0], k[1])):
            per_session.setdefault(s, []).append(q)
        for s, seqs in per_session.items():
            assert seqs == list(range(1, len(seqs) + 1)), f"gap in {s}"
        db.close()
        seen_total += len(received)
        sessions_seen |= {e["session"] for e in received}

    assert seen_total > ROUNDS * 30
    # the next start closes what the crashes left open, and the log stays one chain
    p.start()
    c = p.client(home)
    c.request("status")
    c.close()
    p.stop()
    log = SessionLog(p.log)
    try:
        assert log.unfinished_sessions() == []
        ended = {s["id"]: s["end_reason"] for s in log.sessions(100)}
        assert all(
            ended[s] in ("interrupted", "facilitated_session_started", "replaced", "player_stopped")
            for s in sessions_seen
        )
        assert sum(1 for s in sessions_seen if ended[s] == "interrupted") >= ROUNDS
    finally:
        log.close()
