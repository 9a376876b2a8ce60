"""The video decode thread: packets -> decoder's own YUV planes -> the byte-bounded frame queue."""

from __future__ import annotations

from collections.abc import Callable

import av

from player.media.decode_thread import DecodeThread
from player.media.frame_queue import FrameQueue
from player.media.hwframes import wrap_frame

PUT_TIMEOUT = 0.1
DROP_WHEN_LATE = 0.15  # decoded pictures this far behind the clock: skip non-reference frames to catch up
DROP_UNTIL = 0.05  # ... until they are this close again


def unplayable_layout(path, first: av.VideoFrame | None) -> str | None:
    """One line naming a layout the renderer cannot show (cubemap, EAC), from the first picture's spherical
    side data or the container's own boxes (MP4 sv3d, Matroska Projection); None for equirect films."""
    from content_manifest.spherical import CONVERT_HINT, container_projection, from_frame_side_data

    info = from_frame_side_data(first) if first is not None else None
    name = info.unplayable if info is not None else ""
    if not name and (info is None or info.projection is None):
        name = container_projection(path)
    if not name:
        return None
    return (
        f"{path.name}: its spherical metadata says {name}; Viewpoint plays equirectangular 360 and 180 films "
        f"only: {CONVERT_HINT}"
    )


class VideoDecoder(DecodeThread):
    kind = "video"

    def __init__(
        self,
        *args,
        queue: FrameQueue,
        fps: float,
        duration: float | None,
        lateness: Callable[[float], float | None] | None = None,
        **kwargs,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.queue = queue
        self.fps = fps
        self.frame_duration = 1.0 / fps
        self.duration = duration
        self.decoded = 0
        self._drop_before = -1.0  # after a seek: frames ending at or before the target are decoded, not shown
        self._last_pts: float | None = None
        self.primed: list[av.VideoFrame] = []  # frames decoded while probing at open, delivered first
        self.lateness = lateness  # pts -> seconds the clock is past it, or None when dropping is not wanted
        self.dropping = False
        self.drop_episodes = 0

    def wake_producer(self) -> None:
        self.queue.wake()

    def _before_decode(self) -> None:
        """Like mpv's decoder frame dropping: when the pictures come out later than the clock, skip decoding
        frames nothing refers to (B-frames, mostly) until the decoder has caught up."""
        if self.lateness is None or self._last_pts is None:
            return
        late = self.lateness(self._last_pts)
        if not self.dropping and late is not None and late > DROP_WHEN_LATE:
            self._set_dropping(True)
        elif self.dropping and (late is None or late < DROP_UNTIL):
            self._set_dropping(False)

    def _set_dropping(self, on: bool) -> None:
        try:
            self.stream.codec_context.skip_frame = "NONREF" if on else "DEFAULT"
        except (AttributeError, ValueError, TypeError):
            self.lateness = None  # not supported here: never try again
            return
        self.dropping = on
        self.drop_episodes += on

    def _on_seek(self, target: float) -> None:
        if self.dropping:
            self._set_dropping(False)  # the frames after a seek are all wanted
        self.primed.clear()
        self._drop_before = target
        self._last_pts = None

    def run(self) -> None:
        primed, self.primed = self.primed, []
        unplayable = unplayable_layout(self.path, primed[0] if primed else None)
        if unplayable:  # a cubemap or EAC film would show scrambled: refused, naming its layout
            self.hooks.fatal("unsupported_projection", unplayable)
            try:
                self.container.close()
            except Exception:
                pass
            return
        for frame in primed:
            if not self._deliver(frame):
                break
        super().run()

    def _deliver(self, frame: av.VideoFrame) -> bool:
        pts = self._pts(frame)
        self.decoded += 1
        if pts + self.frame_duration <= self._drop_before + 1e-6:
            return not self.interrupted
        vf = wrap_frame(frame, pts=pts, index=round(pts * self.fps))  # host planes, or CUDA ones (hwframes)
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
