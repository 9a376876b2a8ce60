"""Audio outputs: a real device through miniaudio, or a null output paced by time.monotonic().

Both call the same ``render(frames, play_time) -> (frames, 2) float32`` callback, where ``play_time`` is the
monotonic time at which the block's first sample is heard (the output latency is included). That is what
anchors the master clock, so the code path is the same with or without a sound card.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import numpy as np

from player.media.clock import precise_monotonic  # time.monotonic, at a fine resolution on every Python

log = logging.getLogger(__name__)

RenderCallback = Callable[[int, float], np.ndarray]
Tap = Callable[[float, np.ndarray], None]

OUTPUT_RATE = 48_000
OUTPUT_CHANNELS = 2
RESYNC_SECONDS = 0.2  # device callbacks later than this behind the steady estimate: start a new estimate
DRIFT_ALLOWED = 500e-6  # how fast (s per s) the estimate may follow a device clock slower than monotonic
PERIOD = 0.010  # seconds between an output's requests for a block (a device's buffer), unless told
PERIOD_RANGE = (0.005, 0.100)  # the periods an output may be given (--audio-period, MediaEngine)


class AudioOutputError(RuntimeError):
    pass


class NullOutput:
    """An ideal output device consuming OUTPUT_RATE samples per monotonic second: woken once a period, it
    renders up to two periods ahead, as a double-buffered device is asked to.

    ``tap(play_time, block)`` (optional) sees every rendered block: tests use it to capture what would have
    been heard, and when.
    """

    name = "null"

    def __init__(
        self, render: RenderCallback, rate: int = OUTPUT_RATE, period: float = PERIOD, tap: Tap | None = None
    ) -> None:
        self.rate = rate
        self.period = period
        self.latency = 2 * period  # rendered up to two periods ahead, like a double-buffered device
        self._render = render
        self.tap = tap
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="viewpoint-audio-null", daemon=True)
        self.underruns = 0

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        rate, lead = self.rate, int(self.latency * self.rate)
        t0 = precise_monotonic()
        done = 0
        while not self._stop.is_set():
            now = precise_monotonic()
            due = int((now - t0) * rate) + lead
            if due - done > rate // 4:  # starved for CPU for a quarter second: a real device would underrun
                self.underruns += 1
                t0 = now - done / rate
                due = done + lead
            while done < due and not self._stop.is_set():
                n = min(due - done, 2048)
                play_time = t0 + done / rate
                block = self._render(n, play_time)
                if self.tap is not None:
                    self.tap(play_time, block)
                done += n
            self._stop.wait(self.period)  # once a period, as a device's callback comes

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(2.0)


class DeviceOutput:
    """The system's default playback device through miniaudio (never miniaudio's own null backend)."""

    def __init__(
        self,
        render: RenderCallback,
        rate: int = OUTPUT_RATE,
        period_ms: int = 10,
        backends: list | None = None,
    ) -> None:
        """``backends``: miniaudio backends to try (default: every real one; tests pass [Backend.NULL])."""
        import miniaudio

        self.rate = rate
        self._render = render
        self.tap: Tap | None = None
        if backends is None:
            skip = (miniaudio.Backend.NULL, miniaudio.Backend.CUSTOM)
            backends = [b for b in miniaudio.Backend if b not in skip]
        try:
            self._device = miniaudio.PlaybackDevice(
                output_format=miniaudio.SampleFormat.FLOAT32,
                nchannels=OUTPUT_CHANNELS,
                sample_rate=rate,
                buffersize_msec=period_ms,
                backends=backends,
                app_name="Viewpoint",
            )
        except Exception as exc:  # miniaudio raises its own errors and OSError-ish ones
            raise AudioOutputError(f"no audio output device: {exc}") from exc
        self.name = f"miniaudio:{self._device.backend}"
        self.latency = self._estimate_latency(period_ms)
        self._started = False

    def _estimate_latency(self, period_ms: int) -> float:
        try:
            pb = self._device._device.playback
            frames = int(pb.internalPeriodSizeInFrames) * max(1, int(pb.internalPeriods))
            rate = int(pb.internalSampleRate) or self.rate
            if frames > 0:
                return frames / rate
        except Exception:
            pass
        return 3 * period_ms / 1000.0

    def start(self) -> None:
        gen = self._generator()
        next(gen)
        self._device.start(gen)
        self._started = True

    def _generator(self):
        frames = yield b""
        done = 0
        base: float | None = None
        while True:
            # The callback runs when the device wants data, often a little late (scheduling). Take the device
            # clock as steady: base = the earliest (now - frames so far / rate) seen, creeping up slowly so
            # that a device clock running slower than time.monotonic is followed; a jump (an underrun, a
            # device change) resets it.
            estimate = precise_monotonic() - done / self.rate
            if base is None or estimate < base or estimate - base > RESYNC_SECONDS:
                base = estimate
            else:
                base = min(estimate, base + frames / self.rate * DRIFT_ALLOWED)
            play_time = base + done / self.rate + self.latency
            done += frames
            block = self._render(frames, play_time)
            if self.tap is not None:
                self.tap(play_time, block)
            frames = yield np.ascontiguousarray(block, dtype=np.float32)

    def close(self) -> None:
        try:
            self._device.close()
        except Exception:
            log.debug("closing the audio device failed", exc_info=True)


_no_device_until = (
    0.0  # after a failed device probe, don't probe (and print ALSA's complaints) again for a while
)
NO_DEVICE_RETRY_SECONDS = 30.0


def open_output(
    kind: str, render: RenderCallback, on_fallback: Callable[[str], None], period: float = PERIOD
) -> NullOutput | DeviceOutput:
    """``kind`` "auto": a device if there is one, else the null output (``on_fallback`` says why; after a
    failure the device is not probed again for NO_DEVICE_RETRY_SECONDS, silently); "null" or "none": the
    null output. ``period``: seconds between the output's requests for a block (a device's buffer size)."""
    global _no_device_until
    if kind == "auto" and time.monotonic() >= _no_device_until:
        try:
            return DeviceOutput(render, period_ms=max(1, round(period * 1000)))
        except AudioOutputError as exc:
            _no_device_until = time.monotonic() + NO_DEVICE_RETRY_SECONDS
            on_fallback(str(exc))
    return NullOutput(render, period=period)
