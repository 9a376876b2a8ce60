"""Tiny test films for the QA library tests: a smooth random world seen in each layout, encoded by PyAV.

The world is a sum of waves on the sphere, so a 360 picture of it meets at its edges, two eyes (a small yaw
apart) see nearly the same picture, and different directions look different, as in a filmed scene.
"""

from __future__ import annotations

import subprocess
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

_RNG = np.random.default_rng(17)
_WAVES = [
    (_RNG.normal(size=3), _RNG.uniform(2.0, 6.0), _RNG.uniform(0, 2 * np.pi), _RNG.uniform(0.5, 1.0))
    for _ in range(36)
]
FPS = 6
FRAMES = 6


def world(d: np.ndarray, t: float) -> np.ndarray:
    """RGB (0..255) of unit directions ``d`` (..., 3) at time ``t``: 12 waves per channel."""
    out = np.zeros((*d.shape[:-1], 3), dtype=np.float64)
    for i, (v, f, phase, a) in enumerate(_WAVES):
        v = v / np.linalg.norm(v)
        out[..., i % 3] += a * np.sin(f * (d @ v) + phase + 0.3 * t)
    return np.clip(128 + 30 * out, 0, 255)


def eye_picture(width: int, height: int, span: float = 360.0, yaw: float = 0.0, t: float = 0.0) -> np.ndarray:
    """An equirect picture (``span`` degrees wide) of the world, the eye turned by ``yaw`` degrees."""
    heading = np.radians((np.arange(width) + 0.5) / width * span - span / 2 + yaw)
    pitch = np.radians(90.0 - (np.arange(height) + 0.5) / height * 180.0)
    hh, pp = np.meshgrid(heading, pitch)
    d = np.stack([np.sin(hh) * np.cos(pp), np.sin(pp), -np.cos(hh) * np.cos(pp)], axis=-1)
    return world(d, t).astype(np.uint8)


def picture(projection: str, stereo: str, eye_width: int, t: float = 0.0, eye_order: str = "left-first"):
    """The whole frame of a film in a layout (eyes 1.5 degrees of yaw apart, the left eye first unless
    ``eye_order`` is right-first)."""
    span = 360.0 if projection == "equirect360" else 180.0
    eye_height = round(eye_width * 180.0 / span)
    left = eye_picture(eye_width, eye_height, span, 0.0, t)
    if stereo == "mono":
        return left
    right = eye_picture(eye_width, eye_height, span, 1.5, t)
    first, second = (right, left) if eye_order == "right-first" else (left, right)
    return np.concatenate([first, second], axis=0 if stereo == "top-bottom" else 1)


def encode(
    path: Path,
    frame_at,
    *,
    codec: str = "libx264",
    pix_fmt: str = "yuv420p",
    audio: bool = False,
    frames: int = FRAMES,
    metadata: dict[str, str] | None = None,
) -> Path:
    """Encode ``frame_at(index) -> RGB array`` into ``path`` (MP4, MKV or MOV by its suffix)."""
    first = frame_at(0)
    h, w = first.shape[:2]
    with av.open(str(path), "w") as c:
        v = c.add_stream(codec, rate=FPS)
        v.width, v.height, v.pix_fmt = w, h, pix_fmt
        v.codec_context.gop_size = 2 * FPS  # a keyframe every 2 s, as real masters have
        if codec == "libx264":
            v.options = {"preset": "ultrafast", "crf": "18"}
        for k, val in (metadata or {}).items():
            v.metadata[k] = val
        a = None
        if audio:
            a = c.add_stream("aac", rate=48000, layout="stereo")
        for i in range(frames):
            rgb = first if i == 0 else frame_at(i)
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format=pix_fmt)
            frame.pts = i
            frame.time_base = Fraction(1, FPS)
            for packet in v.encode(frame):
                c.mux(packet)
        for packet in v.encode(None):
            c.mux(packet)
        if a is not None:
            samples = 48000 * frames // FPS
            pcm = (0.1 * np.sin(np.arange(samples) * 2 * np.pi * 440 / 48000)).astype(np.float32)
            for start in range(0, samples, 1024):
                chunk = np.ascontiguousarray(np.tile(pcm[start : start + 1024], (2, 1)))
                af = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="stereo")
                af.sample_rate = 48000
                af.pts = start
                af.time_base = Fraction(1, 48000)
                for packet in a.encode(af):
                    c.mux(packet)
            for packet in a.encode(None):
                c.mux(packet)
    return path


def layout_film(path: Path, projection: str, stereo: str, eye_width: int = 128, **kw) -> Path:
    eye_order = kw.pop("eye_order", "left-first")
    return encode(path, lambda i: picture(projection, stereo, eye_width, i / FPS, eye_order), **kw)


def mkvmerge(src: Path, dst: Path, *options: str) -> Path:
    """Remux with MKVToolNix's mkvmerge (Debian's mkvtoolnix), e.g. ``--projection-type 0:2``."""
    subprocess.run(["mkvmerge", "-q", "-o", str(dst), *options, str(src)], check=True, capture_output=True)
    return dst
