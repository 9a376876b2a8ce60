"""Welfare stop under load: a lead's `welfare stop` round trip while a paired observer floods the player from
another process, with heavy read requests (`snapshot`, `events`, `poses`, `status`) or with `welfare`
messages it is not allowed to send (refused, as fast as the socket takes them).

A real headless player (CURVE on, loopback). The reference, in the same run, is the same stop with no flood:
the ratio shows what another console's load adds to a stop. Each round: stop, then resume.

    .venv/bin/python bench/welfare_flood.py [--rounds 30]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

import zmq

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from content_manifest.sample import write_sample_library
from player import protocol as P
from tests.session_support import Player, make_home


def _dealer(ctx: zmq.Context, endpoint: str, server: bytes, public: bytes, secret: bytes) -> zmq.Socket:
    s = ctx.socket(zmq.DEALER)
    s.linger = 0
    s.sndhwm = s.rcvhwm = 100_000
    s.curve_serverkey, s.curve_publickey, s.curve_secretkey = server, public, secret
    s.connect(endpoint)
    return s


def flood_reads(endpoint: str, server: bytes, public: bytes, secret: bytes, seconds: float) -> None:
    """The observer: sends heavy read requests as fast as the socket takes them, drops the replies."""
    heavy = [("snapshot", {}), ("events", {"limit": 1000}), ("status", {}), ("sessions", {"limit": 1000})]
    _flood(endpoint, server, public, secret, seconds, heavy)


def flood_welfare(endpoint: str, server: bytes, public: bytes, secret: bytes, seconds: float) -> None:
    """The observer: sends `welfare stop` (refused: observers may not) as fast as the socket takes them."""
    _flood(endpoint, server, public, secret, seconds, [("welfare", {"action": "stop"})] * 4)


def _flood(
    endpoint: str, server: bytes, public: bytes, secret: bytes, seconds: float, what: list[tuple[str, dict]]
) -> None:
    s = _dealer(zmq.Context(), endpoint, server, public, secret)
    messages = [P.encode_command(f"o{i}", cmd, args) for i, (cmd, args) in enumerate(what)]
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        for m in messages:
            try:
                s.send(m, zmq.NOBLOCK)
            except zmq.Again:
                time.sleep(0.001)
        while s.poll(0):
            s.recv()


def _round_trip(s: zmq.Socket, cmd: str, args: dict) -> float:
    rid = "lead-" + secrets.token_hex(4)
    t = time.monotonic()
    s.send(P.encode_command(rid, cmd, args))
    while s.poll(30_000):
        reply = json.loads(s.recv())
        if reply.get("id") == rid:
            if not reply.get("ok"):
                raise RuntimeError(f"{cmd}: {reply.get('error')}")
            return (time.monotonic() - t) * 1000
    raise TimeoutError(f"{cmd}: no reply in 30 s")


def _stops(s: zmq.Socket, rounds: int) -> list[float]:
    out = []
    for _ in range(rounds):
        out.append(_round_trip(s, "welfare", {"action": "stop"}))
        _round_trip(s, "welfare", {"action": "resume"})
        time.sleep(0.05)
    return out


def _p99(ms: list[float]) -> float:
    s = sorted(ms)
    return s[min(len(s) - 1, round(0.99 * (len(s) - 1)))]


def _line(name: str, ms: list[float]) -> str:
    p50, p99 = statistics.median(ms), _p99(ms)
    return f"{name:<36} p50 {p50:7.1f} ms   p99 {p99:7.1f} ms   max {max(ms):7.1f} ms"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=30)
    args = ap.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="viewpoint-bench-flood-"))
    manifest = write_sample_library(work / "library")
    player = Player(manifest, work / "player", "bench-flood", extra=["--wait"]).start()
    ctx = zmq.Context()
    try:
        lead, observer = make_home(work / "lead", "lead"), make_home(work / "obs", "obs")
        player.authorize(lead, "lead")
        player.authorize(observer, "observer")
        server = player.public_key()
        me = lead.identity()
        s = _dealer(ctx, player.endpoint, server, me.public, me.secret)
        _round_trip(s, "session.start", {"participant": "P-7302", "consent": {"given": True}})
        _round_trip(s, "play", {})
        quiet = _stops(s, args.rounds)
        them = observer.identity()
        loaded = {}
        for name, target in (("observer flooding heavy reads:", flood_reads),
                             ("observer flooding refused welfare:", flood_welfare)):  # fmt: skip
            flood = multiprocessing.Process(
                target=target, args=(player.endpoint, server, them.public, them.secret, 600.0), daemon=True
            )
            flood.start()
            time.sleep(2.0)  # the flood fills the player's queue
            try:
                loaded[name] = _stops(s, args.rounds)
            finally:
                flood.terminate()
                flood.join(5)
    finally:
        ctx.destroy(0)
        player.stop()
    print(f"lead's welfare stop, round trip, {args.rounds} rounds each (CURVE, loopback, headless player)")
    print(_line("no other console (reference):", quiet))
    q50, q99 = statistics.median(quiet), _p99(quiet)
    for name, ms in loaded.items():
        print(_line(name, ms) + f"   ratio p50 {statistics.median(ms) / q50:.1f}x p99 {_p99(ms) / q99:.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
