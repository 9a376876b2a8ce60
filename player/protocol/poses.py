"""The pose sample's binary form, as logs, stores and exports keep it: rows of 32 bytes."""

from __future__ import annotations

import struct
from collections.abc import Sequence

POSE_STRUCT = struct.Struct("<dd4f")
"""One pose sample: player monotonic time, media time, orientation quaternion (x, y, z, w)."""


def pack_poses(samples: Sequence[Sequence[float]]) -> bytes:
    return b"".join(POSE_STRUCT.pack(*s) for s in samples)


def unpack_poses(blob: bytes) -> list[tuple[float, ...]]:
    return [POSE_STRUCT.unpack_from(blob, i) for i in range(0, len(blob), POSE_STRUCT.size)]
