"""The audio output's callback for the media engine: it advances the transport, anchors the media clock and
returns the sound for each block (a mixin of :class:`player.media.engine.MediaEngine`)."""

from __future__ import annotations

import logging
import time

import numpy as np

from player.media.audio_output import OUTPUT_RATE
from player.media.stretch import TimeStretch
from player.media.transport import TransportState

log = logging.getLogger("player.media.engine")
S = TransportState
RATE_MODE = "stretch"  # rates other than 1: "stretch" (WSOLA, pitch kept) or "resample" (pitch follows)
START_SKIP_MAX = 0.25  # play(at=...): a start this late still lands on the clock by skipping forward
BUFFERING_AFTER = 0.25  # seconds the clock must be held by missing data before the state says BUFFERING


class EngineAudio:
    """The engine's audio callback."""

    # --- the audio output callback: the clock's heartbeat ---------------------------------------------

    def _tap(self, play_time: float, block: np.ndarray) -> None:
        tap = self.audio_tap
        if tap is not None:
            tap(play_time, block)

    def _render_audio(self, n: int, play_time: float) -> np.ndarray:
        """Called by the output for every block: advance the transport, anchor the clock, return sound."""
        with self._lock:
            try:
                return self._render_locked(n, play_time)
            except Exception as exc:  # never let the audio thread die with a traceback
                log.exception("audio render failed")
                self._fatal_locked("audio_failed", f"audio rendering failed: {exc}")
                return np.zeros((n, 2), dtype=np.float32)

    def _render_locked(self, n: int, play_time: float) -> np.ndarray:
        st = self.state
        gen = self._generation
        if (
            self._gate_open
            and st in (S.LOADED, S.PLAYING, S.PAUSED, S.SEEKING, S.BUFFERING)
            and self._ready(gen)
        ):
            self._gate_open = False
            if st == S.SEEKING:
                self._transport.transition(
                    S.PLAYING if self._resume else S.PAUSED, seeked_to=round(self._pos / OUTPUT_RATE, 6)
                )
                st = self.state
        running = st in (S.PLAYING, S.BUFFERING) and not self._gate_open
        if not running:
            return self._silence(n, gen)

        speed = self._fast if self._fast > 1.0 else self._rate * self._trim
        if self._play_at is not None:  # a scheduled start: silent (clock held) until the block at the instant
            if play_time < self._play_at:
                return self._silence(n, gen)
            late = play_time - self._play_at
            self._play_at = None
            if late <= START_SKIP_MAX:
                self._pos += late * speed * OUTPUT_RATE
        end = self._end_time(gen)
        pos_t = self._pos / OUTPUT_RATE
        if end is not None and pos_t >= end - 1e-6:
            self._clock.hold(end)
            self._pos = end * OUTPUT_RATE
            self._transport.transition(
                S.ENDED, reason=self._end_reason, **({"message": self._truncated} if self._truncated else {})
            )
            return self._silence(n, gen)

        block: np.ndarray | None = None
        stretched = False
        if self._buffer is not None:
            if self._fast > 1.0:
                block = None  # fast mode is silent and does not wait for sound
            elif self._rate == 1.0 or RATE_MODE == "resample":
                # (group sync's trim of a few per mille is resampled: inaudible, and sample-exact)
                block = self._buffer.read(self._pos, n, speed)
                if block is None:
                    return self._underrun(n, play_time)
            else:
                stretch = self._stretch
                if stretch is None or stretch.out_pos != self._pos:
                    stretch = self._stretch = TimeStretch(self._buffer.channels)
                    stretch.reset(self._pos, speed)
                stretch.rate = speed  # a new rate or trim goes on from here, without a break
                rendered = stretch.render(self._buffer, n)
                if rendered is None:
                    return self._underrun(n, play_time)
                block, heard = rendered
                pos_t = heard / OUTPUT_RATE
                stretched = True
        if self._held_since is not None:
            self._held_since = None
            if st == S.BUFFERING:
                self._transport.transition(S.PLAYING)
        ceiling = end if end is not None else float("inf")
        self._clock.anchor(play_time, pos_t, speed, ceiling)
        out = self._mixer.render(block, n, audible=self._fast <= 1.0)
        if stretched:
            self._pos = self._stretch.out_pos
        else:
            self._pos += n * speed
        if self._buffer is not None:
            self._buffer.consumed(self._pos)
        return out

    def _silence(self, n: int, gen: int) -> np.ndarray:
        # fade out from where the sound was (without moving the position), then silence
        block = None
        if self._buffer is not None and not self._mixer.silent:
            block = self._buffer.read(self._pos, n, 1.0)
        return self._mixer.render(block, n, audible=False)

    def _underrun(self, n: int, play_time: float) -> np.ndarray:
        self._stats["audio_underruns"] += 1
        self._clock.hold(self._pos / OUTPUT_RATE)
        now = time.monotonic()
        if self._held_since is None:
            self._held_since = now
        elif now - self._held_since > BUFFERING_AFTER and self.state == S.PLAYING:
            self._transport.transition(S.BUFFERING, reason="audio_late")
        return self._mixer.render(None, n, audible=False)
