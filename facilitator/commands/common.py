"""What every subcommand shares: the one-line failure, the home, the player connection, the store, JSON."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

from facilitator.client import (
    ClientError,
    FacilitatorHome,
    PlayerClient,
)
from facilitator.store import FacilitatorStore, StoreError

PROG = "viewpoint-facilitator"


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
