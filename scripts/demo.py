"""The demo behind `make demo`: make and check the sample library, QA it headless, then run a whole scripted
facilitated session (headless player, scripted facilitator over CURVE-secured ZeroMQ, the participant
answering the example programme before and after the film) and write its report, then a programme report."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from content_manifest.cli import main as manifest_main
from content_manifest.sample import write_sample_library
from facilitator.console.demo import DEMO_FILM, run_demo_session
from facilitator.programme.demo import demo_programme, write_demo_programme_report
from facilitator.report.sources import from_player_log
from player.cli import main as player_main


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", type=Path, default=Path("build/demo"))
    args = ap.parse_args(argv)
    out = args.out.resolve()
    manifest = write_sample_library(out / "library")
    print(f"demo: sample library {manifest}")
    if manifest_main(["check", str(manifest), "--verify-media"]) != 0:
        return 1
    junit = out / "qa.xml"
    if player_main(["qa", "--manifest", str(manifest), "--junit", str(junit)]) != 0:
        print(f"demo: QA failed, see {junit}")
        return 1
    print(f"demo: QA passed for every film ({junit})")
    programme = demo_programme(manifest, DEMO_FILM)
    run_demo_session(out, library=manifest)
    session = from_player_log(out / "session" / "player-log.sqlite")  # the scripted session, just ended
    write_demo_programme_report(out, programme, session, film=DEMO_FILM)
    return 0


if __name__ == "__main__":
    sys.exit(main())
