"""Sync figures from players' (instant, media time) samples: how far apart the players are at the same
instant.

Each player samples its media clock while playing (``group.status`` returns them). Between two samples the
media time runs linearly, so each player's media time at any instant is interpolated from its two neighbouring
samples; stretches where a player was not playing smoothly (a seek, a pause, a gap in the samples) are left
out.
At each common instant the *spread* is the largest difference between any two players; the figures are its
percentiles over time.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Mapping, Sequence

Samples = Sequence[tuple[float, float]]  # (instant on a common clock, media time), ascending


def _interpolator(
    samples: Samples, max_gap: float, rate: float, rate_tol: float
) -> Callable[[float], float | None]:
    ts = [s[0] for s in samples]

    def at(t: float) -> float | None:
        i = bisect.bisect_right(ts, t)
        if i == 0 or i >= len(ts):
            return None
        (t0, m0), (t1, m1) = samples[i - 1], samples[i]
        dt = t1 - t0
        if dt <= 0 or dt > max_gap or abs((m1 - m0) / dt - rate) > rate_tol:
            return None  # not playing smoothly here (seek, pause, gap)
        return m0 + (t - t0) * (m1 - m0) / dt

    return at


def spreads(
    samples: Mapping[str, Samples],
    step: float = 0.01,
    start: float | None = None,
    end: float | None = None,
    max_gap: float = 0.2,
    rate: float = 1.0,
    rate_tol: float = 0.02,
) -> list[tuple[float, float]]:
    """(instant, largest pairwise media-time difference) every ``step`` seconds where all players play."""
    series = {k: sorted(v) for k, v in samples.items() if len(v) >= 2}
    if len(series) < 2:
        return []
    lo = max(v[0][0] for v in series.values())
    hi = min(v[-1][0] for v in series.values())
    if start is not None:
        lo = max(lo, start)
    if end is not None:
        hi = min(hi, end)
    interp = [_interpolator(v, max_gap, rate, rate_tol) for v in series.values()]
    out: list[tuple[float, float]] = []
    t = lo
    while t <= hi:
        values = [f(t) for f in interp]
        if all(v is not None for v in values):
            out.append((t, max(values) - min(values)))  # type: ignore[type-var, operator]
        t += step
    return out


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, math.ceil(q / 100.0 * len(ordered)) - 1))
    return ordered[k]


def summary(spread_series: Sequence[tuple[float, float]]) -> dict[str, float | int | None]:
    """p50/p99/max of the spread in milliseconds, and how many instants were compared."""
    values = [s for _, s in spread_series]

    def ms(v: float | None) -> float | None:
        return None if v is None else round(v * 1000, 3)

    return {
        "instants": len(values),
        "p50_ms": ms(percentile(values, 50)),
        "p99_ms": ms(percentile(values, 99)),
        "max_ms": ms(max(values) if values else None),
    }
