"""A facilitated session end to end, inside the xr root: `viewpoint-player play --backend openxr --listen ...`
(the real CLI) against Monado's remote driver, and a facilitator client paired over ZeroMQ/CURVE.

The viewer's "I need a break" button (a real controller press through OpenXR actions) must pause and reach the
facilitator as an event; the facilitator's pause and play commands must work; everything must be in the
player's session log. Writes a JSON report (used by tests/test_xr.py).

usage: python scripts/xr/facilitated.py --library MANIFEST --film ID --workdir DIR --report OUT.json
"""

from __future__ import annotations

import argparse
import json
import signal
import sqlite3
import sys
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from listening_player import ListeningPlayer, script_main


def run(args: argparse.Namespace) -> dict:
    from monado_remote import MonadoRemote

    from facilitator.client import FacilitatorHome, pair

    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    log_path, cli_report = work / "session.sqlite", work / "play-report.json"
    launched = ListeningPlayer(args, work, ["--report", str(cli_report)])
    player, endpoint = launched.proc, launched.endpoint
    report: dict = {"ok": False}
    events: list[dict] = []
    try:
        home = FacilitatorHome(work / "facilitator", name="facilitator-test")
        paired = pair(endpoint, launched.pairing_code(), home)
        client = home.client(paired.player)
        client.hello()
        client.subscribe(on_event=events.append, since="session")

        def wait_event(kind: str, after: int = 0, timeout: float = 20.0, **match: object) -> dict | None:
            end = time.monotonic() + timeout
            while time.monotonic() < end:
                for e in events[after:]:
                    data = e.get("data") or {}
                    if e.get("type") == kind and all(data.get(k) == v for k, v in match.items()):
                        return e
                time.sleep(0.05)
            return None

        steps: list[dict] = []
        report["steps"] = steps
        report["events"] = events
        focused = wait_event("viewer.focus_gained", timeout=30)
        steps.append({"step": "focused", "seen": focused is not None})
        # the player waits in the lobby until a facilitator starts a session with consent (docs/protocol.md)
        mark = len(events)
        client.request("session.start", {"participant": "P-XR1", "consent": {"given": True}})
        client.request("play")
        steps.append({"step": "session", "playing": wait_event("transport.playing", mark) is not None})
        remote = MonadoRemote()
        mark = len(events)
        remote.press("right", "b_click")  # the viewer asks for a break
        brk = wait_event("viewer.break_request", mark)
        paused = wait_event("transport.paused", mark)
        steps.append({"step": "break", "event": brk, "paused": paused is not None})
        mark = len(events)
        client.request("play")
        steps.append({"step": "play", "playing": wait_event("transport.playing", mark) is not None})
        mark = len(events)
        client.request("pause")  # the facilitator pauses
        steps.append(
            {"step": "facilitator_pause", "paused": wait_event("transport.paused", mark) is not None}
        )
        mark = len(events)
        client.request("play")
        steps.append(
            {"step": "facilitator_play", "playing": wait_event("transport.playing", mark) is not None}
        )
        ended = wait_event("transport.ended", mark, timeout=30)
        steps.append({"step": "ended", "seen": ended is not None})
        # a facilitated player stays up after the film (standby); the operator stops it like Ctrl-C
        player.send_signal(signal.SIGINT)
        rc = player.wait(60)
        client.close()
        remote.close()
        logged: list[str] = []
        if log_path.exists():
            con = sqlite3.connect(log_path)
            try:
                tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")]
                table = "events" if "events" in tables else tables[0]
                cols = [r[1] for r in con.execute(f"PRAGMA table_info({table})")]
                col = "type" if "type" in cols else "kind"
                logged = [r[0] for r in con.execute(f"SELECT {col} FROM {table} ORDER BY rowid")]
            finally:
                con.close()
        report.update(
            ok=True,
            rc=rc,
            steps=steps,
            event_types=[e.get("type") for e in events],
            logged_types=logged,
            cli_report=json.loads(cli_report.read_text()) if cli_report.exists() else None,
        )
    except Exception:
        report["traceback"] = traceback.format_exc()
    finally:
        launched.end(report)
    return report


def main(argv: list[str] | None = None) -> int:
    return script_main(run, __doc__.splitlines()[0], argv)


if __name__ == "__main__":
    sys.exit(main())
