"""``viewpoint-facilitator``: pair with players and drive them from scripts and QA.

Subcommands here: ``pair``, ``status``, ``send``, ``annotate``, ``tail``, ``sessions``, ``export``, ``purge``.
Other parts add theirs through :data:`EXTENSIONS` / :func:`register_subcommand`: a module with ``HELP`` (one
line), ``add_arguments(parser)`` and ``run(args) -> int`` (exit status). The global options (``--home``,
``--player``, ``--timeout``) are on ``args`` for them too.

Exit status: 0 done, 1 could not run (player unreachable, file problems), 2 refused (bad input, the player
answered with an error).
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

from facilitator.client import (
    ClientError,
    CommandFailed,
    FacilitatorHome,
    PairingError,
    PlayerClient,
    RequestTimeout,
    pair,
)
from facilitator.store import FacilitatorStore, StoreError, remove_files
from player import protocol as P
from player.protocol.argtypes import number
from player.protocol.keys import KeyFileError
from player.protocol.private import private_replace

PROG = "viewpoint-facilitator"

EXTENSIONS: dict[str, str] = {
    "console": "facilitator.console.cli",
    "report": "facilitator.report.cli",
    "group": "facilitator.group.cli",
    "programme": "facilitator.programme.cli",  # programme collect|push|report (docs/evaluation.md)
}
"""Subcommand name -> module (``HELP``, ``add_arguments``, ``run``); modules that are missing are skipped."""


def register_subcommand(name: str, module: str) -> None:
    """Add a subcommand implemented by ``module`` (see the module docstring)."""
    EXTENSIONS[name] = module


class Failure(Exception):
    """A problem to report in one line, with an exit status."""

    def __init__(self, message: str, status: int = 1):
        super().__init__(message)
        self.status = status


# ------------------------------------------------------------------------------------------- helpers


def _home(args: argparse.Namespace) -> FacilitatorHome:
    return FacilitatorHome(args.home, name=getattr(args, "name", None))


def _connect(args: argparse.Namespace) -> PlayerClient:
    home = _home(args)
    target = args.player
    if target is None:
        players = home.players()
        if len(players) != 1:
            known = ", ".join(players) or "none paired yet: run 'viewpoint-facilitator pair'"
            damaged = "".join(f"; {p} is damaged ({why})" for p, why in home.damaged().items())
            raise Failure(f"--player: say which player ({known}){damaged}", 2)
        target = next(iter(players))
    try:
        return home.client(target, timeout=args.timeout)
    except ClientError as exc:
        raise Failure(str(exc), 2) from None


def _store(args: argparse.Namespace, create: bool = False) -> FacilitatorStore:
    """The store named by --store (which must exist unless the command writes to it), else the home's."""
    given = getattr(args, "store", None)
    if given is not None and not create and not Path(given).exists():
        raise Failure(f"--store {given}: no such file (a store is made by 'tail' or 'export --fetch')", 2)
    path = given or _home(args).store_path
    try:
        return FacilitatorStore(path)
    except StoreError as exc:
        raise Failure(str(exc)) from None


def _print_json(obj: Any) -> None:
    print(json.dumps(obj, indent=2, ensure_ascii=False))


class _NotFinite(ValueError):
    pass


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _NotFinite(text)
    return value


def _no_constant(text: str) -> float:
    raise _NotFinite(text)


def _json(text: str) -> Any:
    """JSON without NaN or infinities (the protocol has none); raises Failure naming the number."""
    try:
        return json.loads(text, parse_float=_finite, parse_constant=_no_constant)
    except _NotFinite as exc:
        raise Failure(f"{exc}: not a finite number", 2) from None


def _parse_value(text: str) -> Any:
    try:
        return _json(text)
    except ValueError:
        return text


def parse_send_args(pairs: list[str]) -> dict[str, Any]:
    """``KEY=VALUE`` words to an args object (values are JSON where they parse as JSON, else strings)."""
    out: dict[str, Any] = {}
    for word in pairs:
        key, sep, value = word.partition("=")
        if not sep or not key:
            raise Failure(f"{word!r}: expected KEY=VALUE (for example t=12.5 or film=calibration-mono)", 2)
        out[key] = _parse_value(value)
    return out


# ------------------------------------------------------------------------------------------- subcommands


def cmd_pair(args: argparse.Namespace) -> int:
    home = _home(args)
    ident = home.identity()
    if args.show_cert:
        print(ident.public_file)
        print(f"fingerprint {ident.fingerprint}: copy this file into the player's KEYS/authorized/ folder")
        return 0
    if args.endpoint is None:
        raise Failure("pair: give the player's address, e.g. tcp://10.0.0.5:5555", 2)
    if args.player_cert is not None:
        from player.protocol.keys import KeyFileError, load_public_key

        try:
            public = load_public_key(args.player_cert)
        except KeyFileError as exc:
            raise Failure(str(exc), 2) from None
        name = args.as_name or args.player_cert.stem
        role = "observer" if args.observer else "lead"
        record = home.remember(name, args.endpoint, public, role, replace=args.replace)
        _say_if_renamed(name, record.stem)
        print(
            f"remembered {record.stem} at {args.endpoint} (player key {_fp(public)}); "
            f"this facilitator's certificate to authorise there: {ident.public_file}"
        )
        return 0
    code = args.code
    if code is None:
        if not sys.stdin.isatty():
            raise Failure("pair: give the code shown on the player", 2)
        code = input("Pairing code shown on the player: ")
    try:
        res = pair(
            args.endpoint,
            code,
            home,
            role="observer" if args.observer else "lead",
            timeout=args.timeout * 5,
            replace=args.replace,
        )
    except PairingError as exc:
        raise Failure(str(exc), 2) from None
    _say_if_renamed(res.player, res.remembered_as)
    print(
        f"paired with {res.remembered_as} at {res.endpoint} as {res.role}; player key {res.fingerprint}, "
        f"this facilitator {ident.fingerprint}"
    )
    return 0


def _say_if_renamed(name: str, remembered_as: str) -> None:
    if remembered_as != name:
        print(
            f"warning: another player (a different key) is already paired as {name!r}; this one is "
            f"remembered as {remembered_as!r} (pair again with --replace if it takes the old one's place)",
            file=sys.stderr,
        )


def _fp(public: bytes) -> str:
    from player.protocol.keys import fingerprint

    return fingerprint(public)


def cmd_status(args: argparse.Namespace) -> int:
    with _connect(args) as client:
        st = client.request("status")
    if args.json:
        _print_json(st)
        return 0
    c = st.get("controller") or {}
    s = st.get("session") or {}
    print(f"player   {st.get('player')}")
    who = f", participant {s['participant']}" if s.get("participant") else ""
    print(f"session  {s.get('id')} ({s.get('kind')}{who})")
    print(f"film     {c.get('film')}  {c.get('state')}  t={c.get('media_t')}  welfare={c.get('welfare')}")
    print(
        f"events   seq {st.get('seq')}; consoles: "
        + (", ".join(f"{x['name']} ({x['role']})" for x in st.get("consoles", [])) or "none")
    )
    return 0


def cmd_send(args: argparse.Namespace) -> int:
    payload = parse_send_args(args.pairs)
    if args.args:
        try:
            extra = _json(args.args)
        except ValueError as exc:
            raise Failure(f"--args: not JSON ({exc})", 2) from None
        if not isinstance(extra, dict):
            raise Failure("--args: expected a JSON object", 2)
        payload.update(extra)
    with _connect(args) as client:
        _print_json(client.request(args.command, payload))
    return 0


def cmd_annotate(args: argparse.Namespace) -> int:
    payload: dict[str, Any] = {"text": args.text}
    tags = [t for group in (args.tags or []) for t in group.split(",") if t]
    if tags:
        payload["tags"] = tags
    if args.at is not None:
        payload["media_t"] = args.at
    with _connect(args) as client:
        _print_json(client.request("annotate", payload))
    return 0


def cmd_tail(args: argparse.Namespace) -> int:
    client = _connect(args)
    store = None if args.no_store else _store(args, create=True)
    count = 0
    done = False

    def out(ev: dict[str, Any]) -> None:
        nonlocal count, done
        if done:
            return
        sys.stdout.write(json.dumps(ev, ensure_ascii=False) + "\n")
        sys.stdout.flush()
        count += 1
        if args.count and count >= args.count:
            done = True

    since: Any = args.since
    name = client.hello().get("player") or client.endpoint

    def keep(ev: dict[str, Any]) -> None:
        if store is not None:
            store.add(name, ev)
        out(ev)

    def keep_pose(sample: dict[str, Any]) -> None:
        if store is not None:
            store.add_pose(name, sample)
        if args.poses:
            out(sample)

    lost = False

    def health(alive: bool) -> None:  # said on stderr; the stream goes on and fills the gap when it is back
        nonlocal lost
        if not alive:
            lost = True
            silent = f"no heartbeat for {P.DEAD_AFTER_S:g} s"
            print(
                f"{PROG}: {name}: lost ({silent}); still listening, Ctrl-C to stop",
                file=sys.stderr,
                flush=True,
            )
        elif lost:
            lost = False
            print(f"{PROG}: {name}: heard again; catching up", file=sys.stderr, flush=True)

    try:
        client.subscribe(on_event=keep, on_pose=keep_pose, on_health=health, since=since)
        if client.snapshot is None:
            raise Failure(f"no answer from {client.endpoint}: is the player running, and paired with you?")
        end = time.monotonic() + args.duration if args.duration else None
        while not done and (end is None or time.monotonic() < end):
            time.sleep(0.05)
    except KeyboardInterrupt:
        pass
    finally:
        client.close()
        if store is not None:
            store.close()
    return 0


def cmd_sessions(args: argparse.Namespace) -> int:
    if args.remote:
        with _connect(args) as client:
            res = client.request("sessions", {"limit": args.limit})
        rows = res["sessions"]
        if args.json:
            _print_json(res)
            return 0
        for r in rows:
            print(
                f"{r['id']}  {r['kind']:<11} {r['participant'] or '-':<12} {r['started_utc']}  "
                f"{r['ended_utc'] or '(running)'}  {r['last_seq']} events"
            )
        return 0
    store = _store(args)
    try:
        rows = store.sessions(facilitated_only=not args.all)[: args.limit]
    finally:
        store.close()
    if args.json:
        _print_json(rows)
        return 0
    for r in rows:
        print(
            f"{r['id']}  {r['player']:<16} {r['participant'] or '-':<12} {r['started_utc']}  "
            f"{r['ended_utc'] or '(open)'}  {r['events']} events"
        )
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    store = _store(args, create=args.fetch)
    try:
        if args.fetch:
            _fetch_into(args, store)
        if args.output is None or str(args.output) == "-":
            store.export(args.session, args.format, sys.stdout)
        else:  # whole or not at all: a temporary file beside it, renamed into place (never someone else's)
            with private_replace(Path(args.output), "w", encoding="utf-8", newline="") as f:
                n = store.export(args.session, args.format, f)
            store.remember_written(store.resolve(args.session), Path(args.output), "export")  # purged with it
            print(f"{args.output}: {n} rows", file=sys.stderr)
    except StoreError as exc:
        raise Failure(str(exc), 2) from None
    finally:
        store.close()
    return 0


def _fetch_into(args: argparse.Namespace, store: FacilitatorStore) -> None:
    """Fill the store with every event the player's log holds after what the store has (gap-fill)."""
    with _connect(args) as client:
        name = client.hello().get("player") or client.endpoint
        pos = store.last_position(name)
        after: dict[str, Any] = {"session": pos[0], "after": pos[1]} if pos else {}
        while True:
            res = client.request("events", {**after, "limit": 1000})
            for ev in res["events"]:
                store.add(name, ev)
            if not res["events"] or not res["more"]:
                break
            last = res["events"][-1]
            after = {"session": last["session"], "after": last["seq"]}


def cmd_purge(args: argparse.Namespace) -> int:
    store = _store(args)
    try:
        ids = store.purge(args.older_than)
    except StoreError as exc:
        raise Failure(str(exc)) from None
    finally:
        store.close()
    print(f"facilitator store: purged {len(ids)} session(s) ended more than {args.older_than:g} days ago")
    reports = _home(args).path / "reports"  # the console's reports of those sessions
    removed, kept = remove_files(str(reports / f"report-{sid}.html") for sid in ids)
    for path in store.removed + removed:
        print(f"  removed {path}")
    for path, why in store.not_removed + kept:
        print(f"  NOT removed {path} ({why}): delete it by hand")
    if args.on_player:
        with _connect(args) as client:
            res = client.request("purge", {"older_than_days": args.older_than})
        print(f"player: purged {res['count']} session(s) (logged as log.purged)")
    return 0


# ------------------------------------------------------------------------------------------- parser


def build_parser() -> argparse.ArgumentParser:
    def common_options(parser: argparse.ArgumentParser, default: Any) -> None:
        def d(value: Any) -> Any:
            return value if default is None else default

        parser.add_argument(
            "--home",
            type=Path,
            default=d(None),
            help="facilitator folder: keys, paired players, store (default "
            "~/.viewpoint/facilitator, or VIEWPOINT_FACILITATOR_HOME)",
        )
        parser.add_argument(
            "--player", default=d(None), help="paired player name or endpoint (default: the only one)"
        )
        parser.add_argument(
            "--timeout",
            type=number(0.05, 600, what="seconds"),
            default=d(1.0),
            help="seconds per try of a command (4 tries: the first and 3 retries)",
        )
        parser.add_argument("--name", default=d(None), help="this facilitator's name as players show it")

    p = argparse.ArgumentParser(
        prog=PROG, description="Drive Viewpoint players: pairing, commands, events, export."
    )
    common_options(p, None)
    # the same options also after the subcommand (fresh actions per subparser: an extension may redefine one)
    sub = p.add_subparsers(
        dest="subcommand",
        metavar="COMMAND",
        parser_class=_sub_parser(lambda parser: common_options(parser, argparse.SUPPRESS)),
    )
    sub.required = True

    s = sub.add_parser("pair", help="pair with a player using the code it shows (once per player)")
    s.add_argument("endpoint", nargs="?", help="the player's address, e.g. tcp://10.0.0.5:5555")
    s.add_argument("code", nargs="?", help="the code the player shows (asked for if left out)")
    s.add_argument("--observer", action="store_true", help="pair with read-only rights")
    s.add_argument(
        "--player-cert",
        type=Path,
        default=None,
        help="non-interactive: the player's public certificate (player.key) instead of a code",
    )
    s.add_argument(
        "--as", dest="as_name", default=None, help="name to remember the player by (with --player-cert)"
    )
    s.add_argument(
        "--show-cert",
        action="store_true",
        help="print this facilitator's public certificate file (to authorise without a code)",
    )
    s.add_argument(
        "--replace",
        action="store_true",
        help="a player with a new key takes the place of the one already paired under its name "
        "(otherwise it is remembered as NAME-2)",
    )
    s.set_defaults(func=cmd_pair)

    s = sub.add_parser("status", help="the player's state, session and consoles")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_status)

    s = sub.add_parser("send", help="send one command: send seek t=12.5, send load film=calibration-mono")
    s.add_argument("command", help="command name (see docs/protocol.md): " + ", ".join(sorted(P.COMMANDS)))
    s.add_argument(
        "pairs", nargs="*", metavar="KEY=VALUE", help="arguments; values are JSON where they parse"
    )
    s.add_argument("--args", default=None, help="arguments as one JSON object")
    s.set_defaults(func=cmd_send)

    s = sub.add_parser("annotate", help="pin a note at the current media time")
    s.add_argument("text")
    s.add_argument("--tags", nargs="+", default=None, help="tags (space or comma separated)")
    s.add_argument(
        "--at", type=number(0, what="seconds"), default=None, help="media time in seconds (default: now)"
    )
    s.set_defaults(func=cmd_annotate)

    s = sub.add_parser("tail", help="print events as JSON lines (and keep them in the store)")
    s.add_argument(
        "--since",
        default="now",
        choices=("now", "session", "log"),
        help="now: new events only (default); session: from the current session's start; log: everything",
    )
    s.add_argument("--poses", action="store_true", help="include pose samples")
    s.add_argument("--count", type=int, default=0, help="stop after N lines")
    s.add_argument("--duration", type=number(0, what="seconds"), default=0.0, help="stop after S seconds")
    s.add_argument("--no-store", action="store_true", help="do not keep the events in the facilitator store")
    s.add_argument("--store", type=Path, default=None, help="store file (default: in --home)")
    s.set_defaults(func=cmd_tail)

    s = sub.add_parser("sessions", help="sessions in the facilitator store (or on the player with --remote)")
    s.add_argument("--remote", action="store_true", help="list the player's log instead")
    s.add_argument("--all", action="store_true", help="include standby sessions")
    s.add_argument("--limit", type=number(1, integer=True, what="a count"), default=50)
    s.add_argument("--json", action="store_true")
    s.add_argument("--store", type=Path, default=None)
    s.set_defaults(func=cmd_sessions)

    s = sub.add_parser("export", help="export a stored session as JSONL or CSV")
    s.add_argument("session", help="session id, unique prefix, or 'latest'")
    s.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
    s.add_argument("-o", "--output", type=Path, default=None, help="file to write (default: stdout)")
    s.add_argument("--fetch", action="store_true", help="first fetch what the store lacks from the player")
    s.add_argument("--store", type=Path, default=None)
    s.set_defaults(func=cmd_export)

    s = sub.add_parser("purge", help="delete sessions older than the retention period (the purge is logged)")
    s.add_argument(
        "--older-than", type=number(0, 36500, what="days"), required=True, metavar="DAYS", help="age in days"
    )
    s.add_argument("--on-player", action="store_true", help="also purge the player's own log")
    s.add_argument("--store", type=Path, default=None)
    s.set_defaults(func=cmd_purge)

    for name, module in EXTENSIONS.items():
        try:
            mod = importlib.import_module(module)
        except ImportError:
            continue
        if not all(hasattr(mod, a) for a in ("add_arguments", "run")):
            continue
        s = sub.add_parser(
            name,
            help=getattr(mod, "HELP", None),
            description=getattr(mod, "HELP", None),
            conflict_handler="resolve",  # an extension may define --home etc. itself
        )
        mod.add_arguments(s)
        s.set_defaults(func=mod.run)
    return p


def _sub_parser(add_common: Any) -> type[argparse.ArgumentParser]:
    class SubParser(argparse.ArgumentParser):
        def __init__(self, *a: Any, **kw: Any) -> None:
            super().__init__(*a, **kw)
            add_common(self)

    return SubParser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except Failure as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return exc.status
    except CommandFailed as exc:
        print(f"{PROG}: the player refused: {exc.code}: {exc.message}", file=sys.stderr)
        return 2
    except RequestTimeout as exc:
        print(f"{PROG}: {exc} (is the player running, and paired with this facilitator?)", file=sys.stderr)
        return 1
    except (ClientError, StoreError, KeyFileError, OSError) as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
