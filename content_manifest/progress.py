"""A progress bar for long jobs (hashing, decoding), drawn only on a terminal."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    """``with Progress("hash film.mp4", total) as p: p.update(n)``; silent unless the stream is a terminal."""

    def __init__(
        self,
        label: str,
        total: float,
        unit: str = "",
        stream: TextIO | None = None,
        delay: float = 0.5,
        width: int = 30,
    ):
        self.label, self.total, self.unit = label, max(total, 1e-9), unit
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = bool(getattr(self.stream, "isatty", lambda: False)())
        self.delay, self.width = delay, width
        self.done = 0.0
        self.start = time.monotonic()
        self._last = 0.0
        self._drawn = False

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._drawn:
            self._draw(final=True)
            self.stream.write("\n")
            self.stream.flush()

    def update(self, amount: float) -> None:
        self.set(self.done + amount)

    def set(self, done: float) -> None:
        self.done = done
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self.start >= self.delay and now - self._last >= 0.1:
            self._last = now
            self._draw()

    def _draw(self, final: bool = False) -> None:
        frac = min(1.0, self.done / self.total)
        filled = int(frac * self.width)
        bar = "#" * filled + "-" * (self.width - filled)
        elapsed = time.monotonic() - self.start
        eta = "" if final or frac <= 0 else f" eta {elapsed / frac - elapsed:4.0f}s"
        self.stream.write(f"\r{self.label} [{bar}] {frac * 100:5.1f}%{eta}   ")
        self.stream.flush()
        self._drawn = True
