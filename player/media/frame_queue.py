"""A frame queue bounded in bytes and in time ahead, between the decode thread (producer) and the render
thread (consumer).

The producer blocks (always with a timeout) while the queue is full; the consumer never blocks. Each entry
carries the seek generation it was decoded for, so frames decoded before a seek are never shown after it.
"""

from __future__ import annotations

import threading
from collections import deque

from player.media.frames import VideoFrame


class FrameQueue:
    """FIFO of (generation, VideoFrame) ordered by presentation time, bounded by ``max_bytes`` and by
    ``max_ahead`` seconds between its first and last picture.

    The time bound keeps a small film from being decoded far ahead: that work is thrown away at every seek
    (a group's catch-up included) and takes the CPU in bursts; ``max_ahead`` of pictures still covers any
    decoding hiccup. A single frame larger than the byte bound is still accepted when the queue is empty, so
    playback never deadlocks on a small bound.
    """

    def __init__(self, max_bytes: int, max_ahead: float = float("inf")) -> None:
        if max_bytes <= 0:
            raise ValueError(f"queue_bytes must be positive, got {max_bytes}")
        if not max_ahead > 0:
            raise ValueError(f"max_ahead must be a positive number of seconds, got {max_ahead}")
        self.max_bytes = int(max_bytes)
        self.max_ahead = float(max_ahead)
        self._items: deque[tuple[int, VideoFrame]] = deque()
        self._bytes = 0
        self._cond = threading.Condition(threading.Lock())
        self.peak_bytes = 0

    @property
    def nbytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._items)

    def put(self, generation: int, frame: VideoFrame, timeout: float) -> bool:
        """Append a frame, waiting at most ``timeout`` seconds for room; False if there was none."""
        with self._cond:
            if not self._room_for(generation, frame):
                self._cond.wait_for(lambda: self._room_for(generation, frame), timeout)
                if not self._room_for(generation, frame):
                    return False
            self._items.append((generation, frame))
            self._bytes += frame.nbytes
            self.peak_bytes = max(self.peak_bytes, self._bytes)
            return True

    def _room_for(self, generation: int, frame: VideoFrame) -> bool:
        items = self._items
        if not items:
            return True
        if self._bytes + frame.nbytes > self.max_bytes:
            return False
        # the time bound counts this generation's pictures only: one decoded before a seek (it may still be
        # queued until the render thread drops it) says nothing about how far ahead the decoder is now
        first = next((f for gen, f in items if gen == generation), None)
        return first is None or frame.pts - first.pts < self.max_ahead

    def take_due(self, generation: int, media_t: float, slack: float) -> tuple[VideoFrame | None, int]:
        """Remove and return the latest frame of ``generation`` due at ``media_t`` (pts <= media_t + slack).

        Frames of other generations are dropped. Returns (frame or None, number of due frames passed over).
        Never blocks.
        """
        chosen: VideoFrame | None = None
        passed = 0
        with self._cond:
            items = self._items
            freed = False
            while items:
                gen, frame = items[0]
                if gen != generation:
                    items.popleft()
                    self._bytes -= frame.nbytes
                    freed = True
                    continue
                if frame.pts > media_t + slack:
                    break
                items.popleft()
                self._bytes -= frame.nbytes
                freed = True
                if chosen is not None:
                    passed += 1
                chosen = frame
            if freed:
                self._cond.notify_all()
        return chosen, passed

    def peek_due(self, generation: int, media_t: float, slack: float) -> VideoFrame | None:
        """The frame `take_due` would return for these arguments, left queued (None when none is due)."""
        chosen: VideoFrame | None = None
        with self._cond:
            for gen, frame in self._items:
                if gen != generation:
                    continue
                if frame.pts > media_t + slack:
                    break
                chosen = frame
        return chosen

    def peek(self, generation: int) -> VideoFrame | None:
        """The first queued frame of ``generation`` (without removing it), or None."""
        with self._cond:
            for gen, frame in self._items:
                if gen == generation:
                    return frame
        return None

    def clear(self) -> None:
        """Drop every frame and wake a waiting producer."""
        with self._cond:
            self._items.clear()
            self._bytes = 0
            self._cond.notify_all()

    def wake(self) -> None:
        """Wake a waiting producer (after a seek or a stop request)."""
        with self._cond:
            self._cond.notify_all()
