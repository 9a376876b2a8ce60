"""Decoded video frames handed from the decode thread to the renderer, in the decoder's own pixel format."""

from __future__ import annotations

from dataclasses import dataclass

import av
import numpy as np

from content_manifest.formats import PIXEL_FORMATS, unsupported

# Pixel formats the renderer uploads directly, with each plane's GL layout: (channels, bytes per sample); the
# one list is content_manifest.formats (check and doctor read it too).
PLANE_LAYOUTS: dict[str, tuple[tuple[int, int], ...]] = {name: f.planes for name, f in PIXEL_FORMATS.items()}

_COLORSPACES = {1: "bt709", 5: "bt601", 6: "bt601", 9: "bt2020", 10: "bt2020"}


@dataclass(frozen=True, slots=True)
class VideoFrame:
    """One picture as planes plus the facts needed to draw it (see docs/architecture.md)."""

    pix_fmt: str
    width: int
    height: int
    planes: tuple[np.ndarray, ...]
    line_sizes: tuple[int, ...]
    plane_sizes: tuple[tuple[int, int], ...]
    colorspace: str
    color_range: str
    pts: float
    index: int
    nbytes: int

    @property
    def bit_depth(self) -> int:
        return PIXEL_FORMATS[self.pix_fmt].depth

    @classmethod
    def from_av(cls, frame: av.VideoFrame, *, pts: float, index: int) -> VideoFrame:
        """Wrap a PyAV frame's planes without converting them (the planes keep the frame alive)."""
        fmt = frame.format.name
        if fmt not in PLANE_LAYOUTS:
            raise ValueError(unsupported(fmt))
        layouts = PLANE_LAYOUTS[fmt]
        planes, line_sizes, sizes, total = [], [], [], 0
        for plane, (_channels, sample_bytes) in zip(frame.planes, layouts):
            dtype = np.uint16 if sample_bytes == 2 else np.uint8
            arr = np.frombuffer(plane, dtype=dtype).reshape(plane.height, plane.line_size // sample_bytes)
            planes.append(arr)
            line_sizes.append(plane.line_size)
            # PyAV's plane width is already in pixels of that plane (for NV12/P010 the interleaved UV plane is
            # width/2 texels of 2 channels each), so it is the GL texture width as it stands.
            sizes.append((plane.width, plane.height))
            total += plane.line_size * plane.height
        return cls(
            pix_fmt=fmt,
            width=frame.width,
            height=frame.height,
            planes=tuple(planes),
            line_sizes=tuple(line_sizes),
            plane_sizes=tuple(sizes),
            colorspace=_colorspace_name(frame),
            color_range="full" if _is_full_range(frame) else "limited",
            pts=pts,
            index=index,
            nbytes=total,
        )


def _colorspace_name(frame: av.VideoFrame) -> str:
    value = int(getattr(frame, "colorspace", 2) or 2)
    if value in _COLORSPACES:
        return _COLORSPACES[value]
    return "bt709" if frame.height > 576 else "bt601"


def _is_full_range(frame: av.VideoFrame) -> bool:
    return frame.format.name.startswith("yuvj") or int(getattr(frame, "color_range", 0) or 0) == 2
