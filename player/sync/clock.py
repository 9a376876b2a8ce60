"""The player's clock for group sync: the machine's monotonic clock, or a test clock offset and skewed.

``time.monotonic`` is CLOCK_MONOTONIC on Linux (microseconds, shared by every process on the machine) and
mach_absolute_time on macOS. On Windows before Python 3.13 it is GetTickCount64 (about 15.6 ms steps), too
coarse for sub-frame sync; there ``perf_counter`` (QueryPerformanceCounter) is what 3.13 uses for
``monotonic``, and the media engine must use the same clock (``player.media`` reads ``time.monotonic``), so
Windows group sync needs Python 3.13 or later for millisecond precision.

**Clock test facility.** On one machine every player shares one clock, so a group test there would never see
the clock estimator's error. ``VIEWPOINT_TEST_CLOCK="offset=5.0,drift_ppm=100"`` in a player's environment
makes its group clock read ``offset`` seconds ahead of the machine's, running ``drift_ppm`` parts per million
fast (negative: slow), as another machine's crystal would: ``group.clock`` answers, the follower's instants
and the sync figures are all on it, while the media engine keeps the machine's clock (:func:`to_engine` and
:func:`from_engine` convert). One machine then stands in for many (docs/group.md, "Clock test facility").
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

ENV = "VIEWPOINT_TEST_CLOCK"
MAX_OFFSET_S = 1e6
MAX_DRIFT_PPM = 1000.0


@dataclass(frozen=True)
class SkewedClock:
    """``now() = base + offset + (monotonic - base) * (1 + drift_ppm e-6)``."""

    offset: float = 0.0
    drift_ppm: float = 0.0
    base: float = 0.0

    @property
    def rate(self) -> float:
        return 1.0 + self.drift_ppm * 1e-6

    def from_engine(self, mono: float) -> float:
        return self.base + self.offset + (mono - self.base) * self.rate

    def to_engine(self, t: float) -> float:
        return self.base + (t - self.base - self.offset) / self.rate


def parse_test_clock(text: str) -> SkewedClock:
    """``offset=S,drift_ppm=P`` (either may be left out); ValueError naming the bad part."""
    values = {"offset": 0.0, "drift_ppm": 0.0}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, sep, value = part.partition("=")
        key = key.strip()
        if not sep or key not in values:
            raise ValueError(f"{ENV}: {part!r}: expected offset=SECONDS or drift_ppm=PPM")
        try:
            v = float(value)
        except ValueError:
            raise ValueError(f"{ENV}: {key}={value!r}: expected a number") from None
        limit = MAX_OFFSET_S if key == "offset" else MAX_DRIFT_PPM
        if not abs(v) <= limit:  # also refuses NaN
            raise ValueError(f"{ENV}: {key}={value}: expected a number within +-{limit:g}")
        values[key] = v
    return SkewedClock(values["offset"], values["drift_ppm"], time.monotonic())


_clock: SkewedClock | None = parse_test_clock(os.environ[ENV]) if os.environ.get(ENV) else None


def now() -> float:
    """The player's group clock (seconds)."""
    t = time.monotonic()
    return t if _clock is None else _clock.from_engine(t)


def to_engine(t: float) -> float:
    """A group-clock instant on the media engine's clock (``time.monotonic``)."""
    return t if _clock is None else _clock.to_engine(t)


def from_engine(mono: float) -> float:
    return mono if _clock is None else _clock.from_engine(mono)


def test_clock() -> SkewedClock | None:
    """The test clock in force (None: the machine's clock)."""
    return _clock


def sleep_until(deadline: float, spin: float = 0.001) -> float:
    """Sleep until ``deadline`` (this clock); the last ``spin`` seconds yield-spin for sub-millisecond
    wake-up.

    Returns the instant it woke (>= deadline).
    """
    while True:
        t = now()
        remaining = deadline - t
        if remaining <= 0:
            return t
        if remaining > spin:
            time.sleep(remaining - spin)
        else:
            time.sleep(0)
