"""argparse value types shared by the command lines: numbers that must be finite and within a range."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable


def number(
    low: float | None = None,
    high: float | None = None,
    *,
    above: bool = False,
    integer: bool = False,
    what: str = "a number",
) -> Callable[[str], float]:
    """A type that reads a finite number in ``[low, high]`` (``(low, high]`` when ``above``), naming the
    range it expected when it refuses one; ``nan``, ``inf`` and ``1e999`` are refused."""

    def parse(text: str) -> float:
        try:
            value = int(text) if integer else float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r}: expected {what}") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"{text!r}: expected {what}, a finite number")
        too_low = low is not None and (value <= low if above else value < low)
        if too_low or (high is not None and value > high):
            lo = "" if low is None else (f"more than {low:g}" if above else f"at least {low:g}")
            hi = "" if high is None else f"at most {high:g}"
            raise argparse.ArgumentTypeError(
                f"{text!r}: expected {what}, {' and '.join(x for x in (lo, hi) if x)}"
            )
        return value

    parse.__name__ = what  # argparse names the type in some messages
    return parse
