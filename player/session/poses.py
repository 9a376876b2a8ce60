"""The pose stream: the render loop's latest head orientation, sampled at ``pose_hz``, batched, published.

The render thread only overwrites :attr:`PoseStream.latest` (coalescing); the session thread samples it,
numbers the samples (``pseq``, per session), batches them for the log and publishes them after the commit.
Only while :attr:`PoseStream.recording` (a session whose consent has ``pose_capture: true``): in the lobby
and in a session without pose consent nothing is sampled, stored or streamed.
"""

from __future__ import annotations

import math
import time

import zmq

from player import protocol as P

from .log import PoseBatch

Sample = tuple[float, float, float, float, float, float]
"""(player monotonic time, media time or NaN, x, y, z, w)."""


class PoseStream:
    def __init__(self) -> None:
        self.latest: Sample | None = None
        self._last_sampled: Sample | None = None
        self.pseq = 0
        self._first_pseq = 1
        self.pending: list[Sample] = []
        self.batches: list[PoseBatch] = []
        self.recording = False  # set by the session lifecycle (consent's pose_capture)

    def offer(self, orientation: tuple[float, float, float, float], media_t: float | None) -> None:
        """Replace the latest sample (any thread; never blocks). Bad input is ignored."""
        try:
            x, y, z, w = (float(c) for c in orientation)
        except (TypeError, ValueError):
            return
        self.latest = (time.monotonic(), float(media_t) if media_t is not None else math.nan, x, y, z, w)

    def restart(self) -> None:
        """A new session numbers its samples from 1."""
        self.pseq = 0
        self._first_pseq = 1

    def sample(self) -> None:
        """Take the latest sample if the render loop gave a new one since the last time."""
        p = self.latest
        if p is None or p is self._last_sampled or not self.recording:
            return
        self._last_sampled = p
        self.pseq += 1
        if not self.pending:
            self._first_pseq = self.pseq
        self.pending.append(p)

    def flush(self, session: str, film: str | None) -> None:
        """Close the pending samples into a batch for the next commit."""
        if self.pending:
            self.batches.append(PoseBatch(session, self._first_pseq, film, self.pending))
            self.pending = []


def publish_poses(pub: zmq.Socket, batches: list[PoseBatch]) -> int:
    """Publish committed batches sample by sample on the ``pose`` topic; returns how many were sent."""
    sent = 0
    for batch in batches:
        utc_base = time.time() - time.monotonic()
        for i, (mono, media_t, x, y, z, w) in enumerate(batch.samples):
            msg = {
                "v": P.PROTOCOL_VERSION,
                "session": batch.session,
                "pseq": batch.first_pseq + i,
                "mono": round(mono, 6),
                "utc": P.utc_now(utc_base + mono),
                "film": batch.film,
                "media_t": None if math.isnan(media_t) else round(media_t, 6),
                "type": "pose",
                "data": {"q": [round(x, 6), round(y, 6), round(z, 6), round(w, 6)]},
            }
            pub.send_multipart((P.TOPIC_POSE, P.dumps(msg)))
            sent += 1
    return sent
