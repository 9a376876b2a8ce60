"""A console cut off for 10 s during playback ends with exactly the player's event sequence (Clone pattern:
gap -> catch-up from the player's log), and both sides notice the dead peer."""

from __future__ import annotations

import json
import sqlite3
import threading
import time

import pytest

from facilitator.client import ClientError, PlayerClient
from facilitator.store import FacilitatorStore
from player.protocol import DEAD_AFTER_S
from tests.session_support import KeepPlaying, Player, Relay, free_port_triple, make_home, wait_for

pytestmark = pytest.mark.timeout(120)

OUTAGE_S = 10.0


def _log_events(path, first_session: str) -> list[dict]:
    db = sqlite3.connect(path)
    try:
        start = db.execute("SELECT min(pos) FROM events WHERE session=?", (first_session,)).fetchone()[0]
        return [
            json.loads(j)
            for (j,) in db.execute("SELECT json FROM events WHERE pos>=? ORDER BY pos", (start,))
        ]
    finally:
        db.close()


def _logged_back(path, first_session: str) -> bool:
    log = _log_events(path, first_session)
    lost = [i for i, e in enumerate(log) if e["type"] == "facilitator.lost" and e["data"]["name"] == "away"]
    back = [
        i for i, e in enumerate(log) if e["type"] == "facilitator.connected" and e["data"]["name"] == "away"
    ]
    return bool(lost and back and back[-1] > lost[0])


def test_console_away_for_10s_ends_with_the_players_sequence(sample_manifest, tmp_path):
    lead_home = make_home(tmp_path / "lead", "lead")
    away_home = make_home(tmp_path / "away", "away")
    p = Player(sample_manifest, tmp_path / "player", "p1")
    p.authorize(lead_home)
    p.authorize(away_home)
    p.start()
    lead = p.client(lead_home)
    keeper = KeepPlaying(lead)
    relay_port = free_port_triple()
    relays = [Relay(p.port, relay_port), Relay(p.port + 1, relay_port + 1)]
    away = PlayerClient(f"tcp://127.0.0.1:{relay_port}", p.public_key(), away_home.identity(), name="away")
    health: list[tuple[float, bool]] = []
    store = FacilitatorStore(tmp_path / "store.sqlite")
    stop = threading.Event()

    def annotate() -> None:
        i = 0
        while not stop.wait(0.15):
            i += 1
            try:
                lead.request("annotate", {"text": f"during {i}"})
            except ClientError:
                pass

    loader = threading.Thread(target=annotate, daemon=True)
    try:
        snap = store.follow(
            away,
            player="p1",
            since="session",
            on_health=lambda alive: health.append((time.monotonic(), alive)),
        )
        assert snap is not None
        first_session = snap["session"]["id"]
        loader.start()
        lead.request("session.start", {"participant": "P-042", "consent": {"given": True}})
        time.sleep(1.5)
        assert away.health()["alive"]
        cut_at = time.monotonic()
        for r in relays:
            r.cut()
        # the console notices within DEAD_AFTER_S (2.5 s) plus a heartbeat; a starved machine may take
        # longer, so allow nearly the whole outage (after it, there is nothing left to notice)
        assert wait_for(lambda: not away.health()["alive"], OUTAGE_S - 1.0), (
            "the console did not notice the player was gone"
        )
        noticed = time.monotonic() - cut_at
        status = lead.request("status")
        assert status["controller"]["state"] in ("playing", "seeking", "ended", "paused")
        time.sleep(max(0.0, OUTAGE_S - (time.monotonic() - cut_at)))
        for r in relays:
            r.restore()
        assert wait_for(lambda: away.health()["alive"], 30), "no reconnection"
        # the player logs the console's return once its first request arrives
        wait_for(lambda: _logged_back(p.log, first_session), 20)
        stop.set()
        loader.join(5)
        keeper.stop()

        def caught_up() -> bool:
            log = _log_events(p.log, first_session)
            return store.last_position("p1") == (log[-1]["session"], log[-1]["seq"])

        assert wait_for(caught_up, 30)
        log = _log_events(p.log, first_session)
        mine = store.player_events("p1")
        assert [(e["session"], e["seq"]) for e in mine] == [(e["session"], e["seq"]) for e in log]
        assert mine == log
        # the player noticed the console was gone (silent longer than DEAD_AFTER_S) before it came back, and
        # logged it; how soon is a figure, not a pass mark (a starved player checks late)
        lost = [e for e in log if e["type"] == "facilitator.lost" and e["data"]["name"] == "away"]
        assert lost, "the player did not log the lost console"
        assert lost[0]["data"]["silent_s"] > DEAD_AFTER_S
        back = [e for e in log if e["type"] == "facilitator.connected" and e["data"]["name"] == "away"]
        assert len(back) >= 2 and log.index(back[-1]) > log.index(lost[0])  # and saw it come back
        assert any(e["type"] == "annotation.added" and e["utc"] for e in log)
        assert away.health()["gaps"] >= 1
        print(
            f"console noticed the outage after {noticed:.2f} s; player after {lost[0]['data']['silent_s']} s"
        )
    finally:
        stop.set()
        keeper.stop()
        away.close(bye=False)
        lead.close()
        store.close()
        for r in relays:
            r.close()
        p.stop()
