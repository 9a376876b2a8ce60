"""The media engine's decoder hooks: what the video and audio decode threads tell the engine (a corrupt
packet, the end of a stream, a fatal fault), each turned into a transport notice under the engine's lock.

Mixed into :class:`player.media.engine.MediaEngine`; called on the decode threads, never the render thread.
"""

from __future__ import annotations

import time
from typing import Any

from player.media.transport import TransportState

S = TransportState
ERROR_EVENTS_IN_FULL = 10  # decode errors emitted one by one; after that at most one event per second


class DecoderHooks:
    """Decode threads' hooks (``decode_error``, ``reached_end``, ``fatal``) and what they delivered."""

    _lock: Any
    _stats: dict
    _last_error_event: float
    _transport: Any
    _generation: int
    _video_end: tuple[int, float] | None
    _audio_end: tuple[int, float] | None
    _truncated: str | None
    _end_reason: str
    _clock: Any
    _video: Any
    _audio: Any
    state: Any
    _queue: Any
    _buffer: Any
    _pos: float

    def _ready(self, gen: int) -> bool:
        """Whether the current generation's first picture and sound are decoded (or their streams ended)."""
        video_ok = self._queue.peek(gen) is not None or (
            self._video_end is not None and self._video_end[0] == gen
        )
        if not video_ok:
            return False
        if self._buffer is None:
            return True
        return self._buffer.covers(self._pos, 2048) or (
            self._audio_end is not None and self._audio_end[0] == gen
        )

    def _end_time(self, gen: int) -> float | None:
        if self._video_end is None or self._video_end[0] != gen:
            return None
        end = self._video_end[1]
        if self._audio is not None:
            if self._audio_end is None or self._audio_end[0] != gen:
                return None
            end = max(end, self._audio_end[1])
        return end

    def decode_error(self, stream: str, message: str) -> None:
        with self._lock:
            self._stats["decode_errors"] += 1
            count = self._stats["decode_errors"]
            now = time.monotonic()
            if count <= ERROR_EVENTS_IN_FULL or now - self._last_error_event >= 1.0:
                self._last_error_event = now
                self._transport.notify(
                    "error", reason="corrupt_packet", fatal=False, stream=stream, count=count, message=message
                )

    def reached_end(self, stream: str, generation: int, end_t: float, truncated: str | None) -> None:
        with self._lock:
            if generation != self._generation:
                return
            if stream == "video":
                self._video_end = (generation, end_t)
            else:
                self._audio_end = (generation, end_t)
            if truncated and self._truncated is None:
                self._truncated = truncated
                self._end_reason = "truncated"
                self._transport.notify(
                    "error",
                    reason="truncated",
                    fatal=False,
                    stream=stream,
                    ends_at=round(end_t, 3),
                    message=truncated,
                )
            elif truncated:
                self._end_reason = "truncated"

    def fatal(self, reason: str, message: str) -> None:
        with self._lock:
            self._fatal_locked(reason, message)

    def _fatal_locked(self, reason: str, message: str) -> None:
        if self.state in (S.ERROR, S.CLOSED):
            return
        self._clock.hold(self._clock.now())
        self._transport.transition(S.ERROR, reason=reason, message=message, fatal=True)
        for dec in (self._video, self._audio):
            if dec is not None:
                dec.stop()
