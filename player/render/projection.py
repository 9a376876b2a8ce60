"""View geometry: quaternions, head poses from heading/pitch/roll, and the eye-to-film matrix for the shader.

Conventions (OpenXR): +X right, +Y up, -Z forward; orientations are unit quaternions (x, y, z, w). A film
direction's heading is clockwise (to the viewer's right) from the film's front, pitch is up-positive, so
``heading = atan2(x, -z)`` and ``pitch = asin(y)``.
"""

from __future__ import annotations

import math

import numpy as np

Quat = tuple[float, float, float, float]
IDENTITY: Quat = (0.0, 0.0, 0.0, 1.0)


def quat_multiply(a: Quat, b: Quat) -> Quat:
    ax, ay, az, aw = a
    bx, by, bz, bw = b
    return (
        aw * bx + ax * bw + ay * bz - az * by,
        aw * by - ax * bz + ay * bw + az * bx,
        aw * bz + ax * by - ay * bx + az * bw,
        aw * bw - ax * bx - ay * by - az * bz,
    )


def quat_axis_angle(axis: tuple[float, float, float], radians: float) -> Quat:
    s = math.sin(radians / 2.0)
    return (axis[0] * s, axis[1] * s, axis[2] * s, math.cos(radians / 2.0))


def quat_normalize(q: Quat) -> Quat:
    n = math.sqrt(sum(c * c for c in q)) or 1.0
    return (q[0] / n, q[1] / n, q[2] / n, q[3] / n)


def quat_to_matrix(q: Quat) -> np.ndarray:
    """3x3 rotation matrix (column vectors) of a unit quaternion."""
    x, y, z, w = quat_normalize(q)
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ],
        dtype=np.float64,
    )


def yaw_matrix(heading_deg: float) -> np.ndarray:
    """Rotation that adds ``heading_deg`` (clockwise seen from above) to every direction's heading."""
    return quat_to_matrix(quat_axis_angle((0.0, 1.0, 0.0), -math.radians(heading_deg)))


def head_orientation(heading: float = 0.0, pitch: float = 0.0, roll: float = 0.0) -> Quat:
    """Orientation of a head turned ``heading`` degrees clockwise, ``pitch`` up, ``roll`` right ear down."""
    yaw_q = quat_axis_angle((0.0, 1.0, 0.0), -math.radians(heading))
    pitch_q = quat_axis_angle((1.0, 0.0, 0.0), math.radians(pitch))
    roll_q = quat_axis_angle((0.0, 0.0, 1.0), -math.radians(roll))
    return quat_normalize(quat_multiply(quat_multiply(yaw_q, pitch_q), roll_q))


def forward_heading_pitch(q: Quat) -> tuple[float, float]:
    """(heading, pitch) in degrees of the -Z axis of an orientation."""
    m = quat_to_matrix(q)
    d = m @ np.array([0.0, 0.0, -1.0])
    heading = math.degrees(math.atan2(d[0], -d[2]))
    pitch = math.degrees(math.asin(max(-1.0, min(1.0, d[1]))))
    return heading, pitch


def symmetric_fov(horizontal_deg: float, width: int, height: int) -> tuple[float, float, float, float]:
    """OpenXR-style (left, right, up, down) angles in radians for a centred eye of this pixel aspect."""
    half = math.radians(horizontal_deg) / 2.0
    tan_v = math.tan(half) * height / width
    v = math.atan(tan_v)
    return (-half, half, v, -v)


def eye_to_film(orientation: Quat, film_yaw_deg: float) -> np.ndarray:
    """Matrix taking an eye-space ray to a film-space ray: head rotation, then the film's yaw offset.

    ``film_yaw_deg`` is ``front_heading - recentre_yaw``: where the viewer's world forward lands in the film.
    """
    return yaw_matrix(film_yaw_deg) @ quat_to_matrix(orientation)


def direction_to_equirect(d: np.ndarray, projection: str) -> tuple[float, float, bool]:
    """CPU reference of the shader: film direction -> (u, v) in 0..1 of one eye's picture, v=0 at the top."""
    d = np.asarray(d, dtype=np.float64)
    heading = math.atan2(d[0], -d[2])
    pitch = math.atan2(d[1], math.hypot(d[0], d[2]))
    span = 2.0 * math.pi if projection == "equirect360" else math.pi
    u = 0.5 + heading / span
    v = 0.5 - pitch / math.pi
    inside = projection == "equirect360" or abs(heading) <= math.pi / 2
    return u % 1.0 if projection == "equirect360" else u, v, inside
