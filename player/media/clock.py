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
    coarse_ns: Callable[[], int], fine_ns: Callable[[], int], max_wait_s: float = 0.25, tight_ns: int = 20_000
) -> int:
    """``fine - coarse`` for two clocks of one timeline, measured at an edge of the coarse clock: right after
    it ticks the coarse clock reads the true time, so the offset is known to the fine clock's precision
    (a plain reading of both is off by anything up to one coarse step, 15.6 ms on Windows).

    Each coarse reading is bracketed by fine readings. The first edge bracketed within ``tight_ns`` is taken;
    a thread stalled at the edge brackets it loosely, so after ``max_wait_s`` the best edge within 1 ms is
    taken, else the plain reading with the tightest bracket (off by up to one step)."""
    start = fine_ns()
    last, last_before = coarse_ns(), start  # the coarse reading, and a fine reading taken before it
    deadline = start + int(max_wait_s * 1e9)
    edge: tuple[int, int] | None = None  # (bracket width, offset), the tightest edge seen
    plain: tuple[int, int] | None = None  # the same for plain readings
    while True:
        before = fine_ns()
        now = coarse_ns()
        after = fine_ns()
        if now != last:  # it ticked after the last coarse reading (so after last_before) and before `after`
            found = (after - last_before, (last_before + after) // 2 - now)
            if found[0] <= tight_ns:
                return found[1]
            edge = found if edge is None or found < edge else edge
        reading = (after - before, after - now)
        plain = reading if plain is None or reading < plain else plain
        last, last_before = now, before
        if after > deadline:
            return edge[1] if edge is not None and edge[0] <= 1_000_000 else plain[1]


class MonotonicAlignment:
    """``time.monotonic``'s timeline read through a fine clock (QueryPerformanceCounter), for Windows before
    Python 3.13, where ``time.monotonic`` ticks in 15.6 ms steps. The offset between the two is measured at a
    tick (``fine_minus_coarse_ns``) once, blocking for at most one tick, then again every ``refresh_s`` on a
    short-lived background thread, so callers (the audio callback, the render loop) never wait for it."""

    def __init__(
        self,
        coarse_ns: Callable[[], int] = time.monotonic_ns,
        fine_ns: Callable[[], int] = time.perf_counter_ns,
        refresh_s: float = 60.0,
    ) -> None:
        self._coarse, self._fine, self._refresh_ns = coarse_ns, fine_ns, int(refresh_s * 1e9)
        self._offset: tuple[int, int] | None = None  # (fine - coarse, fine time it was measured)
        self._refreshing = threading.Lock()

    def offset_ns(self) -> int:
        """fine - coarse, as last measured at a tick."""
        state = self._offset
        if state is None:
            state = self._offset = self._measured()
        elif self._fine() - state[1] > self._refresh_ns and self._refreshing.acquire(blocking=False):
            threading.Thread(target=self._refresh, name="viewpoint-clock-align", daemon=True).start()
        return state[0]

    def _measured(self) -> tuple[int, int]:
        return fine_minus_coarse_ns(self._coarse, self._fine), self._fine()

    def _refresh(self) -> None:
        try:
            self._offset = self._measured()
        finally:
            self._refreshing.release()

    def now(self) -> float:
        """Seconds on the coarse clock's timeline, at the fine clock's resolution."""
        return (self._fine() - self.offset_ns()) / 1e9


_ALIGNMENT = MonotonicAlignment() if clock_is_coarse("monotonic") else None


def precise_monotonic() -> float:
    """``time.monotonic()`` at a high resolution on every Python version: ``time.monotonic`` itself where
    it is fine (Linux, macOS, Windows with Python 3.13+), else read through ``perf_counter``
    (MonotonicAlignment). The audio output stamps its blocks with it, so the master clock does not step by
    15.6 ms on Windows."""
    return time.monotonic() if _ALIGNMENT is None else _ALIGNMENT.now()


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
