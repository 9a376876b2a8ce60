"""Text and icons rasterised with Pillow into premultiplied RGBA images for head-locked overlays."""

from __future__ import annotations

import textwrap
from functools import cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

_FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "C:/Windows/Fonts/segoeui.ttf",
    "C:/Windows/Fonts/arial.ttf",
    "/System/Library/Fonts/Supplemental/Arial.ttf",
)


@cache
def font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for candidate in _FONT_CANDIDATES:
        if Path(candidate).is_file():
            return ImageFont.truetype(candidate, size)
    return ImageFont.load_default(size=size)


def _premultiply(image: Image.Image) -> np.ndarray:
    rgba = np.asarray(image.convert("RGBA"), dtype=np.float32) / 255.0
    rgba[..., :3] *= rgba[..., 3:4]
    return np.ascontiguousarray((rgba * 255.0 + 0.5).astype(np.uint8))


def text_panel(text: str, *, size: int = 40, max_chars: int = 42, background: float = 0.6) -> np.ndarray:
    """White text, wrapped and centred, on a rounded translucent dark panel.

    Returns premultiplied RGBA rows, top row first.
    """
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        lines.extend(textwrap.wrap(paragraph, max_chars) or [""])
    face = font(size)
    probe = ImageDraw.Draw(Image.new("RGBA", (1, 1)))
    boxes = [probe.textbbox((0, 0), line or " ", font=face) for line in lines]
    line_h = int(size * 1.3)
    pad = size // 2
    width = max(b[2] - b[0] for b in boxes) + 2 * pad
    height = line_h * len(lines) + 2 * pad - (line_h - size)
    image = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    panel = (12, 14, 18, int(255 * background))
    draw.rounded_rectangle((0, 0, width - 1, height - 1), radius=pad, fill=panel)
    for i, (line, box) in enumerate(zip(lines, boxes)):
        x = (width - (box[2] - box[0])) // 2 - box[0]
        draw.text((x, pad + i * line_h - box[1] // 2), line, font=face, fill=(255, 255, 255, 255))
    return _premultiply(image)


def pause_icon(size: int = 96) -> np.ndarray:
    """Two rounded bars in a soft translucent disc."""
    image = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.ellipse((0, 0, size - 1, size - 1), fill=(12, 14, 18, 150))
    bar_w, bar_h = size // 7, size // 2
    top = (size - bar_h) // 2
    for x in (size // 2 - bar_w - size // 14, size // 2 + size // 14):
        draw.rounded_rectangle((x, top, x + bar_w, top + bar_h), radius=bar_w // 3, fill=(255, 255, 255, 235))
    return _premultiply(image)
