"""`viewpoint-facilitator` against a real headless player: pair, status, send, annotate, tail, sessions,
export, purge; bad input gets one precise line and exit status 2."""

from __future__ import annotations

import csv
import io
import json

import pytest

from facilitator.cli import build_parser, main, parse_send_args
from tests.session_support import Player

pytestmark = pytest.mark.timeout(120)


def run(capsys, *argv) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_parse_send_args():
    assert parse_send_args(["t=12.5", "film=calibration-mono", "play=true", 'tags=["a"]']) == {
        "t": 12.5,
        "film": "calibration-mono",
        "play": True,
        "tags": ["a"],
    }


def test_extensions_can_add_subcommands():
    sub = next(a for a in build_parser()._actions if getattr(a, "choices", None) and "pair" in a.choices)
    assert {"pair", "status", "send", "annotate", "tail", "sessions", "export", "purge"} <= set(sub.choices)


def test_the_cli_end_to_end(sample_manifest, tmp_path, capsys):
    home = str(tmp_path / "fac")
    p = Player(sample_manifest, tmp_path / "player", "room-1").start()
    try:
        status, out, err = run(capsys, "--home", home, "status")
        assert status == 2 and "none paired yet" in err
        status, out, err = run(capsys, "--home", home, "--name", "alice", "pair", p.endpoint, p.pairing_code)
        assert status == 0 and "paired with room-1" in out, err
        status, out, _ = run(capsys, "--home", home, "status")
        assert status == 0 and "room-1" in out and "calibration-mono" in out
        status, out, _ = run(capsys, "status", "--home", home, "--json")  # options after the subcommand too
        assert json.loads(out)["player"] == "room-1"
        status, out, err = run(
            capsys,
            "--home",
            home,
            "send",
            "session.start",
            "participant=P-5",
            '--args={"consent": {"given": true}}',
        )
        assert status == 0, err
        session = json.loads(out)["session"]
        status, out, _ = run(capsys, "--home", home, "send", "seek", "t=1.25")
        assert status == 0
        status, out, err = run(capsys, "--home", home, "send", "seek", "t=soon")
        assert status == 2 and "bad_args" in err and "args.t" in err
        status, out, err = run(capsys, "--home", home, "send", "seek", "t")
        assert status == 2 and "KEY=VALUE" in err
        status, out, _ = run(capsys, "--home", home, "annotate", "said stop", "--tags", "welfare,verbal")
        assert status == 0 and json.loads(out)["ref"] > 0
        status, out, _ = run(capsys, "--home", home, "tail", "--count", "5", "--since", "session")
        lines = [json.loads(x) for x in out.splitlines()]
        assert status == 0 and len(lines) == 5 and lines[0]["type"] == "session.started"
        status, out, _ = run(capsys, "--home", home, "send", "session.end")
        assert status == 0
        status, out, _ = run(capsys, "--home", home, "export", session, "--format", "csv", "--fetch")
        rows = list(csv.DictReader(io.StringIO(out)))
        assert status == 0 and rows[0]["type"] == "session.started" and rows[-1]["type"] == "session.ended"
        assert [int(r["seq"]) for r in rows] == list(range(1, len(rows) + 1))
        assert any(r["type"] == "annotation.added" and "said stop" in r["data"] for r in rows)
        out_file = tmp_path / "s.jsonl"
        status, _, err = run(
            capsys, "--home", home, "export", "latest", "--format", "jsonl", "-o", str(out_file)
        )
        assert status == 0 and json.loads(out_file.read_text().splitlines()[0])["session"] == session
        status, out, _ = run(capsys, "--home", home, "sessions")
        assert status == 0 and session in out and "P-5" in out
        status, out, _ = run(capsys, "--home", home, "sessions", "--remote", "--json")
        assert any(s["id"] == session for s in json.loads(out)["sessions"])
        status, out, err = run(capsys, "--home", home, "export", "nope", "--format", "csv")
        assert status == 2 and "nope: no such session" in err
        status, out, _ = run(capsys, "--home", home, "purge", "--older-than", "0", "--on-player")
        assert status == 0 and "purged" in out
        status, out, _ = run(capsys, "--home", home, "send", "events", "limit=1000")
        events = json.loads(out)["events"]
        assert not any(e["session"] == session for e in events)
        purged = [e for e in events if e["type"] == "log.purged"]
        assert purged and session in purged[-1]["data"]["sessions"]
    finally:
        p.stop()
    status, out, err = run(capsys, "--home", home, "--timeout", "0.3", "status")
    assert status == 1 and "no answer" in err


def test_non_interactive_pairing_with_certificate_files(tmp_path, capsys):
    from player.protocol.keys import load_or_create_identity, read_cert_metadata

    home = str(tmp_path / "fac")
    status, out, _ = run(capsys, "--home", home, "pair", "--show-cert")
    cert = out.splitlines()[0]
    assert status == 0 and cert.endswith("facilitator.key") and "fingerprint" in out
    player = load_or_create_identity(tmp_path / "player-keys", "player")
    status, out, err = run(
        capsys,
        "--home",
        home,
        "pair",
        "tcp://10.0.0.5:5555",
        "--player-cert",
        str(player.public_file),
        "--as",
        "room-3",
    )
    assert status == 0, err
    rec = json.loads((tmp_path / "fac" / "players" / "room-3.json").read_text())
    assert rec["endpoint"] == "tcp://10.0.0.5:5555" and rec["role"] == "lead"
    assert read_cert_metadata(tmp_path / "fac" / "players" / "room-3.key") == {"name": "room-3"}
    status, out, err = run(
        capsys, "--home", home, "pair", "tcp://x:1", "--player-cert", str(tmp_path / "none")
    )
    assert status == 2 and "none" in err


def test_tail_says_when_the_player_is_lost(sample_manifest, tmp_path):
    """Each step waits for the one before (the stream is running, then the player goes, then the tail says
    so), so a slow machine only makes it take longer; Ctrl-C ends the tail with status 0."""
    import os
    import signal
    import subprocess
    import sys
    import threading

    from tests.session_support import make_home
    from tests.support import wait_for

    p = Player(sample_manifest, tmp_path / "player", "room-9").start()
    lines: dict[str, list[str]] = {"out": [], "err": []}
    try:
        home = make_home(tmp_path / "fh", "alice")
        p.authorize(home)
        env = dict(os.environ, VIEWPOINT_FACILITATOR_HOME=str(tmp_path / "fh"))
        tail = subprocess.Popen(
            [sys.executable, "-m", "facilitator.cli", "tail", "--duration", "120", "--no-store"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        readers = [
            threading.Thread(target=lambda s=stream, k=key: lines[k].extend(iter(s.readline, "")))
            for key, stream in (("out", tail.stdout), ("err", tail.stderr))
        ]
        for r in readers:
            r.daemon = True
            r.start()
        with p.client(home) as lead:  # a session and its film: events to follow, until the tail shows one
            lead.request("session.start", {"participant": "P-078", "consent": {"given": True}})
            flowing = False
            for i in range(60):
                lead.request("pause" if i % 2 else "play")
                if wait_for(lambda: any('"type": ' in line for line in lines["out"]), 1.0, step=0.1):
                    flowing = True
                    break
        assert flowing, ("the tail showed no event", lines)
        p.kill()  # SIGKILL: no goodbye
        lost = "room-9: lost (no heartbeat for 2.5 s); still listening"
        assert wait_for(lambda: any(lost in line for line in lines["err"]), 60, step=0.1), lines["err"]
        tail.send_signal(signal.SIGINT)  # Ctrl-C
        assert tail.wait(30) == 0, lines["err"]
    finally:
        p.stop()
        if tail.poll() is None:
            tail.kill()
