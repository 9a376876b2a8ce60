"""``viewpoint-facilitator group``: find players, and run a group of paired players (or a local rehearsal).

    viewpoint-facilitator group discover [--wait 3]             # players announced on the network (mDNS)
    viewpoint-facilitator group run --players a,b,c [--film F]  # a group of paired players, commands on stdin
    viewpoint-facilitator group rehearse 4                      # 4 local headless players, commands on stdin
    ... --script "start; play; wait 5; pause; seek 12; chapter middle; play; wait 3; status"

Commands (one per line or separated by ';'): ``start [CODE ...]`` (a session with the viewers' consent on each
headset, one participant code per headset in order, generated when none are given: a player plays only inside
a consented session), ``play``, ``pause``, ``seek T``, ``chapter ID``, ``load FILM``,
``welfare PLAYER stop|soften|resume``, ``rejoin PLAYER``, ``status`` (the group view as JSON), ``wait S``,
``quit``. The group's own record (commands, instants, answers, clock figures) goes to ``--record`` as JSON
lines.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from player import protocol as P

HELP = "group sessions: discover players, run a group in sync, rehearse with local headless players"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="group_action", metavar="ACTION", required=True)
    d = sub.add_parser("discover", help="list players announced on the local network, and the paired ones")
    d.add_argument("--wait", type=float, default=3.0, help="seconds to listen for announcements")
    d.add_argument("--manual", action="append", default=[], help="also list HOST:PORT (repeatable)")
    for name, help_text in (
        ("run", "a group of paired players; commands from --script or stdin"),
        ("rehearse", "start N local headless players paired with a throw-away identity; commands as for run"),
    ):
        s = sub.add_parser(name, help=help_text)
        if name == "run":
            s.add_argument(
                "--players", required=True, help="comma-separated paired player names or endpoints"
            )
        else:
            s.add_argument("count", type=int, help="how many local players (1..16)")
        s.add_argument("--group-name", default="group", help="the group's name (logged by every player)")
        s.add_argument("--film", help="load this film on every player first")
        s.add_argument("--script", help="commands separated by ';' instead of reading stdin")
        s.add_argument("--record", type=Path, help="append the group's record to this JSON-lines file")


def run(args: argparse.Namespace) -> int:
    if args.group_action == "discover":
        return _discover(args)
    if args.group_action == "rehearse":
        return _rehearse(args)
    return _run_paired(args)


def _discover(args: argparse.Namespace) -> int:
    from facilitator.client import FacilitatorHome
    from facilitator.group.discovery import Discovery

    home = FacilitatorHome(args.home, name=getattr(args, "name", None))
    paired = {rec.get("endpoint"): name for name, rec in home.players().items()}
    with Discovery(args.manual) as d:
        if d.mdns_error:
            print(f"note: {d.mdns_error}", file=sys.stderr)
        time.sleep(max(0.0, args.wait))
        found = d.players()
    for p in found:
        status = f"paired as {paired[p.endpoint]}" if p.endpoint in paired else "not paired"
        fp = p.properties.get("fp", "")
        print(f"{p.name:24} {p.endpoint:28} {p.source:6} {fp:10} {status}")
    for endpoint, name in paired.items():
        if endpoint not in {p.endpoint for p in found}:
            print(f"{name:24} {endpoint:28} {'paired':6} {'':10} not seen now")
    return 0


def _run_paired(args: argparse.Namespace) -> int:
    from facilitator.client import ClientError, FacilitatorHome

    home = FacilitatorHome(args.home, name=getattr(args, "name", None))
    names = [n.strip() for n in args.players.split(",") if n.strip()]
    if not names:
        print("viewpoint-facilitator: --players: name at least one paired player", file=sys.stderr)
        return 2
    clients = {}
    try:
        for n in names:
            clients[n] = home.client(n, timeout=args.timeout)
    except ClientError as e:
        print(f"viewpoint-facilitator: {e}", file=sys.stderr)
        return 2
    return _session(args, clients)


def _rehearse(args: argparse.Namespace) -> int:
    from facilitator.group.rehearsal import REHEARSAL_FILM, Rehearsal, write_rehearsal_library

    if not 1 <= args.count <= 16:
        print("viewpoint-facilitator: count: 1..16 local players", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="viewpoint-rehearsal-") as tmp:
        manifest = write_rehearsal_library(Path(tmp) / "library")
        with Rehearsal(Path(tmp) / "players", args.count, manifest) as r:
            print(f"{args.count} local players running (film {REHEARSAL_FILM!r}, chapters opening, middle)")
            return _session(args, r.clients())


def _session(args: argparse.Namespace, clients: dict[str, Any]) -> int:
    from facilitator.group.controller import GroupController, GroupError, JsonlRecorder

    recorder = JsonlRecorder(args.record) if args.record else None
    g = GroupController(args.group_name, record=recorder)
    try:
        for name, client in clients.items():
            g.add(name, client)
        if not g.wait_ready(10):
            late = [n for n, m in g.members.items() if not m.estimator.samples]
            print(f"viewpoint-facilitator: no clock answer from {', '.join(late)}", file=sys.stderr)
            return 1
        if args.film:
            g.load(args.film)
        lines = args.script.split(";") if args.script else sys.stdin
        for line in lines:
            try:
                if not _command(g, line.strip()):
                    break
            except (GroupError, ValueError) as e:
                print(f"error: {e}", file=sys.stderr)
        g.record_clock_figures()
        return 0
    finally:
        g.close()
        for c in clients.values():
            c.close()
        if recorder is not None:
            recorder.close()


def _command(g: Any, line: str) -> bool:
    """Run one command line; False to stop."""
    if not line or line.startswith("#"):
        return True
    words = shlex.split(line)
    cmd, rest = words[0].lower(), words[1:]

    def need(n: int, usage: str) -> None:
        if len(rest) != n:
            raise ValueError(f"{cmd}: usage: {usage}")

    if cmd in ("quit", "exit"):
        return False
    if cmd == "start":
        names = list(g.members)
        codes = rest or [P.new_participant_code() for _ in names]
        if len(codes) != len(names):
            raise ValueError(f"start: usage: start [one participant code per headset: {', '.join(names)}]")
        g.start_sessions(dict(zip(names, codes, strict=True)), {"given": True, "method": "verbal"})
        print("sessions started: " + ", ".join(f"{n} {c}" for n, c in zip(names, codes, strict=True)))
        return True
    if cmd == "status":
        print(json.dumps(g.state(), indent=2))
    elif cmd == "wait":
        need(1, "wait SECONDS")
        time.sleep(float(rest[0]))
    elif cmd in ("play", "pause"):
        need(0, cmd)
        r = getattr(g, cmd)()
        print(f"{cmd} at +{r['lead_s']:.3f} s, media {r['media_t']:.3f} s")
    elif cmd == "seek":
        need(1, "seek SECONDS")
        r = g.seek(float(rest[0]))
        print(f"seek to {r['media_t']:.3f} s at +{r['lead_s']:.3f} s")
    elif cmd == "chapter":
        need(1, "chapter ID")
        r = g.chapter(rest[0])
        print(f"chapter {rest[0]} ({r['media_t']:.3f} s) at +{r['lead_s']:.3f} s")
    elif cmd == "load":
        need(1, "load FILM")
        g.load(rest[0])
        print(f"loaded {rest[0]}")
    elif cmd == "welfare":
        need(2, "welfare PLAYER stop|soften|resume")
        print(json.dumps(g.welfare(rest[0], rest[1])))
    elif cmd == "rejoin":
        need(1, "rejoin PLAYER")
        print(json.dumps(g.rejoin(rest[0])))
    else:
        raise ValueError(
            f"unknown command {cmd!r} (play, pause, seek, chapter, load, welfare, rejoin, status, wait)"
        )
    return True
