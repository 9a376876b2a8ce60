"""Group sync: how far apart N players are while playing together, on loopback and on Wi-Fi-like links.

For N = 2, 4, 8 real headless players (``viewpoint-player play --backend headless --wait``, 64x64 eyes at
10 Hz), each player samples its media clock every 50 ms on the machine's one monotonic clock; at every 10 ms
instant the bench takes the largest media-time difference between any two players (interpolated between their
samples) and prints the p99 over time (after a one-second settle). Goals: under 2 ms on loopback, under 5 ms
with the emulation (tests/netem.py relays: 20 ms ± 5 ms each way, 1 % loss as TCP retransmission delay).

Reference, measured in the same run: the same players started the naive way (``play`` sent to each in turn,
no shared instant, no slew), as a console without group sync would. The ratio column is naive / synced.

    .venv/bin/python bench/group_sync.py [--seconds 12] [--sizes 2,4,8]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from facilitator.client import PlayerClient
from facilitator.group.controller import GroupController
from facilitator.group.figures import spreads, summary
from facilitator.group.rehearsal import Rehearsal, write_rehearsal_library
from tests.netem import NetemRelay

GOALS_MS = {"loopback": 2.0, "wifi": 5.0}


def _clients(rehearsal: Rehearsal, n: int, link: str, relays: list[NetemRelay]) -> dict[str, PlayerClient]:
    out = {}
    for i, p in enumerate(rehearsal.players[:n]):
        if link == "loopback":
            out[p.name] = PlayerClient(p.endpoint, p.public_key, rehearsal.identity, name="bench")
            continue
        cmd = NetemRelay(("127.0.0.1", p.port), delay=0.020, jitter=0.005, loss=0.01, seed=10 + i).start()
        ev = NetemRelay(("127.0.0.1", p.port + 1), delay=0.020, jitter=0.005, loss=0.01, seed=50 + i).start()
        relays += [cmd, ev]
        out[p.name] = PlayerClient(cmd.endpoint, p.public_key, rehearsal.identity, name="bench",
                                   events_endpoint=ev.endpoint)  # fmt: skip
    return out


def _measure(g: GroupController, seconds: float, settle: float = 1.0) -> dict:
    for m in g.members.values():
        m.samples.clear()
    start = time.monotonic()
    time.sleep(seconds)
    for m in g.members.values():
        m.submit(m.poll_status).result(10)
    # one machine: every player's instants are on the same monotonic clock (the true common time base)
    return summary(spreads({k: m.samples for k, m in g.members.items()}, start=start + settle))


def run_one(rehearsal: Rehearsal, n: int, link: str, seconds: float, start_at: float) -> dict:
    relays: list[NetemRelay] = []
    g = GroupController(f"bench-{link}-{n}", collect_samples=True, status_period=0.5)
    try:
        for name, client in _clients(rehearsal, n, link, relays).items():
            g.add(name, client, subscribe=False)
        if not g.wait_ready(30, samples=8):
            raise RuntimeError("players did not answer clock probes")
        time.sleep(3.0)  # let the estimates collect a few more samples, as a facilitator's setup would
        g.seek(start_at)
        g.play()
        synced = _measure(g, seconds)
        pause = g.pause()
        time.sleep(pause["lead_s"] + 0.3)  # let the pause take effect before leaving the group
        # the naive reference: play sent to each player in turn, no shared instant (and no slew: leave first)
        for m in g.members.values():
            m.submit(lambda m=m: m.client.request("group.leave", {}, timeout=2.0)).result(10)
            m.submit(lambda m=m: m.client.request("seek", {"t": start_at}, timeout=2.0)).result(10)
        time.sleep(0.5)
        for m in g.members.values():
            m.submit(lambda m=m: m.client.request("play", {}, timeout=2.0)).result(10)
        naive = _measure(g, min(seconds, 4.0), settle=0.5)
        for m in g.members.values():
            m.submit(lambda m=m: m.client.request("pause", {}, timeout=2.0)).result(10)
        lost = sum(r.stats.lost for r in relays)
        return {"synced": synced, "naive": naive, "lost": lost, "lead_s": g.lead()}
    finally:
        g.close()
        for c in [m.client for m in g.members.values()]:
            c.close(bye=False)
        for r in relays:
            r.stop()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=12.0, help="playing time measured per case")
    ap.add_argument("--sizes", default="2,4,8")
    args = ap.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    with tempfile.TemporaryDirectory(prefix="group-bench-") as tmp:
        root = Path(tmp)
        manifest = write_rehearsal_library(root / "library", seconds=60)
        with Rehearsal(root / "players", max(sizes), manifest, eye_size="64x64", display_rate=10.0) as reh:
            print(f"group sync bench: {max(sizes)} headless players on loopback (idle ones stay running), "
                  f"{args.seconds:g} s measured per case, spread sampled every 10 ms")  # fmt: skip
            print(f"{'link':9} {'N':>2} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'goal':>6}  "
                  f"{'naive p99':>9} {'ratio':>7} {'instants':>8} {'lost':>5} {'lead s':>6}")  # fmt: skip
            failures = 0
            for link in ("loopback", "wifi"):
                for n in sizes:
                    r = run_one(reh, n, link, args.seconds, start_at=5.0)
                    s, nv = r["synced"], r["naive"]
                    goal = GOALS_MS[link]
                    ok = s["p99_ms"] is not None and s["p99_ms"] < goal
                    failures += not ok
                    ratio = (nv["p99_ms"] / s["p99_ms"]) if s["p99_ms"] and nv["p99_ms"] else float("nan")
                    print(f"{link:9} {n:>2} {s['p50_ms']:>8.3f} {s['p99_ms']:>8.3f} {s['max_ms']:>8.3f} "
                          f"{'<' + format(goal, 'g'):>6}  {nv['p99_ms'] or float('nan'):>9.3f} {ratio:>7.1f} "
                          f"{s['instants']:>8} {r['lost']:>5} {r['lead_s']:>6.3f}"
                          f"{'' if ok else '  ABOVE GOAL'}")  # fmt: skip
    return 0 if failures == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
