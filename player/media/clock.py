"""The master clock: maps time.monotonic() seconds to media seconds.

The audio output anchors it: each time it renders a block it reports when the block's first sample will be
heard (``play_time``, monotonic seconds, output latency included) and which media time that sample carries.
Between anchors the clock runs at the playback speed. While held (paused, seeking, buffering, ended) it
stands still. It never runs backwards within one segment: after a resume the first anchor lies in the future
(by the output latency), and until then the clock reads the resume point.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

COARSE_RESOLUTION_S = 1e-4  # a clock ticking in steps larger than this is aligned on its edges


def clock_is_coarse(name: str = "monotonic") -> bool:
    """Whether ``time.<name>`` ticks coarsely: ``time.monotonic`` on Windows before Python 3.13 is
    GetTickCount64, in 15.6 ms steps."""
    return time.get_clock_info(name).resolution > COARSE_RESOLUTION_S


def fine_minus_coarse_ns(
    coarse_ns: Callable[[], int], fine_ns: Callable[[], int], max_wait_s: float = 0.05
) -> int:
    """``fine - coarse`` for two clocks of one timeline, measured at an edge of the coarse clock: right after
    it ticks the coarse clock reads the true time, so the offset is known to the fine clock's precision
    (a plain reading of both is off by anything up to one coarse step, 15.6 ms on Windows). Waits at most
    ``max_wait_s`` for an edge, then returns the plain reading."""
    start = coarse_ns()
    before = fine_ns()
    deadline = before + int(max_wait_s * 1e9)
    while True:
        now = coarse_ns()
        after = fine_ns()
        if now != start:  # the coarse clock ticked between `before` and `after`
            return (before + after) // 2 - now
        if after > deadline:
            return after - now
        before = after


class MediaClock:
    """display/monotonic time -> media time, anchored by the audio output (see module doc)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # (running, anchor_play_time, anchor_media, speed, floor, ceiling)
        self._state: tuple[bool, float, float, float, float, float] = (
            False,
            0.0,
            0.0,
            1.0,
            0.0,
            float("inf"),
        )

    def media_at(self, t: float) -> float:
        """Media time that is (or will be) heard/shown at monotonic time ``t``. Cheap, never blocks."""
        running, t0, m0, speed, floor, ceiling = self._state
        if not running:
            return floor
        m = m0 + (t - t0) * speed
        if m < floor:
            return floor
        return min(m, ceiling)

    def now(self) -> float:
        return self.media_at(time.monotonic())

    @property
    def running(self) -> bool:
        return self._state[0]

    @property
    def speed(self) -> float:
        return self._state[3]

    def hold(self, media_t: float) -> None:
        """Stop the clock at ``media_t``."""
        with self._lock:
            self._state = (False, 0.0, media_t, self._state[3], media_t, float("inf"))

    def anchor(self, play_time: float, media_t: float, speed: float, ceiling: float = float("inf")) -> None:
        """The sample with media time ``media_t`` is heard at ``play_time``; from there on, ``speed``.

        ``ceiling`` is the media time up to which rendered data exists (the clock does not run past it).
        """
        with self._lock:
            floor = self._state[4]  # never read earlier than where the clock was last held
            self._state = (True, play_time, media_t, speed, floor, ceiling)

    def set_floor(self, media_t: float) -> None:
        with self._lock:
            s = self._state
            self._state = (s[0], s[1], s[2], s[3], media_t, s[5])
