"""Read an X Window Dump (what `Xvfb -fbdir` keeps up to date as the screen) into an RGB numpy array."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

_FIELDS = [
    "header_size",
    "file_version",
    "pixmap_format",
    "pixmap_depth",
    "pixmap_width",
    "pixmap_height",
    "xoffset",
    "byte_order",
    "bitmap_unit",
    "bitmap_bit_order",
    "bitmap_pad",
    "bits_per_pixel",
    "bytes_per_line",
    "visual_class",
    "red_mask",
    "green_mask",
    "blue_mask",
    "bits_per_rgb",
    "colormap_entries",
    "ncolors",
    "window_width",
    "window_height",
    "window_x",
    "window_y",
    "window_bdrwidth",
]


def read_xwd(path: str | Path) -> np.ndarray:
    """The screen as an (height, width, 3) uint8 RGB array (24/32-bit TrueColor dumps)."""
    data = Path(path).read_bytes()
    h = dict(zip(_FIELDS, struct.unpack(">25I", data[:100])))
    if h["bits_per_pixel"] != 32:
        raise ValueError(f"{path}: {h['bits_per_pixel']} bits per pixel, only 32 is supported")
    offset = h["header_size"] + h["ncolors"] * 12
    width, height, stride = h["pixmap_width"], h["pixmap_height"], h["bytes_per_line"]
    rows = np.frombuffer(data, dtype=np.uint8, count=stride * height, offset=offset).reshape(height, stride)
    px = rows[:, : width * 4].reshape(height, width, 4)
    order = "<" if h["byte_order"] == 0 else ">"
    words = px.view(np.dtype(order + "u4")).reshape(height, width)
    out = np.empty((height, width, 3), dtype=np.uint8)
    for i, mask in enumerate((h["red_mask"], h["green_mask"], h["blue_mask"])):
        shift = (mask & -mask).bit_length() - 1
        out[..., i] = ((words & mask) >> shift).astype(np.uint8)
    return out
