"""YUV to RGB conversion constants for the fragment shader (BT.601/709/2020, limited/full range, 8/10-bit).

The shader computes ``rgb = matrix @ (texel * scale) + offset`` where ``texel`` is the normalised value the
GPU returns for each plane (R8/R16 UNORM), ``scale`` turns it back into the integer code value, and
``matrix``/``offset`` fold the range expansion and the colour matrix into one affine map.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from content_manifest.formats import PIXEL_FORMATS

# (Kr, Kb) luma coefficients per colour space (ITU-R BT.601, BT.709, BT.2020 non-constant luminance).
LUMA_COEFFICIENTS: dict[str, tuple[float, float]] = {
    "bt601": (0.299, 0.114),
    "bt709": (0.2126, 0.0722),
    "bt2020": (0.2627, 0.0593),
}


@dataclass(frozen=True, slots=True)
class YuvConversion:
    """What the shader needs: code-value scale per texel and the affine YUV (codes) -> RGB map."""

    scale: float  # texel (0..1) * scale = integer code value
    matrix: np.ndarray  # 3x3, float32, row-major: rgb = matrix @ yuv_codes + offset
    offset: np.ndarray  # 3, float32


def texel_scale(pix_fmt: str) -> float:
    """Factor from the normalised texel value to the integer code value for this pixel format (R16 UNORM
    holds 10 or 12-bit codes in its low bits, except P010's, which are in the high bits)."""
    fmt = PIXEL_FORMATS.get(pix_fmt)
    if fmt is None:
        raise ValueError(f"no YUV conversion for pixel format {pix_fmt!r}")
    return fmt.scale


def bit_depth(pix_fmt: str) -> int:
    return PIXEL_FORMATS[pix_fmt].depth


def yuv_to_rgb(colorspace: str, color_range: str, depth: int) -> tuple[np.ndarray, np.ndarray]:
    """Affine map from YUV integer codes at ``depth`` bits to non-linear RGB in 0..1."""
    if colorspace not in LUMA_COEFFICIENTS:
        raise ValueError(f"colorspace {colorspace!r}: expected one of {', '.join(LUMA_COEFFICIENTS)}")
    if color_range not in ("limited", "full"):
        raise ValueError(f"color_range {color_range!r}: expected 'limited' or 'full'")
    kr, kb = LUMA_COEFFICIENTS[colorspace]
    kg = 1.0 - kr - kb
    # Normalised Y' in 0..1 and Cb/Cr in -0.5..0.5 -> R'G'B'.
    ycc = np.array(
        [
            [1.0, 0.0, 2.0 * (1.0 - kr)],
            [1.0, -2.0 * (1.0 - kb) * kb / kg, -2.0 * (1.0 - kr) * kr / kg],
            [1.0, 2.0 * (1.0 - kb), 0.0],
        ],
        dtype=np.float64,
    )
    step = float(1 << (depth - 8))
    if color_range == "limited":
        y_mul, y_add = 1.0 / (219.0 * step), -16.0 / 219.0
        c_mul, c_add = 1.0 / (224.0 * step), -128.0 / 224.0
    else:
        full = float((1 << depth) - 1)
        y_mul, y_add = 1.0 / full, 0.0
        c_mul, c_add = 1.0 / full, -float(1 << (depth - 1)) / full
    expand = np.diag([y_mul, c_mul, c_mul])
    matrix = ycc @ expand
    offset = ycc @ np.array([y_add, c_add, c_add])
    return matrix.astype(np.float32), offset.astype(np.float32)


def conversion_for(pix_fmt: str, colorspace: str, color_range: str) -> YuvConversion:
    if pix_fmt in PIXEL_FORMATS and PIXEL_FORMATS[pix_fmt].full_range:
        color_range = "full"  # yuvj*: JPEG range, whatever the stream's flag says
    matrix, offset = yuv_to_rgb(colorspace, color_range, bit_depth(pix_fmt))
    return YuvConversion(scale=texel_scale(pix_fmt), matrix=matrix, offset=offset)
