"""Turns decoded film audio into output blocks: spatial rendering, volume and mute ramps, fades at pauses."""

from __future__ import annotations

import threading

import numpy as np

from player.media.spatial import Quat, foa_decode_matrix, to_stereo

VOLUME_RAMP_SECONDS = 0.030
GATE_FADE_SECONDS = 0.005


def _ramp(current: float, target: float, n: int, per_sample: float) -> tuple[np.ndarray | float, float]:
    """Gains for n samples going from ``current`` to ``target`` at ``per_sample`` per sample."""
    if current == target:
        return current, current
    steps = np.arange(1, n + 1, dtype=np.float32) * per_sample
    g = np.minimum(current + steps, target) if target > current else np.maximum(current - steps, target)
    return g[:, None], float(g[-1])


class Mixer:
    """State that outlives one block: volume, mute, the play/hold gate and the listener orientation."""

    def __init__(self, rate: int, channels: int) -> None:
        self.rate = rate
        self.channels = channels  # source channels after resampling: 1, 2 or 4 (AmbiX FOA); 0 for none
        self._lock = threading.Lock()
        self.volume = 1.0
        self.muted = False
        self._gain = 1.0
        self._gate = 0.0
        self._vol_step = 1.0 / (VOLUME_RAMP_SECONDS * rate)
        self._gate_step = 1.0 / (GATE_FADE_SECONDS * rate)
        self._matrix = foa_decode_matrix((0.0, 0.0, 0.0, 1.0)) if channels == 4 else None
        self._prev_matrix = self._matrix

    def set_volume(self, volume: float) -> None:
        self.volume = volume

    def set_muted(self, muted: bool) -> None:
        self.muted = muted

    def set_orientation(self, q: Quat) -> None:
        if self.channels == 4:
            self._matrix = foa_decode_matrix(q)

    @property
    def silent(self) -> bool:
        """True when the gate is closed (nothing audible would come out)."""
        return self._gate == 0.0

    def render(self, block: np.ndarray | None, n: int, audible: bool) -> np.ndarray:
        """An (n, 2) float32 output block from ``block`` ((n, channels) or None for silence).

        ``audible`` False closes the gate with a short fade (the block's first samples fade out); True opens
        it with a fade-in.
        """
        gate_target = 1.0 if audible else 0.0
        if block is None or (self._gate == 0.0 and gate_target == 0.0):
            if block is None:
                self._gate = 0.0  # what comes after silence fades in
            self._gain = 0.0 if self.muted else self.volume
            return np.zeros((n, 2), dtype=np.float32)
        matrix, previous = self._matrix, self._prev_matrix
        out = to_stereo(block, matrix, previous)
        self._prev_matrix = matrix
        gate, self._gate = _ramp(self._gate, gate_target, n, self._gate_step)
        gain, self._gain = _ramp(self._gain, 0.0 if self.muted else self.volume, n, self._vol_step)
        out = out * gate * gain
        return out.astype(np.float32, copy=False)
