"""The console's parts that need no browser: access rules, the pre-flight checklist, the page's film data,
the command line, and the scripted demo session (a real headless player) with its report."""

from __future__ import annotations

import json
import sqlite3
import stat
import sys

import pytest

from facilitator.cli import build_parser
from facilitator.cli import main as facilitator_main
from facilitator.console import security
from facilitator.console.library import library_json
from facilitator.console.preflight import preflight_checks


def test_access_rules():
    tok = security.new_token()
    assert len(tok) >= 20 and security.token_ok(tok, tok)
    assert not security.token_ok(tok, None) and not security.token_ok(tok, tok + "x")
    for host in ("127.0.0.1:8700", "localhost:8700", "[::1]:8700"):
        assert security.host_allowed(host, "127.0.0.1")
    assert not security.host_allowed("attacker.example:8700", "127.0.0.1")  # DNS rebinding
    assert not security.host_allowed(None, "127.0.0.1")
    assert security.host_allowed("192.168.1.20:8700", "0.0.0.0")
    assert not security.host_allowed("console.lan:8700", "0.0.0.0")
    assert security.origin_allowed("http://127.0.0.1:8700", "127.0.0.1:8700")
    assert not security.origin_allowed("http://evil.example", "127.0.0.1:8700")
    assert security.is_loopback("::1") and not security.is_loopback("0.0.0.0")


def test_preflight_rows(sample_library):
    film = sample_library.films["calibration-mono"]
    health = {"connected": True, "player_name": "headset-1", "rtt_ms": 2.4}
    status = {"controller": {"state": "loaded", "volume": 1.0, "muted": False}}
    rows = {r["label"]: r for r in preflight_checks(film, {"film": film.id, "duration": 6.0}, status, health)}
    assert rows["Headset connection"]["ok"] and "round trip 2 ms" in rows["Headset connection"]["value"]
    assert rows["Runtime"]["ok"] and rows["Runtime"]["value"] == "0:06.0 (manifest 0:06.0)"
    assert rows["Film hash (sha256)"]["ok"] is None  # not reported: shown, not blocking
    assert rows["Audio"]["ok"] is True and "headset volume 100%" in rows["Audio"]["value"]
    bad = {r["label"]: r for r in preflight_checks(
        film, {"film": film.id, "duration": 4.0, "sha256": "0" * 64}, {"muted": True, "volume": 1.0},
        {"connected": False},
    )}  # fmt: skip
    assert bad["Runtime"]["ok"] is False and bad["Headset connection"]["ok"] is False
    assert bad["Film hash (sha256)"]["ok"] is False and "DOES NOT match" in bad["Film hash (sha256)"]["value"]
    assert bad["Audio"]["ok"] is False and "MUTED" in bad["Audio"]["value"]
    good_hash = preflight_checks(film, {"sha256": film.sha256, "duration": 6.0}, {}, health)
    assert next(r for r in good_hash if r["label"].startswith("Film hash"))["ok"] is True


def test_film_data_for_the_page(sample_library):
    films = {f["id"]: f for f in library_json(sample_library)}
    mono = films["calibration-mono"]
    assert [(c["id"], c["start"], c["end"]) for c in mono["chapters"]] == [
        ("intro", 0.0, 2.0), ("look-around", 2.0, 4.5), ("close", 4.5, 6.0)
    ]  # fmt: skip
    assert mono["content_warnings"][0]["tags"] == ["flashing-lights", "loud-noise"]
    assert mono["audience"]["min_age"] == 12 and mono["safe_points"] == [0.0, 2.0, 4.5]
    json.dumps(films)  # plain JSON


def test_console_and_report_are_facilitator_subcommands():
    p = build_parser()
    args = p.parse_args(["console", "--with-player", "headless", "--no-browser", "--port", "0"])
    assert (
        args.with_player == "headless"
        and args.port == 0
        and args.func.__module__ == "facilitator.console.cli"
    )
    args = p.parse_args(["report", "latest", "-o", "r.html"])
    assert args.func.__module__ == "facilitator.report.cli"


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_the_scripted_demo_session_writes_its_report(tmp_path, sample_manifest, capsys):
    from facilitator.console.demo import run_demo_session

    lines: list[str] = []
    report = run_demo_session(tmp_path, library=sample_manifest, say=lines.append)
    assert report.is_file() and lines[-1] == f"demo: report written: {report}"
    assert any("play before consent refused by the player (no_consent)" in line for line in lines)  # issue 14
    html = report.read_text(encoding="utf-8")
    assert "P-D01" in html and "asked to pause; talked it through; on" in html and "Welfare: STOP" in html
    log = tmp_path / "session" / "player-log.sqlite"
    if sys.platform != "win32":  # the log, and the player's output with its pairing code: owner only
        for private in (log, tmp_path / "session" / "player-output.txt", report):
            assert stat.S_IMODE(private.stat().st_mode) == 0o600, private
    db = sqlite3.connect(log)
    sid, consent = db.execute("SELECT id, consent FROM sessions WHERE participant='P-D01'").fetchone()
    kinds = [r[0] for r in db.execute("SELECT type FROM events WHERE session=? ORDER BY seq", (sid,))]
    poses = db.execute("SELECT sum(count) FROM poses WHERE session=?", (sid,)).fetchone()[0]
    db.close()
    assert json.loads(consent)["given"] is True and poses > 50
    levels = [k for k in kinds if k == "welfare.changed"]
    assert len(levels) == 4 and kinds[0] == "session.started" and kinds[-1] == "session.ended"
    assert kinds.count("annotation.added") == 3 and "annotation.edited" in kinds
    # the same report from the command line, straight from the player's log
    out = tmp_path / "again.html"
    assert (
        facilitator_main(
            ["report", sid, "--log", str(log), "-o", str(out), "--library", str(sample_manifest)]
        )
        == 0
    )
    assert out.read_text(encoding="utf-8").count("data:image/jpeg") == 4
