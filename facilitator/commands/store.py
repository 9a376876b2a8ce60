"""Subcommands on the facilitator's session store: ``sessions``, ``export``, ``purge``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from facilitator.commands.common import Failure, _connect, _home, _print_json, _store
from facilitator.store import FacilitatorStore, StoreError, remove_files
from player.protocol.private import private_replace


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
