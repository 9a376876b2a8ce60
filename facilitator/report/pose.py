"""Where the viewer looked: head orientation to a heading and pitch on the film's picture.

Conventions (docs/architecture.md, docs/manifest.md): orientations are OpenXR quaternions (x, y, z, w)
with +Y up, -Z forward and +X right. A film heading is measured clockwise (to the viewer's right) from the
film's front, the centre column of the picture; pitch is up-positive. With the head straight ahead the viewer
faces the film heading `front_heading` (plus any recentre yaw).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence


def heading_pitch(q: Sequence[float]) -> tuple[float, float]:
    """Head heading (degrees, clockwise from straight ahead, -180..180) and pitch (degrees, up-positive)."""
    x, y, z, w = (float(v) for v in q)
    n = math.sqrt(x * x + y * y + z * z + w * w) or 1.0
    x, y, z, w = x / n, y / n, z / n, w / n
    fx = -2.0 * (x * z + w * y)
    fy = -2.0 * (y * z - w * x)
    fz = -(1.0 - 2.0 * (x * x + y * y))
    heading = math.degrees(math.atan2(fx, -fz))
    pitch = math.degrees(math.asin(max(-1.0, min(1.0, fy))))
    return heading, pitch


def wrap180(deg: float) -> float:
    """An angle in degrees folded into [-180, 180)."""
    return (deg + 180.0) % 360.0 - 180.0


def film_heading_pitch(
    q: Sequence[float], front_heading: float = 0.0, yaw_offset: float = 0.0
) -> tuple[float, float]:
    """The film heading and pitch the viewer's gaze falls on."""
    h, p = heading_pitch(q)
    return wrap180(h + front_heading + yaw_offset), p


def to_uv(heading: float, pitch: float, projection: str = "equirect360") -> tuple[float, float] | None:
    """Picture coordinates (0..1, left to right, top to bottom) of a film heading/pitch; None outside."""
    h = wrap180(heading)
    span = 180.0 if projection == "equirect180" else 360.0
    u = 0.5 + h / span
    if not 0.0 <= u <= 1.0:
        return None
    v = 0.5 - max(-90.0, min(90.0, pitch)) / 180.0
    return u, v


def samples_from_event(event: dict) -> Iterable[tuple[float, float, float]]:
    """(media_t, film heading, film pitch) for each pose sample a `pose` event carries.

    Accepted shapes of `data`: {"heading", "pitch"}, {"q": [x, y, z, w]}, or a batch {"samples": [...]} whose
    items are such dicts (with "media_t" or "t") or lists [media_t, x, y, z, w] / [media_t, heading, pitch].
    """
    data = event.get("data") or {}
    base_t = event.get("media_t")
    front = float(data.get("front_heading", 0.0) or 0.0)
    items = data.get("samples")
    if items is None:
        items = [data]
    for item in items:
        t = base_t
        if isinstance(item, dict):
            t = item.get("media_t", item.get("t", base_t))
            if "heading" in item and "pitch" in item:
                h, p = float(item["heading"]), float(item["pitch"])
            elif "q" in item or "orientation" in item:
                h, p = film_heading_pitch(item.get("q") or item.get("orientation"), front, 0.0)
            else:
                continue
        elif isinstance(item, (list, tuple)) and len(item) == 5:
            t = item[0]
            h, p = film_heading_pitch(item[1:5], front, 0.0)
        elif isinstance(item, (list, tuple)) and len(item) == 3:
            t, h, p = item
        else:
            continue
        if t is None:
            continue
        yield float(t), float(h), float(p)
