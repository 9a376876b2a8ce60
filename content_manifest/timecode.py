"""Times in manifests: seconds (``12.5``), ``mm:ss.fff`` or ``hh:mm:ss.fff``."""

from __future__ import annotations

import math
import re

TIME_PATTERN = r"^(?:(\d+):)?(\d+):([0-5]\d)(?:\.(\d{1,6}))?$|^(\d+)(?:\.(\d{1,6}))?$"
TIME_EXPECTED = "seconds, mm:ss.fff or hh:mm:ss.fff"
_TIME = re.compile(TIME_PATTERN)


def parse_time(text: str | int | float) -> float:
    """Seconds from a manifest time; raises ValueError naming the expected forms."""
    if isinstance(text, bool):
        raise ValueError(f"expected a time ({TIME_EXPECTED}), got {text!r}")
    if isinstance(text, int | float):
        value = float(text)
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"expected a time of 0 or more ({TIME_EXPECTED}), got {text!r}")
        return value
    s = text.strip()
    m = _TIME.match(s)
    if not m:
        raise ValueError(f"bad time {text!r} ({TIME_EXPECTED})")
    hours, minutes, seconds, frac, plain, plain_frac = m.groups()
    if plain is not None:
        return float(f"{plain}.{plain_frac or 0}")
    if hours is not None and int(minutes) > 59:
        raise ValueError(f"bad time {text!r}: minutes must be 00..59 after hours ({TIME_EXPECTED})")
    total = int(hours or 0) * 3600 + int(minutes) * 60 + int(seconds)
    return total + (float(f"0.{frac}") if frac else 0.0)


def format_time(seconds: float) -> str:
    """``mm:ss.fff`` (or ``h:mm:ss.fff`` from an hour on), as written in manifests."""
    ms = round(seconds * 1000)
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h}:{m:02d}:{s:02d}.{ms:03d}" if h else f"{m:02d}:{s:02d}.{ms:03d}"
