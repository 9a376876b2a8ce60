"""A 60-minute group session in simulated time: do the clock estimate, the 2 s refreshes and the slew keep N
players together for an hour of crystal drift, without audible corrections?

Time is compressed, which is sound here because nothing in the loop below depends on wall-clock time: each
player has a crystal (an offset of up to +-30 s and a drift of up to +-100 ppm) and a media clock that
advances with its own clock times the slew's rate trim. The real components run on those clocks: the
facilitator's `ClockEstimator` fed by probes every 0.5 s over a simulated link (loopback: 50-250 us each
way; Wi-Fi-like: 20 +- 5 ms each way, 1 % of exchanges 200 ms late), the group's `GroupTimeline`
re-anchored and re-expressed for each player with the freshest estimate every 2 s (as
`GroupMember.refresh`), and the player's `SlewController` every 50 ms with the follower's settings (deadband
0.5 ms, trim +-0.5 %, resync beyond 50 ms). Not simulated: decoding, rendering and scheduling latency
(bench/group_sync.py measures those on real players). ``--anchor-once`` runs the refresh as it was before
(the timeline re-expressed at its original anchor), the reference.

Prints, per link, the spread between the players' media times (true time base) over the first and the last
10 minutes (p50/p99/max), the largest |trim - 1| (goal: within 0.5 %, so never audible as pitch), and how many
resyncs (seeks) happened (goal: none after the start).

    .venv/bin/python bench/group_longrun.py [--minutes 60] [--players 16] [--seed 18]
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from facilitator.group.clock import ClockEstimator
from facilitator.group.schedule import GroupTimeline
from player.sync.slew import SlewConfig, SlewController
from player.sync.timeline import Timeline

TICK = 0.05  # the follower's slew period (player seconds)
PROBE = 0.5
REFRESH = 2.0
LINKS = {"loopback": (0.00015, 0.0001, 0.0), "wifi": (0.020, 0.005, 0.01)}


class SimPlayer:
    """One player's crystal and media clock, driven by the real SlewController."""

    def __init__(self, rng: random.Random, link: str) -> None:
        self.offset = rng.uniform(-30, 30)
        self.drift = rng.uniform(-100e-6, 100e-6)
        self.link = LINKS[link]
        self.rng = rng
        self.estimator = ClockEstimator()
        self.media = 0.0
        self.trim = 1.0
        self.timeline: Timeline | None = None
        self.slew = SlewController(self.media_at, self.set_trim, self.seek, SlewConfig(seek_threshold=0.05))
        self.last_p = 0.0
        self.max_trim = 0.0

    def clock(self, t: float) -> float:
        """The player's clock at true time ``t``."""
        return self.offset + t * (1.0 + self.drift)

    def media_at(self, p: float) -> float:
        return self.media + (p - self.last_p) * self.trim

    def set_trim(self, factor: float) -> None:
        self.trim = factor
        self.max_trim = max(self.max_trim, abs(factor - 1.0))

    def seek(self, target: float) -> None:
        self.media = target  # lands at once: the real follower adds the seek's latency to the target

    def advance(self, t: float) -> None:
        p = self.clock(t)
        self.media += (p - self.last_p) * self.trim
        self.last_p = p

    def one_way(self) -> float:
        base, jitter, loss = self.link
        d = max(0.00005, base + self.rng.uniform(-jitter, jitter))
        return d + (0.2 if self.rng.random() < loss else 0.0)

    def probe(self, t: float) -> None:
        t1 = t + self.one_way()
        t2 = t1 + 0.00002
        t3 = t2 + self.one_way()
        self.estimator.add_times(t, self.clock(t1), self.clock(t2), t3)


def run(link: str, minutes: float, players: int, seed: int, anchor_once: bool = False) -> dict:
    rng = random.Random(seed)
    ps = [SimPlayer(rng, link) for _ in range(players)]
    t, end = 0.0, minutes * 60.0
    for k in range(16):  # the members' first burst of probes
        for p in ps:
            p.probe(t + k * 0.03)
    t = 1.0
    group = GroupTimeline(anchor=t + 0.2, media_t=0.0, playing=True, epoch=1)
    for p in ps:
        est = p.estimator.estimate(group.anchor)
        tl = group.for_player(est.offset, "sim")
        p.timeline = Timeline(tl["at"], tl["media_t"], True, 1.0, "sim", 1)
        p.advance(group.anchor)
        p.media = 0.0
    t = group.anchor
    next_probe, next_refresh = t + PROBE, t + REFRESH
    spreads: list[tuple[float, float]] = []
    seeks_at_start = None
    while t < end:
        t += TICK
        for p in ps:
            p.advance(t)
        if t >= next_probe:
            next_probe += PROBE
            for p in ps:
                p.probe(t)
        if t >= next_refresh:
            next_refresh += REFRESH
            # as GroupMember.refresh: the group's line re-anchored half a second back, with the offset there
            g = group.anchor if anchor_once else max(group.anchor, t - 0.5)
            here = GroupTimeline(g, group.media_at(g), True, group.rate, group.epoch)
            for p in ps:
                tl = here.for_player(p.estimator.estimate(g).offset, "sim")
                p.timeline = Timeline(tl["at"], tl["media_t"], True, 1.0, "sim", 1)
        for p in ps:
            p.slew.step(p.clock(t), p.timeline, True)
        if seeks_at_start is None and t > group.anchor + 10.0:
            seeks_at_start = sum(p.slew.seeks for p in ps)
        if int(t / TICK) % 20 == 0:  # every second: the spread of media time at this true instant
            m = [p.media for p in ps]
            spreads.append((t, max(m) - min(m)))

    def window(lo: float, hi: float) -> dict:
        v = sorted(s for tt, s in spreads if lo <= tt < hi)
        if not v:
            return {"p50": None, "p99": None, "max": None}
        return {
            "p50": v[len(v) // 2] * 1e3,
            "p99": v[min(len(v) - 1, int(0.99 * len(v)))] * 1e3,
            "max": v[-1] * 1e3,
        }

    return {
        "first": window(group.anchor + 10, group.anchor + 600),
        "last": window(end - 600, end),
        "max_trim_pct": max(p.max_trim for p in ps) * 100,
        "seeks_start": seeks_at_start or 0,
        "seeks_after": sum(p.slew.seeks for p in ps) - (seeks_at_start or 0),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--minutes", type=float, default=60.0)
    ap.add_argument("--players", type=int, default=16)
    ap.add_argument("--seed", type=int, default=18)
    ap.add_argument("--anchor-once", action="store_true", help="the reference: refreshes keep the anchor")
    args = ap.parse_args(argv)
    how = "anchored once (the reference)" if args.anchor_once else "re-anchored every 2 s"
    print(f"simulated {args.minutes:g} min, {args.players} players, offsets +-30 s, drift +-100 ppm; {how}")
    print(f"{'link':9} {'first 10 min p50/p99/max ms':>28} {'last 10 min p50/p99/max ms':>28} "
          f"{'max |trim-1| %':>14} {'seeks start':>11} {'seeks after':>11}")  # fmt: skip
    bad = 0
    for link in LINKS:
        r = run(link, args.minutes, args.players, args.seed, args.anchor_once)
        f, la = r["first"], r["last"]
        grew = la["p99"] is not None and f["p99"] is not None and la["p99"] > 2 * f["p99"] + 0.5
        bad += grew or r["max_trim_pct"] > 0.5 + 1e-9 or r["seeks_after"] > 0
        print(f"{link:9} {f['p50']:>8.3f} {f['p99']:>8.3f} {f['max']:>9.3f} {la['p50']:>8.3f} "
              f"{la['p99']:>8.3f} {la['max']:>9.3f} {r['max_trim_pct']:>14.3f} {r['seeks_start']:>11} "
              f"{r['seeks_after']:>11}{'  SPREAD GREW' if grew else ''}")  # fmt: skip
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
