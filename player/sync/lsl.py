"""Lab Streaming Layer outlets: session events, head poses and presented-frame times, for a lab's recording.

A lab recording EEG, heart rate or eye tracking with LabRecorder gets Viewpoint's streams in the same XDF
file, on LSL's clock with its clock correction between machines. Optional: ``pylsl`` (``pip install
viewpoint-xr[lsl]``; its wheel bundles liblsl) and ``VIEWPOINT_LSL=1`` in the player's environment. Three
irregular-rate outlets, named after the player (``NAME events`` and so on), source id ``viewpoint-NAME-...``:

- ``events`` (type ``Markers``, one string channel): every event of the session log, once it is durable (the
  session pipeline's ``on_published`` hook), as JSON ``{"type", "session", "seq", "media_t", "data"}``,
  stamped with the instant the event happened (its ``mono``): the controller's (transport, welfare,
  chapters...) and the session thread's own (``session.started``/``ended``, ``command``, ``annotation.*``).
  LSL is not encrypted or authenticated: anyone on the lab's network can read the streams, so what the log
  holds (participant codes, the facilitator's notes) is on the network while ``VIEWPOINT_LSL`` is on;
- ``pose`` (type ``Pose``, float32: media_t, qx, qy, qz, qw): the head direction at each presented frame, only
  while the session's consent allows pose capture (the same rule as the session log);
- ``frames`` (type ``VideoFrames``, double: media_t, pts): each presented frame, stamped with the instant it
  was shown (the display time the renderer targeted), taken onto LSL's clock.

Timestamps: LSL's ``local_clock()`` is the machine's steady clock; each sample's instant on ``time.monotonic``
is moved onto it by their difference read at push time (the same clock on Linux).
"""

from __future__ import annotations

import json
import logging
import os
import time
from typing import Any

log = logging.getLogger(__name__)
ENV = "VIEWPOINT_LSL"


def wanted() -> bool:
    return os.environ.get(ENV, "").strip().lower() in ("1", "yes", "true", "on")


class LslOutlets:
    """The three outlets of one player (see module doc). ``push_*`` are cheap and never raise."""

    def __init__(self, name: str, controller: Any = None) -> None:
        import pylsl  # optional dependency: ImportError says what is missing

        self._lsl = pylsl
        self.controller = controller
        sid = f"viewpoint-{name}"

        def outlet(kind: str, stype: str, channels: list[str], fmt: int) -> Any:
            info = pylsl.StreamInfo(f"{name} {kind}", stype, len(channels), pylsl.IRREGULAR_RATE, fmt,
                                    f"{sid}-{kind}")  # fmt: skip
            chans = info.desc().append_child("channels")
            for c in channels:
                chans.append_child("channel").append_child_value("label", c)
            info.desc().append_child_value("manufacturer", "Viewpoint")
            return pylsl.StreamOutlet(info)

        self.events = outlet("events", "Markers", ["event"], pylsl.cf_string)
        self.pose = outlet("pose", "Pose", ["media_t", "qx", "qy", "qz", "qw"], pylsl.cf_float32)
        self.frames = outlet("frames", "VideoFrames", ["media_t", "pts"], pylsl.cf_double64)

    def _stamp(self, mono: float | None = None) -> float:
        now_lsl, now_mono = self._lsl.local_clock(), time.monotonic()
        return now_lsl if mono is None else mono + (now_lsl - now_mono)

    def push_logged(self, row: Any) -> None:
        """A logged event (``player.session.log.EventRow``), stamped with the instant it happened."""
        try:
            msg = {"type": row.type, "session": row.session, "seq": row.seq, "media_t": row.media_t,
                   "data": row.data}  # fmt: skip
            self.events.push_sample([json.dumps(msg, default=str)], self._stamp(row.mono))
        except Exception:  # a recording aid must never disturb playback
            log.debug("lsl event not sent", exc_info=True)

    def push_frame(self, shown_mono: float, media_t: float, pts: float, orientation: Any = None) -> None:
        """A presented frame (and the head pose it was drawn for, if pose capture is consented)."""
        try:
            ts = self._stamp(shown_mono)
            self.frames.push_sample([media_t, pts], ts)
            if orientation is not None and getattr(self.controller, "share_pose", False):
                self.pose.push_sample([media_t, *map(float, orientation)], ts)
        except Exception:
            log.debug("lsl frame not sent", exc_info=True)
