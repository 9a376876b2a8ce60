"""Text and icons rasterised with Pillow into premultiplied RGBA images for head-locked overlays."""

from __future__ import annotations

import re
import textwrap
from functools import cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont, features

# The fall-back chain: for each script, the fonts to try in order (Debian's Noto fonts, from
# scripts/system-deps.sh, then what Windows and macOS ship). Text is cut into runs of one script and each run
# drawn with its script's first font found, so Chinese, Arabic or Hebrew subtitles never show as empty boxes.
_NOTO = "/usr/share/fonts/truetype/noto/"
_NOTO_OT = "/usr/share/fonts/opentype/noto/"
_WIN = "C:/Windows/Fonts/"
_MAC = "/System/Library/Fonts/"
FONT_CHAIN: dict[str, tuple[tuple[str, int], ...]] = {
    "latin": (  # Latin, Cyrillic, Greek and everything without a script of its own below
        (_NOTO + "NotoSans-Regular.ttf", 0),
        ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", 0),
        ("/usr/share/fonts/TTF/DejaVuSans.ttf", 0),
        (_WIN + "segoeui.ttf", 0),
        (_WIN + "arial.ttf", 0),
        (_MAC + "Supplemental/Arial.ttf", 0),
    ),
    "arabic": (
        (_NOTO + "NotoSansArabic-Regular.ttf", 0),
        (_NOTO + "NotoNaskhArabic-Regular.ttf", 0),
        (_WIN + "segoeui.ttf", 0),
        (_MAC + "GeezaPro.ttc", 0),
    ),
    "hebrew": (
        (_NOTO + "NotoSansHebrew-Regular.ttf", 0),
        (_WIN + "segoeui.ttf", 0),
        (_MAC + "Supplemental/Arial Hebrew.ttc", 0),
    ),
    "cjk": (  # Noto Sans CJK: face 2 is Simplified Chinese; every face holds the Han, kana and Hangul glyphs
        (_NOTO_OT + "NotoSansCJK-Regular.ttc", 2),
        ("/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc", 2),
        (_WIN + "msyh.ttc", 0),
        (_WIN + "YuGothM.ttc", 0),
        (_MAC + "PingFang.ttc", 0),
    ),
    "devanagari": ((_NOTO + "NotoSansDevanagari-Regular.ttf", 0), (_WIN + "Nirmala.ttf", 0)),
    "thai": ((_NOTO + "NotoSansThai-Regular.ttf", 0), (_WIN + "leelawui.ttf", 0)),
}
RTL_SCRIPTS = frozenset(("arabic", "hebrew"))
_RANGES = (  # (first, last, script), by code point
    (0x0590, 0x05FF, "hebrew"),
    (0x0600, 0x06FF, "arabic"),
    (0x0750, 0x077F, "arabic"),
    (0x0870, 0x08FF, "arabic"),
    (0x0900, 0x097F, "devanagari"),
    (0x0E00, 0x0E7F, "thai"),
    (0x1100, 0x11FF, "cjk"),
    (0x2E80, 0x9FFF, "cjk"),
    (0xA960, 0xA97F, "cjk"),
    (0xAC00, 0xD7AF, "cjk"),
    (0xF900, 0xFAFF, "cjk"),
    (0xFB1D, 0xFB4F, "hebrew"),
    (0xFB50, 0xFDFF, "arabic"),
    (0xFE30, 0xFE4F, "cjk"),
    (0xFE70, 0xFEFF, "arabic"),
    (0xFF00, 0xFFEF, "cjk"),
    (0x20000, 0x3FFFF, "cjk"),
)


def script_of(ch: str) -> str | None:
    """The script whose font draws ``ch``; None for spaces, digits and punctuation (any font has them)."""
    code = ord(ch)
    if code < 0x80:
        return "latin" if ch.isalpha() else None
    for first, last, script in _RANGES:
        if first <= code <= last:
            return script
    return None if not ch.isalpha() else "latin"


def runs(line: str) -> list[tuple[str, str]]:
    """The line cut into (script, text) runs. Spaces, digits and punctuation join the run before them, except
    after right-to-left text, where they make a Latin run of their own (Hebrew and Arabic fonts lack some)."""
    out: list[tuple[str, str]] = []
    for ch in line:
        script = script_of(ch)
        last = out[-1][0] if out else None
        if script is None:
            if last is None or last in RTL_SCRIPTS:
                out.append(("", ch))  # a neutral run: drawn with the Latin font
            else:
                out[-1] = (last, out[-1][1] + ch)
        elif script == last:
            out[-1] = (last, out[-1][1] + ch)
        elif last == "" and script not in RTL_SCRIPTS and (len(out) == 1 or out[-2][0] not in RTL_SCRIPTS):
            out[-1] = (script, out[-1][1] + ch)  # leading neutrals join the left-to-right run after them
        else:
            out.append((script, ch))
    return [(s or "latin", t) for s, t in out]


@cache
def _layout() -> ImageFont.Layout:
    return ImageFont.Layout.RAQM if features.check("raqm") else ImageFont.Layout.BASIC


@cache
def font_for(script: str, size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """The first font of the script's chain found here (the Latin chain, then Pillow's own, when none)."""
    for path, index in FONT_CHAIN.get(script, ()) + FONT_CHAIN["latin"]:
        if Path(path).is_file():
            return ImageFont.truetype(path, size, index=index, layout_engine=_layout())
    return ImageFont.load_default(size=size)


def font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return font_for("latin", size)


def _pieces(line: str, size: int) -> tuple[list[tuple[ImageFont.FreeTypeFont, str, float, bool]], bool]:
    """(font, text, width, right-to-left) per run, and whether the line reads right to left."""
    pieces = []
    cut = runs(line)
    rtl_line = any(script in RTL_SCRIPTS for script, _ in cut)
    for script, text in cut:
        if rtl_line and script == "latin" and script_of(text.strip()[:1] or " ") is None:
            # neutrals in a right-to-left line read right to left; numbers keep their own order
            text = "".join(reversed(re.findall(r"[0-9][0-9.,:]*[0-9]|[0-9]|.", text)))
        face = font_for(script, size)
        rtl = script in RTL_SCRIPTS
        direction = "rtl" if rtl and _layout() == ImageFont.Layout.RAQM else None
        pieces.append((face, text, face.getlength(text, direction=direction), rtl))
    return pieces, rtl_line


def line_width(line: str, size: int) -> float:
    """How wide ``line`` draws at ``size`` with the fall-back chain (shaped, so Arabic joins)."""
    return sum(p[2] for p in _pieces(line, size)[0])


def _draw_line(draw: ImageDraw.ImageDraw, line: str, size: int, centre: float, baseline: float) -> None:
    """One line centred at ``centre``, every run on the same ``baseline``."""
    pieces, rtl_line = _pieces(line, size)
    total = sum(p[2] for p in pieces)
    x = centre + total / 2 if rtl_line else centre - total / 2
    raqm = _layout() == ImageFont.Layout.RAQM
    for face, text, width, rtl in pieces:
        if rtl_line:  # runs placed right to left, each drawn in its own direction
            x -= width
        direction = ("rtl" if rtl else "ltr") if raqm else None
        draw.text((x, baseline), text, font=face, fill=(255, 255, 255, 255), direction=direction, anchor="ls")
        if not rtl_line:
            x += width


def _premultiply(image: Image.Image) -> np.ndarray:
    """Premultiplied RGBA rows (Pillow's "RGBa" mode: the same values as multiplying in floats and rounding,
    about ten times faster)."""
    return np.array(image.convert("RGBa"), dtype=np.uint8, order="C")


def text_panel(text: str, *, size: int = 40, max_chars: int = 42, background: float = 0.6) -> np.ndarray:
    """White text, wrapped and centred, on a rounded translucent dark panel.

    Returns premultiplied RGBA rows, top row first.
    """
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        lines.extend(textwrap.wrap(paragraph, max_chars) or [""])
    line_h = int(size * 1.3)
    pad = size // 2
    widths = [line_width(line or " ", size) for line in lines]
    width = int(max(widths)) + 2 * pad + 2
    height = line_h * len(lines) + 2 * pad - (line_h - size) + size // 4
    image = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    panel = (12, 14, 18, int(255 * background))
    draw.rounded_rectangle((0, 0, width - 1, height - 1), radius=pad, fill=panel)
    for i, line in enumerate(lines):
        _draw_line(draw, line, size, width / 2, pad + i * line_h + size * 0.8)
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
