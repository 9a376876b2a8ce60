"""`viewpoint-facilitator console`: start the web console and open it in the browser."""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading
import webbrowser
from pathlib import Path

from facilitator.console import security, session_flow
from facilitator.console.server import DEFAULT_QUICK_TAGS, ConsoleServer

HELP = "start the facilitator's web console (localhost; LAN only with its token) and open the browser"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "players", nargs="*", help="paired players by name or endpoint (default: every paired player)"
    )
    p.add_argument(
        "--library", type=Path, help="film library manifest (default with --with-player: the sample films)"
    )
    p.add_argument(
        "--with-player",
        choices=("headless", "desktop"),
        help="also start a player on this computer (headless, or in a window) and pair with it",
    )
    p.add_argument(
        "--host", default="127.0.0.1", help="address to serve on (default 127.0.0.1; 0.0.0.0 for the LAN)"
    )
    p.add_argument("--port", type=int, default=8700, help="port to serve on (default 8700; 0 for any)")
    p.add_argument("--token", help="access token (default: a new random one each run)")
    p.add_argument("--no-browser", action="store_true", help="print the URL instead of opening the browser")
    p.add_argument(
        "--quick-tags",
        default=",".join(DEFAULT_QUICK_TAGS),
        help="comma-separated note tags for keys 1-9 (default: %(default)s)",
    )
    p.add_argument(
        "--auto-pause", action="store_true", help="pause at the end of each chapter for discussion"
    )
    p.add_argument(
        "--reports", type=Path, default=None, help="folder for session reports (default: HOME/reports)"
    )
    p.add_argument("--observer", action="store_true", help="read-only console (no commands)")
    p.add_argument(
        "--site", type=session_flow.label_type("--site"),
        help="programme site label sent with each session.start (not participant data; docs/evaluation.md)",
    )  # fmt: skip
    p.add_argument(
        "--cohort", type=session_flow.label_type("--cohort"),
        help="programme cohort label sent with each session.start (the page may change both)",
    )  # fmt: skip
    p.add_argument(
        "--group",
        nargs="?",
        const="",
        metavar="NAME",
        help="run the players as one group in sync (page /group; default name: group-DATE-TIME)",
    )
    p.add_argument(
        "--rehearse",
        type=int,
        metavar="N",
        help="a group of N local headless players (1..16) with a tiny rehearsal film, no headsets needed",
    )
    p.add_argument(
        "--record", type=Path, help="with --group: also append the group's record to this JSONL file"
    )


def run(args: argparse.Namespace) -> int:
    from content_manifest import LibraryUnavailable, load_library, open_library
    from facilitator.client import ClientError, FacilitatorHome

    library = None
    if args.library is not None:
        try:
            library = open_library(args.library)
        except LibraryUnavailable as exc:
            print(f"viewpoint-facilitator console: {exc}", file=sys.stderr)
            return 2
    if not security.is_loopback(args.host):
        print(f"Serving on {args.host}: the console is reachable from the network, with its token only.")
    home = FacilitatorHome(getattr(args, "home", None), name=getattr(args, "name", None))
    if args.with_player and library is None:
        from content_manifest.sample import write_sample_library

        args.library = write_sample_library(home.path / "sample-library")
        library = load_library(args.library)
        print(f"no --library: using the sample films in {args.library.parent}")
    tags = [t.strip() for t in args.quick_tags.split(",") if t.strip()][:9]
    local = None
    rehearsal = None
    links = {}
    store = None
    try:
        from facilitator.store import FacilitatorStore, StoreError

        store = FacilitatorStore(home.store_path)
    except (ImportError, StoreError, OSError) as exc:
        print(f"warning: no facilitator store ({exc}); reports use the player's log only", file=sys.stderr)
    try:
        if args.with_player:
            from facilitator.console.localplayer import LocalPlayerError, start_local_player

            work = home.path / "local-player"
            extra = ["--name", f"local-{args.with_player}"]
            if args.with_player == "headless":
                from facilitator.console.demo import HEAD_SCRIPT

                script = work / "look-around.yaml"
                script.parent.mkdir(parents=True, exist_ok=True)
                script.write_text(HEAD_SCRIPT, encoding="utf-8")  # a scripted viewer who looks around
                extra += ["--head-script", str(script), "--eye-size", "128x128", "--display-rate", "30"]
            try:
                local = start_local_player(
                    args.library, work, backend=args.with_player, home=home, extra_args=extra
                )
            except LocalPlayerError as exc:
                print(f"viewpoint-facilitator console: {exc}", file=sys.stderr)
                return 1
            print(f"player ({args.with_player}) on {local.endpoint}; its log: {local.log_path}")
            links["local"] = local.link(f"this computer ({args.with_player})", store=store)
        from facilitator.console.link import ClientLink

        if args.rehearse is not None:
            from facilitator.group.rehearsal import Rehearsal, write_rehearsal_library

            if not 1 <= args.rehearse <= 16:
                print("viewpoint-facilitator console: --rehearse: 1..16 local players", file=sys.stderr)
                return 2
            work = home.path / "rehearsal"
            manifest = write_rehearsal_library(work / "library")
            library = load_library(manifest)
            try:
                rehearsal = Rehearsal(work / "players", args.rehearse, manifest).start()
            except RuntimeError as exc:
                print(f"viewpoint-facilitator console: rehearsal: {exc}", file=sys.stderr)
                return 1
            mains, urgents = rehearsal.clients(), rehearsal.clients()
            for pname in mains:
                links[pname] = ClientLink(mains[pname], urgents[pname], name=pname, store=store)
            print(f"{args.rehearse} local headless players running (film 'rehearsal') under {work}")
            if args.group is None:
                args.group = ""
        targets = args.players or ([] if links else list(home.players()))
        for target in targets:
            try:
                main, urgent = home.client(target), home.client(target)
            except ClientError as exc:
                print(f"viewpoint-facilitator console: {exc}", file=sys.stderr)
                return 2
            links[target] = ClientLink(main, urgent, name=target, store=store)
        if not links:
            print(
                "viewpoint-facilitator console: no player: pair one first ('viewpoint-facilitator pair'), "
                "name one, or use --with-player headless|desktop",
                file=sys.stderr,
            )
            return 2
        group = None
        if args.group is not None:
            from facilitator.console.group import make_group_console

            def link_factory(target: str) -> ClientLink:  # the group page's "add a paired headset"
                return ClientLink(home.client(target), home.client(target), name=target, store=store)

            # discover: a paired headset announced on the network (mDNS) can be added from the group page
            group = make_group_console(
                links, name=args.group or None, library=library, store=store, record_jsonl=args.record,
                link_factory=link_factory, discover=args.rehearse is None, paired=home.players,
            )  # fmt: skip
            print(f"group {group.name}: {len(links)} players; the group view is at /group")
        try:
            server = ConsoleServer(
                links, library=library, host=args.host, port=args.port, token=args.token, quick_tags=tags,
                report_dir=args.reports or home.path / "reports", auto_pause=args.auto_pause,
                read_only=args.observer, group=group,
            )  # fmt: skip
        except ValueError as exc:  # the programme's participant-codes.yaml is wrong: the message names it
            print(f"viewpoint-facilitator console: {exc}", file=sys.stderr)
            return 2
        server.participant.store_path = store.path if store is not None else None
        server.participant.site, server.participant.cohort = args.site, args.cohort
        try:
            url = server.start()
        except OSError as exc:
            print(
                f"viewpoint-facilitator console: cannot serve on {args.host}:{args.port}: {exc}",
                file=sys.stderr,
            )
            return 1
        print(f"Viewpoint console: {url}", flush=True)
        if group is not None:
            url = url.replace("/?token=", "/group?token=", 1)
            print(f"Group view: {url}", flush=True)
        if not args.no_browser:
            with contextlib.suppress(Exception):
                webbrowser.open(url)
        done = threading.Event()
        with contextlib.suppress(ValueError):  # not on the main thread (tests)
            signal.signal(signal.SIGTERM, lambda *_: done.set())
        try:
            while not done.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
        print("stopping the console…")
        server.stop()
        return 0
    finally:
        if local is not None:
            local.stop()
        if rehearsal is not None:
            rehearsal.stop()
        if store is not None:
            store.close()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="viewpoint-facilitator console", description=HELP)
    add_arguments(p)
    return run(p.parse_args(argv))
