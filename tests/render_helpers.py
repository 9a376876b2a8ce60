"""Helpers for the renderer and backend tests: decode sample-film frames, one shared offscreen GL context."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np

from player.media.frames import VideoFrame


def decode_frames(path: Path, indices: set[int]) -> dict[int, tuple[VideoFrame, av.VideoFrame]]:
    """Decode the given frame numbers of a film as (VideoFrame, the PyAV frame kept alive)."""
    out: dict[int, tuple[VideoFrame, av.VideoFrame]] = {}
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        fps = float(stream.average_rate)
        for frame in container.decode(stream):
            index = round(float(frame.pts * stream.time_base) * fps)
            if index in indices:
                out[index] = (VideoFrame.from_av(frame, pts=index / fps, index=index), frame)
            if len(out) == len(indices):
                break
    return out


def synthetic_frame(pix_fmt: str, colorspace: str, color_range: str, width: int = 256, height: int = 256):
    """Gentle gradients and a flat patch, converted by swscale to YUV; returns (VideoFrame, av frame).

    Gradients stay below ~0.5 levels per pixel: swscale's 8-bit converters take the nearest chroma sample
    where the shader interpolates, and on steep chroma ramps that alone exceeds 3/255.
    """
    x = np.linspace(40, 40 + 0.45 * width, width)
    y = np.linspace(50, 50 + 0.45 * height, height)
    xx, yy = np.meshgrid(x, y)
    rgb = np.stack([xx, yy, 230 - (xx + yy) / 3], axis=-1)
    rgb[height // 4 : height // 2, width // 4 : width // 2] = (200, 40, 90)  # a flat patch with hard edges
    picture = av.VideoFrame.from_ndarray(rgb.astype(np.uint8), format="rgb24")
    sws = {"bt601": "itu601", "bt709": "itu709", "bt2020": "bt2020"}[colorspace]
    frame = picture.reformat(
        format=pix_fmt, dst_colorspace=sws, dst_color_range="JPEG" if color_range == "full" else "MPEG"
    )
    return VideoFrame.from_av(frame, pts=0.0, index=0), frame


def away_from_chroma_edges(rgb: np.ndarray, threshold: int = 6) -> np.ndarray:
    """Mask of pixels whose 5x5 neighbourhood of the reference is smooth (no chroma edge nearby)."""
    a = rgb.astype(np.int32)
    h, w = a.shape[:2]
    pad = np.pad(a, ((2, 2), (2, 2), (0, 0)), mode="edge")
    worst = np.zeros((h, w), dtype=np.int32)
    centre = pad[2 : 2 + h, 2 : 2 + w]
    for dy in range(5):
        for dx in range(5):
            diff = np.abs(pad[dy : dy + h, dx : dx + w] - centre).max(axis=2)
            worst = np.maximum(worst, diff)
    return worst <= threshold * 4
