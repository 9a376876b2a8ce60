"""Issue 14 against a real headless player process: the player owns the session lifecycle. Nothing plays
before a consented session; ending one stops the film before session.ended; the participant rule; a purge
erases bytes (database, -wal, -shm) under a running player and after SIGKILL; an interrupted session
resumes at its last position with its consent."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from facilitator.client import CommandFailed
from tests.session_support import Player, make_home, wait_for
from tests.support import log_events

pytestmark = pytest.mark.timeout(120)

CONSENT = {"given": True, "method": "verbal", "pose_capture": True, "note": "agreed; knows the stop button"}


def _refused(call, code: str, fragment: str = "") -> str:
    with pytest.raises(CommandFailed) as e:
        call()
    assert e.value.code == code and fragment in e.value.message, (e.value.code, e.value.message)
    return e.value.message


def _state(lead) -> dict:
    return lead.request("status")["controller"]


@pytest.fixture
def player(sample_manifest, tmp_path):
    home = make_home(tmp_path / "lead", "lead")
    p = Player(sample_manifest, tmp_path / "p", "p1")
    p.authorize(home, "lead")
    p.start()
    lead = p.client(home)
    yield p, lead, home
    lead.close()
    p.stop()


def test_nothing_plays_before_consent_and_end_stops_the_film_first(player):
    p, lead, _home = player
    # the lobby: the film is loaded (pre-flight) but paused behind the calm scene; play is refused
    assert wait_for(lambda: _state(lead)["lobby"] is True, 10)
    assert _state(lead)["state"] in ("loaded", "paused")
    _refused(lambda: lead.request("play"), "no_consent", "session.start")
    _refused(lambda: lead.request("load", {"film": "calibration-mono", "play": True}), "no_consent")
    time.sleep(0.3)
    assert _state(lead)["state"] in ("loaded", "paused")
    # participant codes: one rule, with the reason
    for code, why in (
        ("Jane.Smith", "name"),
        ("JaneSmith", "name"),
        ("JohnSmith1984", ""),
        ("P 017", "spaces"),
    ):
        _refused(
            lambda c=code: lead.request("session.start", {"participant": c, "consent": CONSENT}),
            "bad_args",
            why,
        )
    started = lead.request("session.start", {"participant": "KQM-482", "consent": CONSENT})
    lead.request("play")
    assert wait_for(lambda: _state(lead)["state"] == "playing", 10)
    ended = lead.request("session.end", {"reason": "ended_by_facilitator"})
    st = _state(lead)  # the reply comes after the film stopped
    assert (
        st["state"] in ("paused", "seeking")
        and st["lobby"] is True
        and ended["session"] == started["session"]
    )
    events = log_events(p.log, started["session"])
    types = [e["type"] for e in events]
    assert types[-1] == "session.ended" and "transport.paused" in types
    assert types.index("transport.paused") < types.index("session.ended")
    # standby again: play after the end is refused, and the film stays still
    _refused(lambda: lead.request("play"), "no_consent")
    m0 = _state(lead)["media_t"]
    time.sleep(0.5)
    assert _state(lead)["media_t"] == m0 and _state(lead)["state"] != "playing"


def _files(log: Path) -> list[Path]:
    return [log, log.with_name(log.name + "-wal"), log.with_name(log.name + "-shm")]


def _leaks(log: Path, secrets: list[bytes]) -> list[tuple[str, bytes]]:
    found = []
    for f in _files(log):
        data = f.read_bytes() if f.exists() else b""
        found += [(f.name, s) for s in secrets if s in data]
    return found


def test_purge_erases_the_bytes_running_and_after_sigkill(player):
    p, lead, _home = player
    code, note, consent_note = "QZX-731", "said the kitchen scene was like home", "consent kept in drawer B7"
    started = lead.request(
        "session.start", {"participant": code, "consent": {**CONSENT, "note": consent_note}}
    )
    lead.request("annotate", {"text": note, "tags": ["distress"]})
    lead.request("session.end")
    secrets = [code.encode(), note.encode(), consent_note.encode()]
    assert wait_for(lambda: _leaks(p.log, secrets), 10)  # written: the search can see them
    res = lead.request("purge", {"older_than_days": 0})
    assert started["session"] in res["purged"]
    assert _leaks(p.log, secrets) == []  # while the player runs
    p.kill(signal.SIGKILL)
    assert _leaks(p.log, secrets) == []  # and after a crash
    purged = [e for e in log_events(p.log) if e["type"] == "log.purged"]
    assert purged and started["session"] in purged[-1]["data"]["sessions"]  # same transaction: survived


def test_an_interrupted_session_resumes_where_it_was_with_its_consent(player, sample_manifest):
    p, lead, home = player
    started = lead.request("session.start", {"participant": "KQM-483", "consent": CONSENT})
    lead.request("seek", {"t": 2.0})
    assert wait_for(lambda: _state(lead)["media_t"] >= 1.9, 10)
    p.kill(signal.SIGKILL)
    lead.close()
    p.start()
    lead2 = p.client(home)
    try:
        ended = [e for e in log_events(p.log, started["session"]) if e["type"] == "session.ended"]
        assert ended and ended[-1]["data"]["reason"] == "interrupted"
        _refused(lambda: lead2.request("play"), "no_consent")  # a restart does not carry on by itself
        res = lead2.request("session.resume", {"session": started["session"]})
        assert res["participant"] == "KQM-483" and res["resumed"]["session"] == started["session"]
        st = _state(lead2)
        assert st["lobby"] is False and abs(st["media_t"] - res["resumed"]["media_t"]) < 0.3
        assert res["resumed"]["media_t"] >= 1.9
        first = log_events(p.log, res["session"])[0]
        assert (
            first["type"] == "session.started" and first["data"]["resumed"]["session"] == started["session"]
        )
        assert first["data"]["consent"] == CONSENT and first["data"]["participant"] == "KQM-483"
        _refused(
            lambda: lead2.request("session.resume", {"session": res["session"]}),
            "bad_args",
            "not interrupted",
        )
        lead2.request("play")
        assert wait_for(lambda: _state(lead2)["state"] == "playing", 10)
    finally:
        lead2.close()
