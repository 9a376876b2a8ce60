"""Run actions at given instants of the player's monotonic clock, on one thread, in time order.

Group commands arrive ahead of their instant (the facilitator schedules them slightly in the future, expressed
in this player's clock). The scheduler sleeps until the instant (coarse sleep, then a short yield-spin for the
last millisecond) and runs the action; one that arrives late runs at once and is told how late it was, so the
caller can compensate (a late ``play`` starts further into the film). Periodic work (the media-clock slew)
runs on the same thread between scheduled actions.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from player.sync.clock import now as player_now
from player.sync.clock import sleep_until

log = logging.getLogger(__name__)

Action = Callable[[float, float], None]  # (scheduled instant, actual instant)


@dataclass(order=True)
class _Entry:
    at: float
    seq: int
    action: Action = field(compare=False)
    name: str = field(compare=False, default="")
    cancelled: bool = field(compare=False, default=False)


class Scheduler:
    """One thread: scheduled actions at their instants, plus ``tick(now)`` every ``tick_period`` seconds."""

    def __init__(
        self,
        tick: Callable[[float], None] | None = None,
        tick_period: float = 0.05,
        clock: Callable[[], float] = player_now,
        spin: float = 0.001,
    ) -> None:
        self._tick = tick
        self.tick_period = tick_period
        self._clock = clock
        self._spin = spin
        self._heap: list[_Entry] = []
        self._seq = itertools.count()
        self._cv = threading.Condition()
        self._stop = False
        self._thread: threading.Thread | None = None
        self.executed: list[tuple[str, float, float]] = []  # (name, scheduled, actual), the last 256

    def start(self) -> Scheduler:
        self._thread = threading.Thread(target=self._run, name="viewpoint-sync", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 2.0) -> None:
        with self._cv:
            self._stop = True
            self._cv.notify_all()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def schedule(self, at: float, action: Action, name: str = "") -> _Entry:
        """Run ``action(at, actual)`` at player instant ``at`` (at once if already past)."""
        entry = _Entry(at, next(self._seq), action, name)
        with self._cv:
            heapq.heappush(self._heap, entry)
            self._cv.notify_all()
        return entry

    def cancel(self, entry: _Entry) -> None:
        entry.cancelled = True

    def pending(self) -> list[tuple[str, float]]:
        with self._cv:
            return sorted((e.name, e.at) for e in self._heap if not e.cancelled)

    def _run(self) -> None:
        next_tick = self._clock()
        while True:
            with self._cv:
                while True:
                    if self._stop:
                        return
                    now = self._clock()
                    due = self._heap[0].at if self._heap else float("inf")
                    wake = min(due, next_tick if self._tick else float("inf"))
                    if wake - now <= self._spin:
                        break
                    self._cv.wait(min(wake - now - self._spin, 1.0))
                entry = None
                if self._heap and self._heap[0].at <= wake:
                    entry = heapq.heappop(self._heap)
            if entry is not None:
                if entry.cancelled:
                    continue
                actual = sleep_until(entry.at, self._spin)
                try:
                    entry.action(entry.at, actual)
                except Exception:
                    log.exception("scheduled %s failed", entry.name or "action")
                self.executed.append((entry.name, entry.at, actual))
                if len(self.executed) > 256:
                    del self.executed[:128]
                continue
            now = self._clock()
            next_tick += self.tick_period
            if next_tick < now:  # fell behind (a long action, a starved CPU): no burst of catch-up ticks
                next_tick = now + self.tick_period
            if self._tick is not None:
                try:
                    self._tick(now)
                except Exception:
                    log.exception("sync tick failed")
