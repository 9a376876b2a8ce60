"""What both programs' command lines check before they start: numbers that must be finite and within a
range, and output paths that must be writable."""

from __future__ import annotations

import argparse
import math
import os
from collections.abc import Callable
from pathlib import Path


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


def output_problem(path: Path, folder: bool = False) -> str | None:
    """Why ``path`` cannot be written as a file (or made a folder, with ``folder``), or None if it can: so a
    command refuses a bad output path before it does its work rather than after."""
    if path.exists():
        if folder != path.is_dir():
            return f"{path} is {'not a folder' if folder else 'a folder'}"
        return None if os.access(path, os.W_OK) else f"{path} cannot be written"
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        return f"{parent} is not a folder"
    return None if os.access(parent, os.W_OK) else f"cannot write in {parent}"
