"""Scheduled commands: playback commands with ``args.at`` (player monotonic time), run when due."""

from __future__ import annotations

import bisect
from collections.abc import Iterator

from player import protocol as P

MAX_SCHEDULE_AHEAD_S = 30.0


class Schedule:
    def __init__(self) -> None:
        self._items: list[tuple[float, P.Command]] = []

    def __bool__(self) -> bool:
        return bool(self._items)

    def add(self, at: float, cmd: P.Command) -> None:
        bisect.insort(self._items, (at, cmd), key=lambda item: item[0])  # same time: in arrival order

    def next_at(self) -> float | None:
        return self._items[0][0] if self._items else None

    def due(self, now: float) -> Iterator[tuple[float, P.Command]]:
        """Remove and yield the commands due at ``now``, earliest first."""
        while self._items and self._items[0][0] <= now:
            yield self._items.pop(0)
