"""Subcommands that talk to a player: ``pair``, ``status``, ``send``, ``annotate``, ``tail``."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from facilitator.client import (
    PairingError,
    pair,
)
from facilitator.commands.common import (
    PROG,
    Failure,
    _connect,
    _home,
    _json,
    _print_json,
    _store,
    parse_send_args,
)
from player import protocol as P


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
