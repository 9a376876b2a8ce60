"""Continuous clock estimation against one player: offset and round trip, with their uncertainty.

NTP's four timestamps, as LabStreamingLayer uses them: the facilitator sends at ``t0`` (its monotonic clock),
the player receives at ``t1`` and replies at ``t2`` (the player's monotonic clock), the facilitator receives
at ``t3``.

    offset = ((t1 - t0) + (t2 - t3)) / 2     # player clock minus facilitator clock
    rtt    = (t3 - t0) - (t2 - t1)           # time on the wire, the player's own processing excluded

Queuing only ever adds delay, and asymmetric delay is what biases an offset, so the samples with the smallest
round trips are the trustworthy ones (NTP's clock filter, LSL's time_correction). The estimator keeps a
window of samples, takes the lowest-RTT quarter, fits the drift between the two crystals (ppm) when the window
is long enough, and reports:

- ``offset``: player minus facilitator, at a given facilitator instant (drift-corrected): the middle of the
  bracket the recent exchanges put on it (``_bracket``: set by the quickest trip each way);
- ``uncertainty``: half the best round trip plus the drift's share: the true offset lies within
  ``offset ± uncertainty`` whatever the path asymmetry (LSL reports the same bound);
- ``spread``: how much the good samples disagree (median absolute deviation), the statistical precision;
- ``rtt`` (latest), ``rtt_min`` (best in window), ``rtt_median``.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace


@dataclass(frozen=True, slots=True)
class ClockSample:
    """One exchange: t0/t3 on the facilitator's clock, t1/t2 on the player's clock (seconds)."""

    t0: float
    t1: float
    t2: float
    t3: float

    def __post_init__(self) -> None:
        if self.t3 < self.t0:
            raise ValueError(f"ClockSample: t3 ({self.t3}) is before t0 ({self.t0})")
        if self.t2 < self.t1:
            raise ValueError(f"ClockSample: t2 ({self.t2}) is before t1 ({self.t1})")

    @property
    def offset(self) -> float:
        return ((self.t1 - self.t0) + (self.t2 - self.t3)) / 2.0

    @property
    def rtt(self) -> float:
        return max(0.0, (self.t3 - self.t0) - (self.t2 - self.t1))

    @property
    def local_mid(self) -> float:
        return (self.t0 + self.t3) / 2.0


@dataclass(frozen=True, slots=True)
class ClockEstimate:
    """The best current knowledge of one player's clock, in seconds (``drift`` in parts per million)."""

    offset: float  # player clock - facilitator clock, at ``at``
    uncertainty: float  # hard bound: |true offset - offset| <= uncertainty
    spread: float  # statistical disagreement of the good samples
    rtt: float  # latest round trip
    rtt_min: float  # best round trip in the window
    rtt_median: float
    drift_ppm: float
    samples: int
    at: float  # facilitator instant the offset refers to
    drift_fitted: bool = False

    def as_dict(self) -> dict:
        return asdict(self)


class ClockEstimator:
    """Thread-safe sliding-window estimator of one remote clock."""

    def __init__(
        self,
        window: float = 30.0,
        max_samples: int = 256,
        good_fraction: float = 0.25,
        min_drift_span: float = 8.0,
        max_drift_ppm: float = 500.0,
        recent: float = 10.0,
    ) -> None:
        if window <= 0 or max_samples < 1 or not 0 < good_fraction <= 1:
            raise ValueError(
                "ClockEstimator: window > 0, max_samples >= 1 and 0 < good_fraction <= 1 required"
            )
        self.window = window
        self.good_fraction = good_fraction
        self.min_drift_span = min_drift_span
        self.max_drift = max_drift_ppm * 1e-6
        self.recent = recent  # seconds of exchanges whose bracket gives the offset
        self._samples: deque[ClockSample] = deque(maxlen=max_samples)
        self._lock = threading.Lock()
        self._cached: ClockEstimate | None = None

    def add(self, sample: ClockSample) -> None:
        with self._lock:
            self._samples.append(sample)
            latest = sample.t3
            while self._samples and self._samples[0].t3 < latest - self.window:
                self._samples.popleft()
            self._cached = None

    def add_times(self, t0: float, t1: float, t2: float, t3: float) -> ClockSample:
        s = ClockSample(t0, t1, t2, t3)
        self.add(s)
        return s

    @property
    def samples(self) -> list[ClockSample]:
        with self._lock:
            return list(self._samples)

    def estimate(self, at: float | None = None) -> ClockEstimate | None:
        """The offset at facilitator instant ``at`` (default: the latest midpoint); None if no data."""
        with self._lock:
            samples = list(self._samples)
            cached = self._cached
        if not samples:
            return None
        if cached is None:
            cached = self._fit(samples)
            with self._lock:
                self._cached = cached
        if at is None or at == cached.at:
            return cached
        shift = cached.drift_ppm * 1e-6 * (at - cached.at)
        return replace(
            cached,
            offset=cached.offset + shift,
            uncertainty=cached.uncertainty + abs(self.max_drift_unknown(cached) * (at - cached.at)),
            at=at,
        )

    def max_drift_unknown(self, est: ClockEstimate) -> float:
        """Drift the estimate cannot rule out (per second): unfitted, up to 50 ppm (a typical crystal)."""
        return 5e-6 if est.drift_fitted else 50e-6

    def to_player(self, facilitator_t: float) -> float:
        """A facilitator-clock instant expressed on the player's clock."""
        est = self.estimate(facilitator_t)
        if est is None:
            raise LookupError("no clock samples from this player yet")
        return facilitator_t + est.offset

    def to_facilitator(self, player_t: float) -> float:
        est = self.estimate()
        if est is None:
            raise LookupError("no clock samples from this player yet")
        # one fixed-point step is exact enough: drift is < 1e-3
        guess = player_t - est.offset
        return player_t - self.estimate(guess).offset  # type: ignore[union-attr]

    def _fit(self, samples: list[ClockSample]) -> ClockEstimate:
        rtts = [s.rtt for s in samples]
        n_good = max(min(3, len(samples)), int(len(samples) * self.good_fraction + 0.5))
        good = sorted(samples, key=lambda s: s.rtt)[:n_good]
        best = good[0]
        ref = samples[-1].local_mid
        drift = 0.0
        fitted = False
        times = [s.local_mid for s in good]
        if len(good) >= 6 and max(times) - min(times) >= self.min_drift_span:
            drift = _shrunk_slope(times, [s.offset for s in good])
            drift = max(-self.max_drift, min(self.max_drift, drift))
            fitted = True
        corrected = [s.offset + drift * (ref - s.local_mid) for s in good]
        median = statistics.median(corrected)
        spread = statistics.median(abs(c - median) for c in corrected)
        # the offset from the recent exchanges' bracket (a drift error moves it by the drift error times
        # how far back they are); the round-trip median where they disagree
        recent = [s for s in samples if s.local_mid >= ref - self.recent]
        bracket = _bracket(recent, ref, drift)
        offset = median if bracket is None else bracket
        # the bound from the best sample, carried to ``ref`` with the drift, widened to cover the distance
        # to the median of the good samples and from there to the chosen offset
        best_at_ref = best.offset + drift * (ref - best.local_mid)
        uncertainty = best.rtt / 2.0 + abs(median - best_at_ref) + abs(offset - median)
        return ClockEstimate(
            offset=offset,
            uncertainty=uncertainty,
            spread=spread,
            rtt=samples[-1].rtt,
            rtt_min=best.rtt,
            rtt_median=statistics.median(rtts),
            drift_ppm=drift * 1e6,
            samples=len(samples),
            at=ref,
            drift_fitted=fitted,
        )


def _bracket(samples: list[ClockSample], ref: float, drift: float) -> float | None:
    """The middle of the bracket the exchanges put on the offset at ``ref`` (with ``drift``); None when
    they disagree (a clock that stepped, or a drift far from the one given).

    An exchange says ``t2 - t3 <= offset <= t1 - t0`` at its midpoint (neither way takes negative time).
    Together they bound the offset by the quickest trip *each way*, which may come from different
    exchanges, so the middle errs by half the difference of the two ways' fastest trips, where a median of
    the best round trips errs by their typical asymmetry. Queuing and late time stamps only widen a bracket.
    """
    upper = min(s.t1 - s.t0 + drift * (ref - s.local_mid) for s in samples)
    lower = max(s.t2 - s.t3 + drift * (ref - s.local_mid) for s in samples)
    return (upper + lower) / 2.0 if lower <= upper else None


DRIFT_PRIOR = 50e-6  # the spread of two crystals' disagreement (1 sigma): what a drift fit is weighed against


def _shrunk_slope(xs: list[float], ys: list[float]) -> float:
    """The least-squares slope, shrunk towards 0 by how well the points determine it.

    Over a short span on a jittery link (20 +- 5 ms each way) the best round trips' offsets scatter by
    about 1.5 ms, so the slope of ten seconds of them is uncertain by 100 ppm or more, as much as two
    crystals ever disagree; applied in full it moved the offset by over 2 ms (p99). Weighed against the
    prior spread of crystal drift (``DRIFT_PRIOR``) by its standard error, a well-determined slope (a clean
    link, or a long span) is kept almost whole and a poorly determined one counts for little.
    """
    slope = _slope(xs, ys)
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    if n < 3 or sxx <= 0:
        return 0.0
    residual = sum((y - my - slope * (x - mx)) ** 2 for x, y in zip(xs, ys)) / (n - 2)
    se2 = residual / sxx
    return slope * DRIFT_PRIOR**2 / (DRIFT_PRIOR**2 + se2)


def _slope(xs: list[float], ys: list[float]) -> float:
    mx = sum(xs) / len(xs)
    my = sum(ys) / len(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    if sxx <= 0:
        return 0.0
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx


Request = Callable[[str, dict, float], "dict | None"]  # (cmd, args, timeout) -> result, or None on timeout


def probe(
    estimator: ClockEstimator,
    request: Request,
    seq: int,
    clock: Callable[[], float] = time.monotonic,
    timeout: float = 1.0,
    cmd: str = "group.clock",
) -> ClockSample | None:
    """One ``group.clock`` exchange (the follower's clock; ``clock.sync`` is the session thread's) through
    ``request``; the sample is added to ``estimator`` and returned.

    None when the player did not answer in time or answered something that is not a clock reply (logged by the
    caller as connection health, never as a clock sample).
    """
    t0 = clock()
    result = request(cmd, {"seq": seq}, timeout)
    t3 = clock()
    if not isinstance(result, dict):
        return None
    t1, t2 = result.get("t1"), result.get("t2")
    if not isinstance(t1, int | float) or not isinstance(t2, int | float) or result.get("seq") != seq:
        return None
    try:
        return estimator.add_times(t0, float(t1), float(t2), t3)
    except ValueError:
        return None
