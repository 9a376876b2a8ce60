"""Decoded audio between the audio decode thread and the output callback, indexed by media sample number.

Positions are in samples at the output rate from the film's start (media seconds * rate). The producer is
held back (with a timeout) when it is more than ``ahead`` seconds past the read position, and woken again once
the buffer has drained by ``refill`` seconds (then it fills it in one go: a few wakes a second, not one per
output block); the consumer never waits. A little history is kept behind the read position so that a
resume can restart exactly where the clock stopped even though the output had already rendered past it.
"""

from __future__ import annotations

import bisect
import math
import threading

import numpy as np


class AudioBuffer:
    def __init__(
        self, rate: int, channels: int, ahead: float = 1.0, history: float = 1.0, refill: float = 0.25
    ) -> None:
        self.rate = rate
        self.channels = channels
        self._ahead = int(ahead * rate)
        self._low_water = self._ahead - int(min(refill, ahead) * rate)
        self._history = int(history * rate)
        self._starts: list[int] = []
        self._chunks: list[np.ndarray] = []
        self._generation = 0
        self._eof = False
        self._read_pos = 0.0
        self._cond = threading.Condition(threading.Lock())

    # --- producer -------------------------------------------------------------------------------------

    def reset(self, generation: int, position: float) -> None:
        """Forget everything (a seek): new data will be for ``generation``, read from ``position``."""
        with self._cond:
            self._starts.clear()
            self._chunks.clear()
            self._generation = generation
            self._eof = False
            self._read_pos = position
            self._cond.notify_all()

    def push(self, generation: int, start: int, data: np.ndarray, timeout: float) -> bool | None:
        """Store ``data`` ((n, channels) float32) starting at sample ``start``.

        Waits at most ``timeout`` for room. Returns True when stored, None when dropped (stale generation,
        or entirely behind the read history), False when there was no room yet (call again).
        """
        with self._cond:
            if generation != self._generation:
                return None
            if not self._room():
                self._cond.wait(timeout)
                if generation != self._generation:
                    return None
                if not self._room():
                    return False
            end = start + len(data)
            if end < self._read_pos - self._history:
                return None
            i = bisect.bisect_right(self._starts, start)
            self._starts.insert(i, start)
            self._chunks.insert(i, data)
            return True

    def _room(self) -> bool:
        return not self._chunks or self._end() - self._read_pos < self._ahead

    def _end(self) -> int:
        return self._starts[-1] + len(self._chunks[-1]) if self._chunks else 0

    def set_eof(self, generation: int) -> None:
        with self._cond:
            if generation == self._generation:
                self._eof = True

    def eof(self, generation: int) -> bool:
        return self._eof and generation == self._generation

    def end_sample(self) -> int:
        with self._cond:
            return self._end()

    # --- consumer -------------------------------------------------------------------------------------

    def covers(self, position: float, count: int) -> bool:
        """Whether samples [position, position + count) are here (or the stream ended before them)."""
        with self._cond:
            return self._eof or (bool(self._chunks) and self._end() >= position + count)

    def read(self, position: float, count: int, step: float) -> np.ndarray | None:
        """``count`` samples starting at ``position``, advancing ``step`` source samples per output sample
        (linear interpolation when step != 1 or position is fractional). None when not decoded yet.

        Missing samples (gaps, before the first chunk, after the end of the stream) read as silence.
        """
        first = math.floor(position)
        last = math.floor(position + (count - 1) * step) + 1  # inclusive, for interpolation
        with self._cond:
            if not self._eof and (not self._chunks or self._end() <= last):
                return None
            src = np.zeros((last - first + 1, self.channels), dtype=np.float32)
            i = max(0, bisect.bisect_right(self._starts, first) - 1)
            while i < len(self._chunks) and self._starts[i] <= last:
                s, chunk = self._starts[i], self._chunks[i]
                a, b = max(first, s), min(last + 1, s + len(chunk))
                if a < b:
                    src[a - first : b - first] = chunk[a - s : b - s]
                i += 1
        frac0 = position - first
        if step == 1.0 and frac0 == 0.0:
            return src[:count]
        idx = frac0 + np.arange(count, dtype=np.float64) * step
        i0 = idx.astype(np.int64)
        f = (idx - i0).astype(np.float32)[:, None]
        return src[i0] * (1.0 - f) + src[i0 + 1] * f

    def consumed(self, position: float) -> None:
        """The output has read up to ``position``: drop old history and let the producer go on."""
        with self._cond:
            self._read_pos = position
            keep_from = position - self._history
            n = 0
            while n < len(self._chunks) and self._starts[n] + len(self._chunks[n]) < keep_from:
                n += 1
            if n:
                del self._starts[:n]
                del self._chunks[:n]
            if not self._chunks or self._end() - position <= self._low_water:
                self._cond.notify_all()

    def wake(self) -> None:
        with self._cond:
            self._cond.notify_all()
