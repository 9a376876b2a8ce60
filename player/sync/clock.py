"""The player's clock for group sync: the same monotonic clock the media engine and the render loop use.

``time.monotonic`` is CLOCK_MONOTONIC on Linux (microseconds, shared by every process on the machine) and
mach_absolute_time on macOS. On Windows before Python 3.13 it is GetTickCount64 (about 15.6 ms steps), too
coarse
for sub-frame sync; there ``perf_counter`` (QueryPerformanceCounter) is what 3.13 uses for ``monotonic``, and
the
media engine must use the same clock (``player.media`` reads ``time.monotonic``), so Windows group sync needs
Python 3.13 or later for millisecond precision.
"""

from __future__ import annotations

import time

now = time.monotonic


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
