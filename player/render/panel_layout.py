"""The headset's questionnaire panel without GL: where it hangs, where each choice is on it, the picture of
one question, and where a controller's ray meets it (plain vector maths, unit-tested).

Space: the head-centred app space of the film (OpenXR axes: +X right, +Y up, -Z forward); positions are in
metres relative to the head, so the panel keeps its place as the viewer turns, like the film around it.
"""

from __future__ import annotations

import math
import textwrap
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from player.protocol.questionnaire import choices
from player.render.text import _draw_line, _premultiply, line_width

Vec = tuple[float, float, float]

DISTANCE_M = 1.25  # from the head to the panel's centre
PITCH_DEG = -6.0  # the centre slightly below eye level
WIDTH_PX = 900  # the picture's width; the panel is WIDTH_M wide in the world
WIDTH_M = 0.9
PAD, QUESTION_SIZE, CHOICE_SIZE, SMALL_SIZE = 36, 40, 34, 26
ROW_H, ROW_GAP, CELL_GAP = 76, 12, 8


@dataclass(frozen=True, slots=True)
class Layout:
    """One question's picture: its size in pixels, the wrapped question lines and each choice's box
    (x0, y0, x1, y1) in pixels from the top left."""

    width: int
    height: int
    lines: tuple[str, ...]
    boxes: tuple[tuple[int, int, int, int], ...]
    labels: tuple[str, ...]
    top: int  # where the choices start

    def uv_box(self, i: int) -> tuple[float, float, float, float]:
        x0, y0, x1, y1 = self.boxes[i]
        return (x0 / self.width, y0 / self.height, x1 / self.width, y1 / self.height)

    def choice_at(self, u: float, v: float) -> int | None:
        """The choice under (u, v) (0..1 from the top left), or None."""
        x, y = u * self.width, v * self.height
        for i, (x0, y0, x1, y1) in enumerate(self.boxes):
            if x0 <= x <= x1 and y0 <= y <= y1:
                return i
        return None


def layout(item: dict[str, Any]) -> Layout:
    """Where everything goes on the panel for one item (the same for drawing and for pointing)."""
    labels = tuple(label for label, _ in choices(item))
    lines: list[str] = []
    for paragraph in str(item["text"]).splitlines() or [""]:
        lines.extend(textwrap.wrap(paragraph, 40) or [""])
    top = PAD + SMALL_SIZE + 18 + len(lines) * int(QUESTION_SIZE * 1.3) + 24
    inner = WIDTH_PX - 2 * PAD
    boxes = []
    if item["kind"] == "scale_0_10":  # one row of eleven
        cell = (inner - CELL_GAP * (len(labels) - 1)) / len(labels)
        for i in range(len(labels)):
            x0 = PAD + i * (cell + CELL_GAP)
            boxes.append((round(x0), top, round(x0 + cell), top + ROW_H + 14))
        bottom = top + ROW_H + 14
    else:  # one row per choice
        for i in range(len(labels)):
            y0 = top + i * (ROW_H + ROW_GAP)
            boxes.append((PAD, y0, WIDTH_PX - PAD, y0 + ROW_H))
        bottom = boxes[-1][3] if boxes else top
    height = bottom + 24 + SMALL_SIZE + PAD
    return Layout(WIDTH_PX, height, tuple(lines), tuple(boxes), labels, top)


def picture(item: dict[str, Any], index: int, count: int) -> np.ndarray:
    """The panel for question ``index`` of ``count``: premultiplied RGBA rows, top row first."""
    lay = layout(item)
    image = Image.new("RGBA", (lay.width, lay.height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((0, 0, lay.width - 1, lay.height - 1), radius=PAD, fill=(18, 22, 30, 235))
    _draw_line(draw, f"Question {index + 1} of {count}", SMALL_SIZE, lay.width / 2, PAD + SMALL_SIZE * 0.8)
    y = PAD + SMALL_SIZE + 18
    for line in lay.lines:  # wrapped by characters: a wide script's line is drawn smaller to fit
        size = _fit(line, QUESTION_SIZE, lay.width - 2 * PAD)
        _draw_line(draw, line, size, lay.width / 2, y + QUESTION_SIZE * 0.8)
        y += int(QUESTION_SIZE * 1.3)
    for (x0, y0, x1, y1), label in zip(lay.boxes, lay.labels):
        draw.rounded_rectangle((x0, y0, x1, y1), radius=12, fill=(52, 60, 76, 255))
        size = _fit(label, CHOICE_SIZE, x1 - x0 - 16)
        _draw_line(draw, label, size, (x0 + x1) / 2, (y0 + y1) / 2 + size * 0.35)
    hint = "Point at an answer and pull the trigger"
    _draw_line(draw, hint, SMALL_SIZE, lay.width / 2, lay.height - PAD)
    return _premultiply(image)


def _fit(line: str, size: int, width: float) -> int:
    """The largest text size up to ``size`` (at least 14) at which ``line`` fits ``width`` pixels."""
    while size > 14 and line_width(line, size) > width:
        size -= 2
    return size


@dataclass(frozen=True, slots=True)
class Placement:
    """The panel in the head-centred app space: its centre, unit right and up axes and size in metres."""

    centre: Vec
    right: Vec
    up: Vec
    width: float
    height: float

    @property
    def normal(self) -> Vec:
        """Towards the viewer."""
        r, u = self.right, self.up
        return (r[1] * u[2] - r[2] * u[1], r[2] * u[0] - r[0] * u[2], r[0] * u[1] - r[1] * u[0])

    def point(self, u: float, v: float) -> Vec:
        """The world point at (u, v) on the panel (0..1 from the top left)."""
        x, y = (u - 0.5) * self.width, (0.5 - v) * self.height
        c, r, p = self.centre, self.right, self.up
        return (c[0] + x * r[0] + y * p[0], c[1] + x * r[1] + y * p[1], c[2] + x * r[2] + y * p[2])


def place(heading_deg: float, lay: Layout) -> Placement:
    """The panel facing a viewer who looks at ``heading_deg`` (clockwise), upright, DISTANCE_M away."""
    h, p = math.radians(heading_deg), math.radians(PITCH_DEG)
    d = DISTANCE_M
    centre = (d * math.cos(p) * math.sin(h), d * math.sin(p), -d * math.cos(p) * math.cos(h))
    right = (math.cos(h), 0.0, math.sin(h))
    return Placement(centre, right, (0.0, 1.0, 0.0), WIDTH_M, WIDTH_M * lay.height / lay.width)


def _dot(a: Vec, b: Vec) -> float:
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]


def intersect(panel: Placement, origin: Vec, direction: Vec) -> tuple[float, float, float] | None:
    """Where a ray from ``origin`` along ``direction`` meets the panel's front: (u, v, distance), u and v in
    0..1 from the top left; None when it points away, runs parallel, starts behind or misses."""
    n = panel.normal
    denom = _dot(direction, n)
    if denom >= -1e-9:  # parallel, or reaching the panel from behind
        return None
    length = math.sqrt(_dot(direction, direction))
    c = panel.centre
    t = _dot((c[0] - origin[0], c[1] - origin[1], c[2] - origin[2]), n) / denom
    if t <= 0.0:
        return None
    hit = (origin[0] + t * direction[0], origin[1] + t * direction[1], origin[2] + t * direction[2])
    d = (hit[0] - c[0], hit[1] - c[1], hit[2] - c[2])
    u = 0.5 + _dot(d, panel.right) / panel.width
    v = 0.5 - _dot(d, panel.up) / panel.height
    if not (0.0 <= u <= 1.0 and 0.0 <= v <= 1.0):
        return None
    return u, v, t * length


def forward(orientation: tuple[float, float, float, float]) -> Vec:
    """The -Z axis of an orientation (x, y, z, w): where a controller's aim pose points."""
    x, y, z, w = orientation
    return (-(2 * (x * z + y * w)), -(2 * (y * z - x * w)), -(1 - 2 * (x * x + y * y)))
