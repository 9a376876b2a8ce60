"""Probing a film with PyAV: codec, size, frame rate, duration, audio layout, spherical metadata, sha256."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

from .progress import Progress
from .safefile import NotRegularFile, irregular, sha256_regular
from .spherical import SphericalInfo, container_projection, from_frame_side_data


class ProbeError(Exception):
    """The file is not a video PyAV can open (or it is damaged)."""


@dataclass(frozen=True)
class Probe:
    path: Path
    size: int
    codec: str
    width: int
    height: int
    fps: float | None
    pix_fmt: str | None
    duration: float | None
    audio_codec: str | None
    audio_channels: int | None
    audio_layout: str | None  # FFmpeg's layout name, e.g. "stereo", "4.0"
    spherical: SphericalInfo | None  # None: the file carries no spherical metadata


def probe(path: str | os.PathLike[str]) -> Probe:
    """Open ``path`` with PyAV and describe it; decodes the first picture to read spherical side data."""
    import av

    p = Path(path)
    reason = irregular(p)
    if reason:  # a FIFO would block FFmpeg forever, a device never end
        raise ProbeError(f"{reason}, not a regular file")
    size = p.stat().st_size
    try:
        container = av.open(str(p))
    except av.error.FFmpegError as e:
        raise ProbeError(f"not a video file PyAV can open ({_reason(e)})") from e
    except UnicodeDecodeError as e:  # damaged metadata text
        raise ProbeError(f"damaged: its metadata is not readable text ({e.reason})") from e
    with container:
        if not container.streams.video:
            raise ProbeError("no video stream")
        v = container.streams.video[0]
        rate = v.average_rate or v.guessed_rate
        duration = None
        if v.duration is not None and v.time_base is not None:
            duration = float(v.duration * v.time_base)
        elif container.duration is not None:
            duration = container.duration / 1_000_000
        a = container.streams.audio[0] if container.streams.audio else None
        spherical = None
        try:
            for frame in container.decode(v):
                spherical = from_frame_side_data(frame)
                break
            else:
                raise ProbeError("the video stream has no pictures")
        except av.error.FFmpegError as e:
            raise ProbeError(f"cannot decode the first picture ({_reason(e)})") from e
        if spherical is None or (spherical.projection is None and not spherical.unplayable):
            mesh = container_projection(p)  # a mesh (YouTube's EAC) FFmpeg does not report
            if mesh:
                old = spherical or SphericalInfo(None, None)
                spherical = replace(old, detail=mesh, unplayable=mesh)
        fmt = v.codec_context.format
        return Probe(
            path=p,
            size=size,
            codec=v.codec_context.name,
            width=v.codec_context.width,
            height=v.codec_context.height,
            fps=float(rate) if rate else None,
            pix_fmt=fmt.name if fmt is not None else None,
            duration=duration,
            audio_codec=a.codec_context.name if a is not None else None,
            audio_channels=a.codec_context.channels if a is not None else None,
            audio_layout=a.codec_context.layout.name if a is not None else None,
            spherical=spherical,
        )


def _reason(e: Exception) -> str:
    return getattr(e, "strerror", None) or str(e)


def sha256_file(path: str | os.PathLike[str], label: str | None = None) -> str:
    """SHA-256 of a regular file's content, with a progress bar on a terminal for big files; raises
    `NotRegularFile` (an OSError) for a FIFO, a device or a link to one."""
    p = Path(path)
    reason = irregular(p)
    if reason:
        raise NotRegularFile(f"{p}: {reason}, not a regular file")
    with Progress(label or f"sha256 {p.name}", p.stat().st_size) as bar:
        return sha256_regular(p, bar.update)
