"""Keep this player's media clock with the group's timeline, without audible glitches.

Every tick the controller compares the engine's media time with the timeline's at the same instant:

- within ``deadband``: leave the rate alone (1.0 × the group's rate);
- up to ``seek_threshold``: slew, i.e. play a touch faster or slower: ``trim = -gain × error``, clamped to
  ``± max_trim`` (0.5 %: at most 8.6 cents if the audio were resampled, under what listeners notice in speech
  and ambience; a time-stretching engine keeps the pitch anyway). 5 ms of error is gone in about a second;
- beyond it (a late joiner, a welfare stop that was lifted, a stall): seek to where the group will be once the
  seek has landed, then slew the rest. Seeks are rate-limited by ``seek_cooldown``.

A player that is paused locally while the group plays (a viewer's own welfare stop) is not dragged along; it
catches up when it plays again.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from player.sync.timeline import Timeline


@dataclass(frozen=True)
class SlewConfig:
    deadband: float = 0.0005
    gain: float = 1.5  # 1/s
    max_trim: float = 0.005
    seek_threshold: float = 0.25
    seek_cooldown: float = 1.0
    seek_latency: float = 0.05  # how long a seek takes to land, added to the target while playing
    settle: float = 0.0002  # trims closer than this to the current one are not re-sent


@dataclass(frozen=True, slots=True)
class SlewStep:
    now: float
    media_t: float
    expected: float
    error: float  # media - expected, seconds (positive: ahead of the group)
    trim: float  # the rate factor applied, 1.0 = none
    action: str  # "hold", "slew", "seek", "idle"


class SlewController:
    """Drives ``set_trim`` (a rate factor around 1.0) and ``seek`` from the error against a Timeline."""

    def __init__(
        self,
        media_at: Callable[[float], float],
        set_trim: Callable[[float], None],
        seek: Callable[[float], None],
        config: SlewConfig | None = None,
        history: float = 30.0,
    ) -> None:
        self.media_at = media_at
        self.set_trim = set_trim
        self.seek = seek
        self.config = config or SlewConfig()
        self.trim = 1.0
        self.seeks = 0
        self._last_seek = -1e9
        self._history = history
        self.errors: deque[tuple[float, float]] = deque()  # (now, error) while following a playing timeline
        self._lock = threading.Lock()  # errors are appended on the sync thread, read by status on another
        self.last: SlewStep | None = None

    def reset(self) -> None:
        """Back to the plain rate (a new timeline, a pause): no trim carried over."""
        if self.trim != 1.0:
            self.trim = 1.0
            self.set_trim(1.0)

    def step(self, now: float, timeline: Timeline | None, playing_locally: bool) -> SlewStep:
        media = self.media_at(now)
        if timeline is None or not timeline.playing or not playing_locally or now < timeline.at:
            self.reset()
            expected = timeline.media_at(now) if timeline is not None else media
            step = SlewStep(now, media, expected, media - expected, self.trim, "idle")
            self.last = step
            return step
        c = self.config
        expected = timeline.media_at(now)
        error = media - expected
        if abs(error) > c.seek_threshold:
            action = "hold"
            if now - self._last_seek >= c.seek_cooldown:
                self.reset()
                self.seek(timeline.media_at(now + c.seek_latency))
                self._last_seek = now
                self.seeks += 1
                action = "seek"
        elif abs(error) <= c.deadband:
            action = "hold"
            if self.trim != 1.0:
                self.trim = 1.0
                self.set_trim(1.0)
        else:
            action = "slew"
            trim = 1.0 + max(-c.max_trim, min(c.max_trim, -c.gain * error))
            if abs(trim - self.trim) >= c.settle or (trim == 1.0) != (self.trim == 1.0):
                self.trim = trim
                self.set_trim(trim)
        with self._lock:
            self.errors.append((now, error))
            while self.errors and self.errors[0][0] < now - self._history:
                self.errors.popleft()
        step = SlewStep(now, media, expected, error, self.trim, action)
        self.last = step
        return step

    def figures(self, window: float = 10.0) -> dict[str, float | int | None]:
        """Sync figures over the last ``window`` seconds: error now, median and p99 of |error| (ms), trim."""
        with self._lock:
            errors = list(self.errors)
        if not errors:
            return {
                "error_ms": None,
                "abs_p50_ms": None,
                "abs_p99_ms": None,
                "trim": self.trim,
                "seeks": self.seeks,
            }
        end = errors[-1][0]
        recent = sorted(abs(e) for t, e in errors if t >= end - window)
        return {
            "error_ms": round(errors[-1][1] * 1000, 3),
            "abs_p50_ms": round(_quantile(recent, 0.5) * 1000, 3),
            "abs_p99_ms": round(_quantile(recent, 0.99) * 1000, 3),
            "trim": round(self.trim, 6),
            "seeks": self.seeks,
        }


def _quantile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank quantile of an ascending list (0.0 for none)."""
    if not sorted_values:
        return 0.0
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]
