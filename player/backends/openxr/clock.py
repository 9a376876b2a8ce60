"""XrTime <-> time.monotonic() seconds.

Uses XR_KHR_convert_timespec_time (Linux) or XR_KHR_win32_convert_performance_counter_time (Windows).

The conversion is an offset sampled against the runtime's clock and refreshed every few seconds, so a frame
costs no runtime call. Without either extension the offset is estimated from the first predicted display time.
"""

from __future__ import annotations

import ctypes
import sys
import time

from .runtime import TIMESPEC, WIN32_TIME

REFRESH_S = 5.0


def _int(value: object) -> int:
    """XrTime as an int (pyopenxr returns a ctypes integer)."""
    return int(getattr(value, "value", value))


class XrClock:
    def __init__(self, instance: object, extensions: list[str]) -> None:
        self._instance = instance
        self._now_xr = self._pick(extensions)
        self._offset_ns: int | None = None  # xr_time_ns - monotonic_ns
        self._sampled_at = -1e9
        self.exact = self._now_xr is not None

    def _pick(self, extensions: list[str]):
        import xr

        if TIMESPEC in extensions and sys.platform != "win32":

            def now_linux() -> tuple[int, int]:
                mono = time.monotonic_ns()
                ts = xr.timespec(mono // 1_000_000_000, mono % 1_000_000_000)
                return _int(xr.convert_timespec_time_to_time_khr(self._instance, ts)), mono

            return now_linux
        if WIN32_TIME in extensions and sys.platform == "win32":
            kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined]

            def now_windows() -> tuple[int, int]:
                counter = ctypes.c_int64()
                kernel32.QueryPerformanceCounter(ctypes.byref(counter))
                mono = time.monotonic_ns()
                value = xr.convert_win32_performance_counter_to_time_khr(  # type: ignore[attr-defined]
                    self._instance, ctypes.pointer(ctypes.c_longlong(counter.value))
                )
                return _int(value), mono

            return now_windows
        return None

    def _refresh(self) -> None:
        now = time.monotonic()
        if self._now_xr is None or now - self._sampled_at < REFRESH_S:
            return
        try:
            xr_ns, mono_ns = self._now_xr()
        except Exception:  # a runtime without a working conversion: keep the last estimate
            self._now_xr = None
            self.exact = False
            return
        self._offset_ns = xr_ns - mono_ns
        self._sampled_at = now

    def observe(self, predicted_display_time: int, predicted_period: int) -> None:
        """Estimate the offset from a frame when no conversion extension is available."""
        if self._offset_ns is None and self._now_xr is None:
            self._offset_ns = int(predicted_display_time) - (time.monotonic_ns() + int(predicted_period))

    def to_monotonic(self, xr_time: int) -> float:
        self._refresh()
        return (int(xr_time) - (self._offset_ns or 0)) / 1e9

    def to_xr(self, monotonic_s: float) -> int:
        self._refresh()
        return int(monotonic_s * 1e9) + (self._offset_ns or 0)

    def now_xr(self) -> int:
        return self.to_xr(time.monotonic())
