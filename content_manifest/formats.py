"""The decoded pixel formats Viewpoint plays: one table for `check --verify-media`, `doctor` and the player.

Each format goes to the GPU as the decoder's own planes (no conversion on the CPU) and is converted to RGB in
the film shader, so a format is listed here only when its planes upload as R/RG textures of 8 or 16 bits.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class PixelFormat:
    """How one FFmpeg pixel format is laid out and read back to code values."""

    name: str
    planes: tuple[tuple[int, int], ...]  # per plane: (channels, bytes per sample)
    chroma_shift: tuple[int, int]  # log2 of the chroma subsampling: (horizontal, vertical)
    depth: int  # bits per code value
    msb: bool = False  # codes in the high bits of 16-bit samples (P010): code = sample >> (16 - depth)
    full_range: bool = False  # yuvj*: JPEG (full) range whatever the stream says

    @property
    def scale(self) -> float:
        """Factor from the normalised texel (R8/R16 UNORM) to the integer code value."""
        if self.planes[0][1] == 1:
            return 255.0
        return 65535.0 / (1 << (16 - self.depth)) if self.msb else 65535.0

    @property
    def chroma(self) -> str:
        return {(1, 1): "4:2:0", (1, 0): "4:2:2", (0, 0): "4:4:4"}[self.chroma_shift]


def _planar(name: str, shift: tuple[int, int], depth: int, full: bool = False) -> PixelFormat:
    sample = 1 if depth == 8 else 2
    return PixelFormat(name, ((1, sample),) * 3, shift, depth, full_range=full)


_420, _422, _444 = (1, 1), (1, 0), (0, 0)
PIXEL_FORMATS: dict[str, PixelFormat] = {
    f.name: f
    for f in (
        _planar("yuv420p", _420, 8),
        _planar("yuvj420p", _420, 8, full=True),
        _planar("yuv422p", _422, 8),
        _planar("yuvj422p", _422, 8, full=True),
        _planar("yuv444p", _444, 8),
        _planar("yuvj444p", _444, 8, full=True),
        _planar("yuv420p10le", _420, 10),
        _planar("yuv422p10le", _422, 10),
        _planar("yuv444p10le", _444, 10),
        _planar("yuv420p12le", _420, 12),
        _planar("yuv422p12le", _422, 12),
        _planar("yuv444p12le", _444, 12),
        # with an alpha plane (ProRes 4444, VP9 with alpha): the picture is opaque in a headset, alpha unused
        _planar("yuva420p", _420, 8),
        _planar("yuva444p", _444, 8),
        _planar("yuva422p10le", _422, 10),
        _planar("yuva444p10le", _444, 10),
        _planar("yuva444p12le", _444, 12),
        PixelFormat("nv12", ((1, 1), (2, 1)), _420, 8),
        PixelFormat("p010le", ((1, 2), (2, 2)), _420, 10, msb=True),
    )
}
SUPPORTED_TEXT = "8, 10 or 12-bit YUV 4:2:0, 4:2:2 or 4:4:4, alpha ignored (" + ", ".join(PIXEL_FORMATS) + ")"


def unsupported(pix_fmt: str | None) -> str | None:
    """None when the player takes ``pix_fmt``; else one line saying so and what it takes."""
    if pix_fmt in PIXEL_FORMATS:
        return None
    return f"pixel format {pix_fmt!r} is not one the player takes ({SUPPORTED_TEXT})"
