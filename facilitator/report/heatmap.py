"""Attention heatmaps: dwell time per direction, blurred, coloured, laid over the film's equirect picture."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from PIL import Image

from facilitator.report.pose import wrap180

# An "inferno"-like ramp: transparent-dark to bright yellow.
_STOPS = np.array(
    [
        [0.00, 0, 0, 4],
        [0.25, 87, 16, 110],
        [0.50, 188, 55, 84],
        [0.75, 249, 142, 9],
        [1.00, 252, 255, 164],
    ],
    dtype=np.float64,
)


def dwell_grid(
    samples: Iterable[tuple[float, float, float]],
    *,
    bins: tuple[int, int] = (180, 90),
    max_gap: float = 0.5,
) -> np.ndarray:
    """Seconds spent looking at each direction: rows are pitch (top = +90), columns heading (left = -180).

    Each (media_t, heading, pitch) sample counts for the time until the next one, capped at `max_gap` seconds
    (so a pause or a seek does not pile time on one spot).
    """
    cols, rows = bins
    grid = np.zeros((rows, cols), dtype=np.float64)
    pts = sorted(samples)
    for i, (t, h, p) in enumerate(pts):
        dt = (pts[i + 1][0] - t) if i + 1 < len(pts) else 0.1
        dt = min(max(dt, 0.0), max_gap) if dt > 0 else (0.1 if i + 1 == len(pts) else 0.0)
        if dt <= 0:
            continue
        c = int((wrap180(h) + 180.0) / 360.0 * cols) % cols
        r = min(rows - 1, max(0, int((90.0 - p) / 180.0 * rows)))
        grid[r, c] += dt
    return grid


def _gaussian_kernel(sigma: float) -> np.ndarray:
    radius = max(1, int(3 * sigma))
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    k = np.exp(-(x * x) / (2 * sigma * sigma))
    return k / k.sum()


def blur(grid: np.ndarray, sigma_deg: float = 6.0) -> np.ndarray:
    """Separable Gaussian blur in degrees; wraps around in heading, clamps in pitch."""
    rows, cols = grid.shape
    sx = sigma_deg * cols / 360.0
    sy = sigma_deg * rows / 180.0
    kx, ky = _gaussian_kernel(sx), _gaussian_kernel(sy)
    rx, ry = len(kx) // 2, len(ky) // 2
    padded = np.concatenate([grid[:, -rx:], grid, grid[:, :rx]], axis=1)
    out = np.zeros_like(grid)
    for i, w in enumerate(kx):
        out += w * padded[:, i : i + cols]
    padded = np.concatenate([np.repeat(out[:1], ry, 0), out, np.repeat(out[-1:], ry, 0)], axis=0)
    res = np.zeros_like(grid)
    for i, w in enumerate(ky):
        res += w * padded[i : i + rows, :]
    return res


def colourise(values: np.ndarray) -> np.ndarray:
    """RGBA uint8 image of values in 0..1 (alpha grows with the value)."""
    v = np.clip(values, 0.0, 1.0)
    rgb = np.empty((*v.shape, 3), dtype=np.float64)
    for ch in range(3):
        rgb[..., ch] = np.interp(v, _STOPS[:, 0], _STOPS[:, ch + 1])
    alpha = np.clip(v**0.6 * 1.15, 0.0, 0.82) * 255.0
    alpha[v < 0.02] = 0.0
    return np.dstack([rgb, alpha]).astype(np.uint8)


def heatmap_image(
    samples: Iterable[tuple[float, float, float]],
    background: Image.Image | None,
    *,
    size: tuple[int, int] = (720, 360),
    projection: str = "equirect360",
    sigma_deg: float = 6.0,
) -> tuple[Image.Image, float]:
    """The heatmap over `background` (the film's picture, or a plain grid), and the seconds of gaze."""
    grid = dwell_grid(samples)
    total = float(grid.sum())
    sigma_grid = blur(grid, sigma_deg)
    if projection == "equirect180":
        cols = grid.shape[1]
        sigma_grid = sigma_grid[:, cols // 4 : cols - cols // 4]
    peak = float(sigma_grid.max())
    norm = sigma_grid / peak if peak > 0 else sigma_grid
    overlay = Image.fromarray(colourise(norm), "RGBA").resize(size, Image.Resampling.BILINEAR)
    if background is None:
        base = _plain_grid(size, projection)
    else:
        base = background.convert("RGB").resize(size, Image.Resampling.BILINEAR)
        # Dim the picture so the heat reads clearly, on screen and in print.
        base = Image.blend(base, Image.new("RGB", size, (20, 20, 24)), 0.35)
    out = base.convert("RGBA")
    out.alpha_composite(overlay)
    return out.convert("RGB"), total


def _plain_grid(size: tuple[int, int], projection: str) -> Image.Image:
    w, h = size
    arr = np.full((h, w, 3), 70, dtype=np.uint8)
    span = 180 if projection == "equirect180" else 360
    for deg in range(0, span + 1, 30):
        x = min(w - 1, int(deg / span * w))
        arr[:, x] = 110
    for deg in range(0, 181, 30):
        y = min(h - 1, int(deg / 180 * h))
        arr[y, :] = 110
    return Image.fromarray(arr, "RGB")
