"""The film's sound to the stereo output: mono, stereo, and first-order ambisonics rotated by the head.

AmbiX is ACN channel order (W, Y, Z, X) with SN3D normalisation; its axes are x forward, y left, z up. The
listener orientation is a quaternion (x, y, z, w) in OpenXR conventions (+X right, +Y up, -Z forward) giving
the head's rotation in the film's frame (front heading and recentring already applied by the caller).
"""

from __future__ import annotations

import math

import numpy as np

Quat = tuple[float, float, float, float]

# ambisonic axes -> OpenXR axes: x_oxr = -y_amb, y_oxr = z_amb, z_oxr = -x_amb
_AMB_TO_OXR = np.array([[0.0, -1.0, 0.0], [0.0, 0.0, 1.0], [-1.0, 0.0, 0.0]])

DECODE_ANGLE = math.radians(60.0)
"""The two virtual cardioid microphones of the FOA -> stereo decode point 60 degrees left and right."""


def quat_to_matrix(q: Quat) -> np.ndarray:
    """Rotation matrix of a unit quaternion (x, y, z, w); normalised here, identity for a zero quaternion."""
    x, y, z, w = (float(c) for c in q)
    n = math.sqrt(x * x + y * y + z * z + w * w)
    if not math.isfinite(n) or n < 1e-9:
        return np.eye(3)
    x, y, z, w = x / n, y / n, z / n, w / n
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ]
    )


def foa_decode_matrix(orientation: Quat) -> np.ndarray:
    """A 4x2 matrix taking AmbiX (W, Y, Z, X) samples to (left, right) for a head with ``orientation``.

    The sound field is rotated into head coordinates (a world direction d is heard at R^T d), then decoded
    by two virtual cardioids at +-DECODE_ANGLE in the horizontal plane of the head.
    """
    r = quat_to_matrix(orientation)
    rot = _AMB_TO_OXR.T @ r.T @ _AMB_TO_OXR  # world ambisonic vector -> head ambisonic vector
    # input vector order (X, Y, Z) in ambisonic axes; rows of `rot` give head-frame X', Y', Z'
    c, s = math.cos(DECODE_ANGLE), math.sin(DECODE_ANGLE)
    m = np.zeros((4, 2))
    for col, side in ((0, 1.0), (1, -1.0)):
        # cardioid pointing at (c, side*s, 0): 0.5 * (W + c X' + side*s Y')
        aim = c * rot[0] + side * s * rot[1]  # coefficients on world (X, Y, Z)
        m[0, col] = 0.5
        m[3, col] = 0.5 * aim[0]  # X is channel 3
        m[1, col] = 0.5 * aim[1]  # Y is channel 1
        m[2, col] = 0.5 * aim[2]  # Z is channel 2
    return m


def to_stereo(
    block: np.ndarray, matrix: np.ndarray | None = None, previous: np.ndarray | None = None
) -> np.ndarray:
    """(n, channels) float32 -> (n, 2) float32.

    1 channel: both ears. 2 channels: as is. 4 channels: FOA through ``matrix`` (from foa_decode_matrix),
    cross-faded from ``previous`` over the block so head turns do not click.
    """
    ch = block.shape[1]
    if ch == 1:
        return np.repeat(block, 2, axis=1)
    if ch == 2:
        return block
    if ch == 4 and matrix is not None:
        out = block @ matrix.astype(np.float32)
        if previous is not None and not np.array_equal(previous, matrix):
            old = block @ previous.astype(np.float32)
            t = np.linspace(0.0, 1.0, block.shape[0], dtype=np.float32)[:, None]
            out = old + (out - old) * t
        return out.astype(np.float32, copy=False)
    return np.ascontiguousarray(block[:, :2])
