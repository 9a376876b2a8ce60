"""Connection health: when the player was last heard, alive or not, round-trip time, gaps healed."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from player import protocol as P

from .errors import call_safely


class Health:
    """Anything from the player (a reply, an event, a heartbeat) counts as hearing from it."""

    def __init__(self) -> None:
        self.last_heard = 0.0
        self.alive = False
        self.rtt: float | None = None
        self.gaps = 0
        self.resyncs = 0
        self.log: str | None = None  # the player's session log health (heartbeats): "ok", "full", ...
        self.on_change: Callable[[bool], None] | None = None  # set by a subscription

    def heard(self) -> None:
        self.last_heard = time.monotonic()
        if not self.alive:
            self.alive = True
            if self.on_change is not None:
                call_safely(self.on_change, True)

    def check(self) -> None:
        """Declare the player lost after ``DEAD_AFTER_S`` of silence (I/O thread)."""
        if self.alive and time.monotonic() - self.last_heard > P.DEAD_AFTER_S:
            self.alive = False
            if self.on_change is not None:
                call_safely(self.on_change, False)

    def report(self) -> dict[str, Any]:
        since = time.monotonic() - self.last_heard if self.last_heard else None
        return {
            "alive": self.alive and since is not None and since <= P.DEAD_AFTER_S,
            "last_heard_s": None if since is None else round(since, 3),
            "rtt_ms": None if self.rtt is None else round(self.rtt * 1000, 3),
            "log": self.log,
        }
