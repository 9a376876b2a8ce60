"""`viewpoint-facilitator report SESSION -o report.html`: a session's report (`--json`: its figures)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from facilitator.report.aoi import NOT_RECORDED, dwell_rows, session_dwell
from facilitator.report.frames import FrameCache
from facilitator.report.html import write_report
from facilitator.report.model import summarise
from facilitator.report.sources import SourceError, from_jsonl, from_player_log, from_store

HELP = "write a session's report: one self-contained HTML file that prints to PDF"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "session",
        nargs="?",
        help="session id, 'latest', or an exported .jsonl file (from `viewpoint-facilitator export`)",
    )
    p.add_argument(
        "--group",
        metavar="NAME",
        help="a group session's report instead ('latest' for the newest group): the group, its sync figures "
        "and each participant, from the facilitator store",
    )
    p.add_argument(
        "-o", "--output", type=Path, default=None, help="HTML file to write (default: report-SESSION.html)"
    )
    p.add_argument(
        "--library", type=Path, default=None, help="film library manifest (adds chapters and pictures)"
    )
    p.add_argument(
        "--json",
        action="store_true",
        help="print the session's figures as one JSON object (areas of interest included) instead of HTML",
    )
    src = p.add_mutually_exclusive_group()
    src.add_argument("--log", type=Path, default=None, help="read a player's session log (SQLite) directly")
    src.add_argument(
        "--store", type=Path, default=None, help="the facilitator's event store (default: its usual place)"
    )


def load_session(args: argparse.Namespace) -> tuple[list[dict], list[tuple[float, ...]]]:
    session = None if args.session == "latest" else args.session
    as_path = Path(args.session)
    if as_path.suffix.lower() in (".jsonl", ".ndjson") or (as_path.is_file() and not args.log):
        return from_jsonl(as_path)
    if args.log is not None:
        return from_player_log(args.log, session)
    store = args.store
    if store is None and getattr(args, "home", None) is not None:
        from facilitator.client import FacilitatorHome

        store = FacilitatorHome(args.home).store_path
    return _from_store(store, session)


def _from_store(path: Path | None, session: str | None) -> tuple[list[dict], list[tuple[float, ...]]]:
    """The facilitator's own copy of the events (facilitator.store)."""
    return from_store(path, session)


def load_film(library_path: Path | None, events: list[dict]) -> Any:
    if library_path is None:
        return None
    from content_manifest import ManifestError, load_library

    try:
        lib = load_library(library_path)
    except ManifestError as exc:
        raise SourceError(f"{library_path}: invalid library manifest:\n{exc}") from None
    except OSError as exc:
        raise SourceError(f"{library_path}: cannot read ({exc})") from None
    film_id = next((e.get("film") for e in events if e.get("film")), None)
    return lib.films.get(film_id) if film_id else None


def run_group(args: argparse.Namespace) -> int:
    """`report --group NAME`: the group report from the facilitator store."""
    from facilitator.report.group import load_group, write_group_report
    from facilitator.store import FacilitatorStore, StoreError

    if args.log is not None:
        print("viewpoint-facilitator report: --group reads the facilitator store, not --log", file=sys.stderr)
        return 2
    path = args.store
    if path is None:
        from facilitator.client import FacilitatorHome

        path = FacilitatorHome(getattr(args, "home", None)).store_path
    try:
        store = FacilitatorStore(path)
    except StoreError as exc:
        print(f"viewpoint-facilitator report: {exc}", file=sys.stderr)
        return 2
    try:
        data = load_group(store, args.group)
        library = None
        if args.library is not None:
            from content_manifest import ManifestError, load_library

            try:
                library = load_library(args.library)
            except (ManifestError, OSError) as exc:
                raise SourceError(f"{args.library}: cannot use the library:\n{exc}") from None
    except SourceError as exc:
        print(f"viewpoint-facilitator report: {exc}", file=sys.stderr)
        return 2
    finally:
        store.close()
    out = args.output or Path(f"group-report-{data.name}.html")
    print(write_group_report(data, out, library=library, frames=FrameCache(capacity=32, bucket_s=0.5)))
    return 0


def run(args: argparse.Namespace) -> int:
    if getattr(args, "group", None):
        return run_group(args)
    if not args.session:
        print("viewpoint-facilitator report: name a session (or 'latest'), or --group NAME", file=sys.stderr)
        return 2
    try:
        events, poses = load_session(args)
        film = load_film(args.library, events)
    except SourceError as exc:
        print(f"viewpoint-facilitator report: {exc}", file=sys.stderr)
        return 2
    if getattr(args, "json", False):
        print(json.dumps(session_figures(events, poses, film), indent=2))
        return 0
    session = next((e.get("session") for e in events if e.get("session")), "session")
    out = args.output or Path(f"report-{session}.html")
    path = write_report(events, out, film=film, poses=poses, frames=FrameCache(capacity=32, bucket_s=0.5))
    _remember(args, session, path)
    print(path)
    return 0


def session_figures(events: list[dict], poses: list[tuple[float, ...]], film: Any = None) -> dict[str, Any]:
    """The report's figures as plain JSON values: session facts, and each area of interest of the film
    (``status``: looked, did not look, not reached, not recorded)."""
    s = summarise(events, poses, float(getattr(film, "front_heading", 0.0) or 0.0))
    recorded = bool(s.gaze) and not s.pose_refused
    return {
        "session": s.session_id,
        "film": s.film,
        "participant": s.participant,
        "started_utc": s.started_utc.isoformat() if s.started_utc else None,
        "watched_s": round(s.watched_s, 3),
        "pauses": s.pauses,
        "seeks": s.seeks,
        "welfare_events": len(s.welfare),
        "notes": len(s.notes),
        "head_tracking": "recorded" if recorded else NOT_RECORDED,
        "areas": dwell_rows(session_dwell(s, list(getattr(film, "areas", None) or []))),
    }


def _remember(args: argparse.Namespace, session: str, path: Path) -> None:
    """A report of a session in the facilitator's store is noted there: purging the session deletes it."""
    if args.log is not None:
        return
    from facilitator.client import FacilitatorHome
    from facilitator.store import FacilitatorStore, StoreError

    store_path = args.store or FacilitatorHome(getattr(args, "home", None)).store_path
    if not Path(store_path).is_file():
        return
    try:
        store = FacilitatorStore(store_path)
    except StoreError:
        return
    try:
        if any(s["id"] == session for s in store.sessions()):
            store.remember_written(session, path, "report")
    finally:
        store.close()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="viewpoint-facilitator report", description=HELP)
    add_arguments(p)
    return run(p.parse_args(argv))
