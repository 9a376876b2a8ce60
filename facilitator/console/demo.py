"""A whole facilitated session, scripted: what `make demo` runs.

A headless player on this machine plays a sample film while a scripted viewer looks around; a scripted
facilitator drives it through the same client the console uses (load, consent, play, notes, soften, stop now,
resume, a prompt, end), and the session report is written from the player's own log.

    from facilitator.console.demo import run_demo_session
    report = run_demo_session(Path("build/demo"))   # prints what it does; returns the report's path
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from facilitator.client import CommandFailed, PlayerClient
from facilitator.console.localplayer import start_local_player
from facilitator.console.participant import programme_for
from facilitator.programme.demo import answer_all
from facilitator.report.frames import FrameCache
from facilitator.report.html import write_report
from facilitator.report.sources import from_player_log

DEMO_FILM = "calibration-mono"
# Where the scripted viewer looks (media seconds; heading clockwise from the film's front, pitch up).
HEAD_SCRIPT = """\
- {t: 0.0, heading: 0, pitch: 0}
- {t: 1.5, heading: -10, pitch: 5}
- {t: 2.5, heading: 85, pitch: 5}
- {t: 4.0, heading: 95, pitch: -5}
- {t: 5.0, heading: 175, pitch: 0}
- {t: 6.0, heading: 185, pitch: 10}
"""


def _wait(client: PlayerClient, pred: Callable[[dict], bool], what: str, timeout: float = 30.0) -> dict:
    deadline = time.monotonic() + timeout
    ctl: dict = {}
    while time.monotonic() < deadline:
        st = client.request("status", {})
        ctl = st.get("controller") if isinstance(st.get("controller"), dict) else st
        if pred(ctl):
            return ctl
        time.sleep(0.1)
    keys = ("state", "media_t", "welfare", "held", "rate", "audio_output")
    seen = {k: ctl.get(k) for k in keys if k in ctl}
    raise TimeoutError(f"demo: the player did not reach {what} within {timeout:g} s (last status: {seen})")


def run_demo_session(
    out_dir: Path | str, *, library: Path | str | None = None, say: Callable[[str], None] = print
) -> Path:
    """Run the scripted session in `out_dir` (sample library made there unless `library` is given)."""
    out_dir = Path(out_dir).resolve()
    if library is None:
        from content_manifest.sample import write_sample_library

        library = write_sample_library(out_dir / "library")
    from content_manifest import load_library

    lib = load_library(library)
    film = lib.films[DEMO_FILM]
    programme = programme_for(lib)  # programme.yaml beside the library (docs/evaluation.md)
    head = out_dir / "demo-head-script.yaml"
    head.parent.mkdir(parents=True, exist_ok=True)
    head.write_text(HEAD_SCRIPT, encoding="utf-8")
    say(f"demo: starting a headless player with {film.title}")
    extra = ["--name", "demo-headset", "--eye-size", "96x96", "--display-rate", "30"]
    extra += ["--head-script", str(head)]
    with start_local_player(library, out_dir / "session", film=DEMO_FILM, extra_args=extra) as player:
        c = player.client(timeout=2.0)
        c.hello()
        say(f"demo: paired with {c.player} at {player.endpoint} (CURVE)")
        loaded = c.request("load", {"film": DEMO_FILM})
        say(f"demo: pre-flight: film loaded, runtime {loaded.get('duration')} s")
        try:  # the player owns consent: before a session with recorded consent nothing plays
            c.request("play", {})
            raise RuntimeError("demo: the player played before consent")
        except CommandFailed as exc:
            say(f"demo: play before consent refused by the player ({exc.code}): the calm scene shows")
        consent = {
            "given": True,
            "method": "verbal",
            "recorded_by": "demo facilitator",
            "pose_capture": True,
            "note": "content warnings (flashing lights, loud noise) shown and acknowledged",
        }
        who = {"participant": "P-D01", "consent": consent, "facilitator": "FAC-1"}
        started = c.request("session.start", who)
        say(f"demo: consent recorded for P-D01, session {started['session']}")
        say(f"demo: P-D01 answered {answer_all(c, programme, 'pre', DEMO_FILM)} questions before the film")
        c.request("play", {})
        _wait(c, lambda s: (s.get("media_t") or 0) >= 1.0, "1 s of film")
        c.request("annotate", {"text": "leaned back at the first flash", "tags": ["engaged"]})
        c.request("welfare", {"action": "soften"})
        say("demo: soften (dimmed, quieter)")
        _wait(c, lambda s: (s.get("media_t") or 0) >= 2.1, "the second chapter")
        c.request("welfare", {"action": "resume"})
        c.request("pause", {})
        c.request("annotate", {"text": "What do you see in front of you?", "tags": ["prompt", "intro"]})
        say("demo: paused at the chapter end for the prompt")
        c.request("play", {})
        _wait(c, lambda s: (s.get("media_t") or 0) >= 3.3, "3.3 s of film")
        c.request("welfare", {"action": "stop"})
        say("demo: STOP NOW (calm scene, muted, paused)")
        time.sleep(0.8)
        note = c.request("annotate", {"text": "asked to pause; talked it through", "tags": ["distress"]})
        c.request("annotation.edit", {"ref": note["ref"], "text": "asked to pause; talked it through; on"})
        c.request("welfare", {"action": "resume"})
        say("demo: resumed")
        _wait(c, lambda s: s.get("state") == "ended" or (s.get("media_t") or 0) >= 5.9, "the film's end", 20)
        say(f"demo: P-D01 answered {answer_all(c, programme, 'post', DEMO_FILM)} questions after the film")
        c.request("session.end", {"reason": "ended_by_facilitator"})
        session = started["session"]
        say("demo: session ended")
    events, poses = from_player_log(player.log_path, session)
    report = write_report(
        events, out_dir / "report.html", film=film, poses=poses, frames=FrameCache(capacity=16, bucket_s=0.5)
    )
    say(f"demo: {len(events)} events and {len(poses)} pose samples in the player's log {player.log_path}")
    say(f"demo: report written: {report}")
    return report


def main(argv: list[str] | None = None) -> int:
    import argparse

    ap = argparse.ArgumentParser(description="Run the scripted demo session and write its report.")
    ap.add_argument("--out", type=Path, default=Path("build/demo"))
    args = ap.parse_args(argv)
    run_demo_session(args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
