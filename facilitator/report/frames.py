"""A film's picture at a media time as a small RGB image (the report's heatmaps, the console's live view).

This is not the playback path: converting to RGB on the CPU is fine here. Stereo films give the left eye.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path

import av
from PIL import Image


class FrameError(Exception):
    """The film could not be opened or decoded at the requested time."""


def left_eye(image: Image.Image, stereo: str) -> Image.Image:
    """The left eye's picture of a stereo frame ("top-bottom": top half, "left-right": left half)."""
    w, h = image.size
    if stereo == "top-bottom":
        return image.crop((0, 0, w, h // 2))
    if stereo == "left-right":
        return image.crop((0, 0, w // 2, h))
    return image


def frame_at(path: Path | str, t: float, *, stereo: str = "mono", width: int = 512) -> Image.Image:
    """The first picture at or after media time `t` (seconds), left eye, scaled to `width` pixels wide."""
    path = Path(path)
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise FrameError(f"{path}: no video stream")
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            t = max(0.0, float(t))
            if t > 0 and stream.time_base:
                container.seek(int(t / stream.time_base), stream=stream, backward=True, any_frame=False)
            picked = None
            for frame in container.decode(stream):
                picked = frame
                if frame.time is not None and frame.time + 1e-3 >= t:
                    break
            if picked is None:
                raise FrameError(f"{path}: no picture decoded at {t:.3f} s")
            image = picked.to_image()
    except (av.error.FFmpegError, OSError) as exc:
        raise FrameError(f"{path}: cannot decode a picture at {t:.3f} s: {exc}") from exc
    image = left_eye(image, stereo)
    if width and image.width != width:
        height = max(1, round(image.height * width / image.width))
        image = image.resize((width, height), Image.Resampling.BILINEAR)
    return image


class FrameCache:
    """Thread-safe LRU of `frame_at` results keyed by (path, time bucket, stereo, width)."""

    def __init__(self, capacity: int = 256, bucket_s: float = 1.0) -> None:
        self.capacity = capacity
        self.bucket_s = bucket_s
        self._items: OrderedDict[tuple, Image.Image] = OrderedDict()
        self._lock = threading.Lock()

    def bucket(self, t: float) -> float:
        return max(0.0, round(float(t) / self.bucket_s) * self.bucket_s)

    def get(self, path: Path | str, t: float, *, stereo: str = "mono", width: int = 512) -> Image.Image:
        key = (str(path), self.bucket(t), stereo, width)
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        image = frame_at(path, key[1], stereo=stereo, width=width)
        with self._lock:
            self._items[key] = image
            while len(self._items) > self.capacity:
                self._items.popitem(last=False)
        return image
