"""The video decode thread: packets -> decoder's own YUV planes -> the byte-bounded frame queue."""

from __future__ import annotations

import av

from player.media.decode_thread import DecodeThread
from player.media.frame_queue import FrameQueue
from player.media.frames import VideoFrame

PUT_TIMEOUT = 0.1


class VideoDecoder(DecodeThread):
    kind = "video"

    def __init__(self, *args, queue: FrameQueue, fps: float, duration: float | None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.queue = queue
        self.fps = fps
        self.frame_duration = 1.0 / fps
        self.duration = duration
        self.decoded = 0
        self._drop_before = -1.0  # after a seek: frames ending at or before the target are decoded, not shown
        self._last_pts: float | None = None
        self.primed: list[av.VideoFrame] = []  # frames decoded while probing at open, delivered first

    def wake_producer(self) -> None:
        self.queue.wake()

    def _on_seek(self, target: float) -> None:
        self.primed.clear()
        self._drop_before = target
        self._last_pts = None

    def run(self) -> None:
        primed, self.primed = self.primed, []
        for frame in primed:
            if not self._deliver(frame):
                break
        super().run()

    def _deliver(self, frame: av.VideoFrame) -> bool:
        pts = self._pts(frame)
        self.decoded += 1
        if pts + self.frame_duration <= self._drop_before + 1e-6:
            return not self.interrupted
        vf = VideoFrame.from_av(frame, pts=pts, index=round(pts * self.fps))
        generation = self.generation
        while not self.queue.put(generation, vf, PUT_TIMEOUT):
            if self.interrupted:
                return False
            self._check_file(force=False)
        return not self.interrupted

    def _pts(self, frame: av.VideoFrame) -> float:
        ts = frame.pts
        if ts is None:
            ts = getattr(frame, "best_effort_timestamp", None)
        if ts is None or not self.time_base:
            pts = (self._last_pts + self.frame_duration) if self._last_pts is not None else 0.0
        else:
            pts = ts * self.time_base - self.origin
        self._last_pts = pts
        return pts

    def _finish_stream(self, truncated: str | None) -> None:
        end = (
            (self._last_pts + self.frame_duration)
            if self._last_pts is not None
            else max(self._drop_before, 0.0)
        )
        if truncated is None and self.duration is not None and self._last_pts is not None:
            missing = self.duration - end
            if missing > max(0.5, 3 * self.frame_duration):
                truncated = f"the film ends at {end:.3f} s but its header says {self.duration:.3f} s"
        self.hooks.reached_end("video", self.generation, end, truncated)
