"""XrTime <-> the player's clock (``time.monotonic()`` seconds).

The runtime converts between XrTime and a high-resolution system clock: CLOCK_MONOTONIC through
XR_KHR_convert_timespec_time (Linux), QueryPerformanceCounter through
XR_KHR_win32_convert_performance_counter_time (Windows). A conversion gives (XrTime, fine clock) for one
instant exactly; the fine clock is then related to the player's clock. Where that is the same clock (Linux:
``time.monotonic`` is CLOCK_MONOTONIC) the offset is exact; where the player's clock ticks coarsely (Windows
before Python 3.13: 15.6 ms steps) the offset is measured at one of its ticks
(``player.media.clock.MonotonicAlignment``), so display times keep the fine clock's precision instead of
being off by up to a tick.

The offset is sampled every few seconds, so a frame costs no runtime call. Without either extension it is
estimated from the first predicted display time.
"""

from __future__ import annotations

import ctypes
import sys
import time
from collections.abc import Callable

from player.media.clock import MonotonicAlignment

from .runtime import TIMESPEC, WIN32_TIME

REFRESH_S = 5.0


def _int(value: object) -> int:
    """XrTime as an int (pyopenxr returns a ctypes integer)."""
    return int(getattr(value, "value", value))


class XrClock:
    """``local_ns`` is the player's clock in nanoseconds (``time.monotonic_ns``; tests pass a coarse one)."""

    def __init__(
        self, instance: object, extensions: list[str], local_ns: Callable[[], int] = time.monotonic_ns
    ) -> None:
        self._instance = instance
        self._local_ns = local_ns
        self._fine_ns: Callable[[], int] | None = None  # the clock the runtime converts from
        self._to_xr = self._pick(extensions)  # fine clock ns -> XrTime
        fine = self._fine_ns
        # the player's clock read through the fine one where they differ (a coarse time.monotonic), measured
        # at a tick and refreshed in the background: the frame loop never waits for a tick
        one_clock = fine is None or local_ns is fine
        self._align = None if one_clock else MonotonicAlignment(local_ns, fine, refresh_s=60.0)
        self._offset_ns: int | None = None  # xr_time_ns - local_ns
        self._sampled_at = -1e9
        self.exact = self._to_xr is not None

    def _pick(self, extensions: list[str]) -> Callable[[int], int] | None:
        import xr

        if TIMESPEC in extensions and sys.platform != "win32":
            self._fine_ns = time.monotonic_ns  # CLOCK_MONOTONIC

            def from_timespec(ns: int) -> int:
                ts = xr.timespec(ns // 1_000_000_000, ns % 1_000_000_000)
                return _int(xr.convert_timespec_time_to_time_khr(self._instance, ts))

            return from_timespec
        if WIN32_TIME in extensions and sys.platform == "win32":
            kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined]
            freq = ctypes.c_int64()
            kernel32.QueryPerformanceFrequency(ctypes.byref(freq))
            per_s = freq.value

            def qpc_ns() -> int:
                counter = ctypes.c_int64()
                kernel32.QueryPerformanceCounter(ctypes.byref(counter))
                return counter.value * 1_000_000_000 // per_s

            def from_counter(ns: int) -> int:
                counter = ctypes.c_longlong(ns * per_s // 1_000_000_000)
                convert = xr.convert_win32_performance_counter_to_time_khr  # type: ignore[attr-defined]
                return _int(convert(self._instance, ctypes.pointer(counter)))

            self._fine_ns = qpc_ns
            return from_counter
        return None

    def _refresh(self) -> None:
        now = time.monotonic()
        if self._to_xr is None or now - self._sampled_at < REFRESH_S:
            return
        fine = self._fine_ns
        assert fine is not None
        try:
            at = fine()
            xr_ns = self._to_xr(at)
        except Exception:  # a runtime without a working conversion: keep the last estimate
            self._to_xr = None
            self.exact = False
            return
        local_offset = 0 if self._align is None else self._align.offset_ns()
        self._offset_ns = (xr_ns - at) + local_offset
        self._sampled_at = now

    def observe(self, predicted_display_time: int, predicted_period: int) -> None:
        """Estimate the offset from a frame when no conversion extension is available."""
        if self._offset_ns is None and self._to_xr is None:
            self._offset_ns = int(predicted_display_time) - (self._local_ns() + int(predicted_period))

    def to_monotonic(self, xr_time: int) -> float:
        self._refresh()
        return (int(xr_time) - (self._offset_ns or 0)) / 1e9

    def to_xr(self, monotonic_s: float) -> int:
        self._refresh()
        return int(monotonic_s * 1e9) + (self._offset_ns or 0)

    def now_xr(self) -> int:
        return self.to_xr(self._local_ns() / 1e9)
