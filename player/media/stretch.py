"""Time-stretching for playback rates other than 1: WSOLA (waveform-similarity overlap-add), pitch kept.

Output is built from Hann-windowed segments of the source, 2 x HOP long, laid HOP apart. Each next segment is
taken near its nominal place in the source (``rate`` x HOP further on) where it best continues the previous
one (normalised cross-correlation within +-SEARCH samples), so the waveform stays continuous and voices keep
their pitch. Output sample j stands for source position p0 + j * rate (within a few milliseconds: the search
range, and where in a window a sound falls), which is what the master clock reports.
"""

from __future__ import annotations

import numpy as np

from player.media.audio_buffer import AudioBuffer

HOP = 240  # 5 ms at 48 kHz: segments of 10 ms
SEARCH = 120  # +-2.5 ms


class TimeStretch:
    def __init__(self, channels: int, hop: int = HOP, search: int = SEARCH) -> None:
        self.channels = channels
        self.hop = hop
        self.size = 2 * hop
        self.search = search
        n = np.arange(self.size)
        self._window = (0.5 - 0.5 * np.cos(2 * np.pi * n / self.size)).astype(np.float32)[:, None]
        self.rate = 1.0
        self.reset(0.0, 1.0)

    def reset(self, position: float, rate: float) -> None:
        """Start afresh at source sample ``position`` (a seek, a resume, a new rate)."""
        self.rate = rate
        self.out_pos = position  # source position that the next output sample stands for
        self._out = np.zeros((0, self.channels), np.float32)
        self._out_rates: list[list[float]] = []  # [samples left, rate they were made at], oldest first
        self._tail = np.zeros((self.hop, self.channels), np.float32)
        self._nominal = position
        self._prev: int | None = None

    def render(self, buffer: AudioBuffer, count: int) -> tuple[np.ndarray, float] | None:
        """``count`` output samples and the source position heard at the first; None when the source is not
        decoded that far yet (nothing is consumed then: call again).

        Inside a segment time runs at 1x, so what is heard at output sample j is, on average over the window,
        the source at p0 + j * rate + HOP * (1 - rate) (the window's centre runs at 1x from its nominal
        start): that is the position returned, for the clock.
        """
        while len(self._out) < count:
            if not self._step(buffer):
                return None
        block, self._out = self._out[:count], self._out[count:]
        position = self.out_pos + self.hop * (1.0 - self._out_rates[0][1])
        left = count
        while (
            left
        ):  # samples stand for source time at the rate they were made at (a rate may just have changed)
            run = self._out_rates[0]
            take = min(left, int(run[0]))
            self.out_pos += take * run[1]
            run[0] -= take
            left -= take
            if run[0] == 0:
                self._out_rates.pop(0)
        return block, position

    def _step(self, buffer: AudioBuffer) -> bool:
        size, search = self.size, self.search
        nominal = round(self._nominal)
        if self._prev is None:
            start = nominal
            segment = buffer.read(start, size, 1.0)
            if segment is None:
                return False
        else:
            low = nominal - search
            region = buffer.read(low, size + 2 * search, 1.0)
            template = buffer.read(self._prev + self.hop, size, 1.0)
            if region is None or template is None:
                return False
            offset = _best_offset(region.sum(axis=1), template.sum(axis=1), size)
            start = low + offset
            segment = region[offset : offset + size]
        windowed = segment * self._window
        produced = self._tail + windowed[: self.hop]
        self._tail = windowed[self.hop :].copy()
        self._out = np.concatenate([self._out, produced.astype(np.float32, copy=False)])
        self._out_rates.append([self.hop, self.rate])
        self._prev = start
        self._nominal += self.hop * self.rate
        return True


def _best_offset(region: np.ndarray, template: np.ndarray, size: int) -> int:
    """Offset into ``region`` where a ``size``-long piece best matches ``template`` (normalised
    correlation)."""
    corr = np.correlate(region, template, mode="valid")
    energy = np.cumsum(np.concatenate([[0.0], region.astype(np.float64) ** 2]))
    window_energy = energy[size:] - energy[:-size]
    if not np.any(window_energy > 1e-9):
        return (len(region) - size) // 2  # silence: stay on the nominal place
    score = corr / np.sqrt(window_energy + 1e-9)
    return int(np.argmax(score))
