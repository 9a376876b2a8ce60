"""Integration gaps between the player's parts, against real headless player processes (ZeroMQ, SQLite):
the pairing code in the headset, a clean end on SIGTERM, the clone state's transport field, event order when
a load replaces a film, and the load result's pre-flight fields (sha256, audio)."""

from __future__ import annotations

import signal
import sqlite3
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from facilitator.client import pair
from player import protocol as P
from player.render.overlay import OverlayAnimator
from tests.session_support import Player, make_home, wait_for
from tests.support import log_events

pytestmark = pytest.mark.timeout(120)


def _centre(path: Path) -> np.ndarray:
    """The middle of an eye image, where the head-locked message sits (pitch 0, centred)."""
    img = np.asarray(Image.open(path).convert("RGB"), dtype=np.float32)
    h, w = img.shape[:2]
    return img[h // 2 - h // 8 : h // 2 + h // 8, w // 4 : 3 * w // 4]


def _snapshot(out: Path, t: float) -> Path:
    return out / f"snap-{t:.3f}-left.png"


def _written(*paths: Path) -> bool:
    """Whether each image is there and whole (the player writes it in place: a reader can catch it half
    written, and a slow machine makes that likely)."""
    for path in paths:
        try:
            with Image.open(path) as img:
                img.load()
        except (OSError, SyntaxError):  # missing, truncated, or not yet an image
            return False
    return True


@pytest.fixture(scope="module")
def rig(sample_manifest, tmp_path_factory):
    """A paired player that waits for its facilitator (paused at the film's start)."""
    base = tmp_path_factory.mktemp("integration")
    alice = make_home(base / "alice", "alice")
    p = Player(sample_manifest, base / "p1", "p1", extra=["--wait"])
    p.authorize(alice, "lead")
    p.start()
    lead = p.client(alice)
    # a film plays only inside a consented session (docs/protocol.md, "Session lifecycle")
    lead.request("session.start", {"participant": "P-043", "consent": {"given": True, "method": "verbal"}})
    yield {"player": p, "alice": alice, "lead": lead, "base": base}
    lead.close()
    p.stop()


# -- 1: the pairing code is shown in the headset, not only printed ---------------------------------------


def _start_snapshotting(manifest: Path, workdir: Path, name: str) -> tuple[Player, Path]:
    out = workdir / "snaps"
    p = Player(
        manifest, workdir, name,
        extra=["--wait", "--eye-size", "256x256", "--snapshot-at", "0,2", "--out", str(out)],
    )  # fmt: skip
    return p, out


def test_pairing_code_is_shown_in_the_headset_until_a_facilitator_pairs(sample_manifest, tmp_path):
    # an unpaired player: the code is printed and drawn head-locked over the film
    p, out = _start_snapshotting(sample_manifest, tmp_path / "unpaired", "fresh")
    # a paired one (same film, same frames): no code in the picture
    q, ref = _start_snapshotting(sample_manifest, tmp_path / "paired", "known")
    bob = make_home(tmp_path / "bob", "bob")
    q.authorize(bob, "lead")
    p.start()
    q.start()
    try:
        code = p.pairing_code
        assert code and f"pairing code {code}" in "\n".join(p.lines)
        assert wait_for(lambda: _written(_snapshot(out, 0), _snapshot(ref, 0)), 30)
        # both are in the lobby (the calm scene): the unpaired one shows its code, the paired one a welcome
        shown = np.abs(_centre(_snapshot(out, 0)) - _centre(_snapshot(ref, 0)))
        assert shown.max() > 50 and (shown.max(axis=2) > 30).sum() > 20, "the code is drawn in the view"

        alice = make_home(tmp_path / "alice", "alice")
        paired = pair(p.endpoint, code, alice)
        assert paired.role == "lead"
        for player, home in ((p, alice), (q, bob)):
            with player.client(home) as c:  # a consented session: the film instead of the calm scene
                c.request("session.start", {"participant": "P-044", "consent": {"given": True}})
        # the notice (0.3 s) and the calm scene (1.5 s) fade out on the wall clock from the answers above:
        # once they are over, every frame either player draws is the film's alone, however slow the machine
        time.sleep(max(OverlayAnimator.NOTICE_FADE_S, OverlayAnimator.RESUME_FADE_S) + 0.3)
        for player, home in ((p, alice), (q, bob)):
            with player.client(home) as c:
                c.request("subtitles", {"language": "off"})  # the cue at 2 s would fade in after the seek
                c.request("seek", {"t": 2.0})
        assert wait_for(lambda: _written(_snapshot(out, 2), _snapshot(ref, 2)), 30)
        gone = np.abs(_centre(_snapshot(out, 2)) - _centre(_snapshot(ref, 2))).max(axis=2)
        # The pause indicator fades in (0.25 s, wall clock) once the paused seek lands, so each player's first
        # picture at 2 s catches it at its own phase on a slow machine: its disc is left out. The code is a
        # line of text three times as wide as that disc (found at 0 s above), so it cannot hide there.
        h, w = gone.shape
        ys, xs = np.mgrid[0:h, 0:w]
        icon = (ys - (h // 2 + 8 * h // 64)) ** 2 + (xs - w // 2) ** 2 <= (h // 5) ** 2
        assert gone[~icon].max() < 40, "after pairing the picture is the film's alone"
        assert p.pairing_code != code  # a fresh code for the next facilitator, printed
    finally:
        p.stop()
        q.stop()


# -- 2: SIGTERM ends the session cleanly ----------------------------------------------------------------


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signal; Windows uses SIGBREAK (same handler)")
def test_sigterm_ends_the_session_with_a_reason(sample_manifest, tmp_path):
    alice = make_home(tmp_path / "alice", "alice")
    p = Player(sample_manifest, tmp_path / "p", "p", extra=["--wait"])
    p.authorize(alice, "lead")
    p.start()
    try:
        with p.client(alice) as c:
            c.request("session.start", {"participant": "P-042", "consent": {"given": True}})
            c.request("play")
        p.proc.send_signal(signal.SIGTERM)
        assert p.proc.wait(20) == 0
    finally:
        p.kill()
    events = log_events(p.log)
    ended = [e for e in events if e["type"] == "session.ended"]
    assert ended and ended[-1]["data"] == {"reason": "player_terminated", "detail": "SIGTERM"}
    sid = ended[-1]["session"]
    seqs = [e["seq"] for e in events if e["session"] == sid]
    assert seqs == list(range(1, len(seqs) + 1)) and ended[-1]["seq"] == seqs[-1]
    db = sqlite3.connect(p.log)
    try:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        unfinished = db.execute("SELECT count(*) FROM sessions WHERE ended_utc IS NULL").fetchone()[0]
    finally:
        db.close()
    assert unfinished == 0
    # the next start has nothing to recover
    p.start()
    try:
        assert wait_for(lambda: any(e["type"] == "session.started" for e in log_events(p.log)[len(events) :]))
    finally:
        p.stop()
    assert not any(e["data"].get("reason") == "interrupted" for e in log_events(p.log))


# -- 3: only state changes set the clone state's transport field ------------------------------------------


def test_transport_notices_do_not_overwrite_the_transport_state():
    s = P.initial_state()
    for kind, data in [
        ("transport.paused", {}),
        ("transport.rate", {"rate": 1.5, "fast": 1.0}),
        ("transport.volume", {"volume": 0.5, "muted": False}),
        ("transport.warning", {"reason": "late", "message": "x"}),
        ("transport.error", {"reason": "corrupt_packet", "fatal": False}),
    ]:
        P.apply_event(s, {"type": kind, "data": data})
    assert s["transport"] == "paused"
    P.apply_event(s, {"type": "transport.buffering", "data": {"reason": "audio_late"}})
    assert s["transport"] == "buffering"
    P.apply_event(s, {"type": "transport.error", "data": {"reason": "decode", "fatal": True}})
    assert s["transport"] == "error"
    P.apply_event(s, {"type": "hold.changed", "data": {"held": True, "reason": "break_request"}})
    assert s["held"] == "break_request"
    P.apply_event(s, {"type": "hold.changed", "data": {"held": False, "reason": "break_request"}})
    assert s["held"] is None


def test_console_state_keeps_the_transport_through_volume_and_rate(rig):
    lead = rig["lead"]
    lead.subscribe(lambda e: None, since="now")
    lead.request("pause")
    assert wait_for(lambda: lead.state.get("transport") == "paused", 20)
    lead.request("volume", {"volume": 0.5})
    lead.request("rate", {"rate": 1.5})
    lead.request("rate", {"rate": 1.0})
    seen = lead.request("status")
    assert seen["controller"]["state"] == "paused"
    time.sleep(0.3)
    assert lead.state["transport"] == "paused"


# -- 5 and 6: load replaces a film: event order; the load result carries the pre-flight fields ------------


def test_load_replacing_a_film_logs_no_old_film_event_after_the_new_one_loaded(rig):
    p, lead = rig["player"], rig["lead"]
    lead.request("load", {"film": "calibration-mono", "play": True})
    time.sleep(0.3)
    before = len(log_events(p.log))
    res = lead.request("load", {"film": "calibration-tb"})
    assert res["film"] == "calibration-tb"
    lead.request("play")
    lead.request("pause")  # the player's render loop retires (closes) the old engine meanwhile
    assert wait_for(lambda: any(e["type"] == "transport.paused" and e["data"].get("film") == "calibration-tb"
                                for e in log_events(p.log)[before:]), 20)  # fmt: skip
    time.sleep(0.5)
    after = [e for e in log_events(p.log)[before:] if e["type"].startswith("transport.")]
    i = next(i for i, e in enumerate(after) if e["type"] == "transport.loaded")
    assert after[i]["data"]["film"] == "calibration-tb"
    late = [
        (e["type"], e["data"].get("film")) for e in after[i:] if e["data"].get("film") != "calibration-tb"
    ]
    assert late == [], "events of the replaced film after the new film's transport.loaded"
    assert "transport.closed" not in [e["type"] for e in after[i:]]
    state = {}
    for e in log_events(p.log):
        P.apply_event(state, e)
    assert state["transport"] == "paused"
    lead.request("load", {"film": "calibration-mono"})  # back for the other tests


def test_load_result_has_the_preflight_fields_and_a_verified_event(rig, sample_library):
    p, lead = rig["player"], rig["lead"]
    res = lead.request("load", {"film": "calibration-mono"})
    film = sample_library.films["calibration-mono"]
    assert res["sha256"] == film.sha256 and res["sha256_ok"] is True
    assert res["has_audio"] is True and res["audio_output"] == "null"
    verified = [e for e in log_events(p.log) if e["type"] == "film.verified"]
    assert verified and verified[-1]["data"]["sha256_ok"] is True
    assert verified[-1]["data"]["expected"] == film.sha256
    status = lead.request("status")
    assert status["controller"]["sha256_ok"] is True

    from facilitator.console.preflight import preflight_checks

    rows = {r["label"]: r for r in preflight_checks(film, res, status, {"connected": True})}
    assert rows["Film hash (sha256)"]["ok"] is True
    assert rows["Audio"]["ok"] is not False
