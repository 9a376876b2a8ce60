"""``viewpoint-facilitator``: pair with players and drive them from scripts and QA.

Subcommands in :mod:`facilitator.commands`: ``pair``, ``status``, ``send``, ``annotate``, ``tail`` (players),
``sessions``, ``export``, ``purge`` (the store); this module builds the parser and runs them.
Other parts add theirs through :data:`EXTENSIONS` / :func:`register_subcommand`: a module with ``HELP`` (one
line), ``add_arguments(parser)`` and ``run(args) -> int`` (exit status). The global options (``--home``,
``--player``, ``--timeout``) are on ``args`` for them too.

Exit status: 0 done, 1 could not run (player unreachable, file problems), 2 refused (bad input, the player
answered with an error).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path
from typing import Any

from facilitator.client import (
    ClientError,
    CommandFailed,
    RequestTimeout,
)
from facilitator.commands.codes import cmd_code
from facilitator.commands.common import PROG, Failure, parse_send_args
from facilitator.commands.players import cmd_annotate, cmd_pair, cmd_send, cmd_status, cmd_tail
from facilitator.commands.store import cmd_export, cmd_purge, cmd_sessions
from facilitator.store import StoreError
from player import protocol as P
from player.protocol.argtypes import number
from player.protocol.keys import KeyFileError

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

    s = sub.add_parser("code", help="a new participant code, or why a typed one is refused (the one rule)")
    s.add_argument("code", nargs="?", default=None, help="a code to check (default: print a new one)")
    s.add_argument("--library", type=Path, default=None, help="manifest: its participant-codes.yaml applies")
    s.set_defaults(func=cmd_code)

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

__all__ = ["EXTENSIONS", "build_parser", "main", "parse_send_args", "register_subcommand"]
