"""The clone-pattern follower: the player's state, kept by applying its events exactly once, in log order.

Live events that do not follow the last one delivered (a gap, or a session whose ``previous`` is not ours)
trigger a catch-up from the player's log; a heartbeat announcing a later seq does too.
"""

from __future__ import annotations

import queue
from collections.abc import Callable
from typing import Any

from player import protocol as P

from .errors import call_safely
from .health import Health

EventCallback = Callable[[dict[str, Any]], None]
FetchEvents = Callable[[dict[str, Any]], dict[str, Any] | None]
"""The ``events`` command (args -> result, None if the player did not answer)."""


class CloneFollower:
    def __init__(self, health: Health) -> None:
        self.health = health
        self.state: dict[str, Any] = P.initial_state()
        self.snapshot: dict[str, Any] | None = None
        self.position: tuple[str | None, int] = (None, 0)
        self.on_event: EventCallback | None = None
        self.queue: queue.SimpleQueue | None = None
        self._seen: dict[str, int] = {}

    def start(self, snap: dict[str, Any], since: Any, fetch: FetchEvents) -> None:
        """Begin from the snapshot: ``"now"`` takes its state; ``"session"``, ``"log"`` or ``(session, seq)``
        replay the log from there."""
        self.snapshot = snap
        sid, seq = snap["session"]["id"], int(snap["seq"])
        if since == "now":
            self.state = dict(snap["state"])
            self.position = (sid, seq)
            self._seen[sid] = seq
            return
        if since == "log":
            self.position = (None, 0)
        elif since == "session":
            self.position = (sid, 0)
        else:
            s, n = since
            self.position = (s, int(n))
            if s is not None:
                self._seen[s] = int(n)
        self.catch_up(fetch)

    def catch_up(self, fetch: FetchEvents) -> None:
        """Fetch events after ``position`` from the player's log until up to date (Clone: resync)."""
        self.health.resyncs += 1
        for _ in range(10_000):
            s, n = self.position
            args: dict[str, Any] = {"limit": 1000}
            if s is not None:
                args.update(session=s, after=n)
            res = fetch(args)
            if res is None:
                return  # player unreachable: try again on the next heartbeat
            for ev in res["events"]:
                self._deliver(ev)
            if not res["more"]:
                return

    def live(self, ev: dict[str, Any], fetch: FetchEvents) -> None:
        """An event from the stream: delivered if next, else a catch-up first."""
        sid, seq = ev["session"], ev["seq"]
        if self._seen.get(sid, 0) >= seq:
            return  # already delivered (by a catch-up)
        if self._is_next(ev):
            self._deliver(ev)
            return
        self.health.gaps += 1
        self.catch_up(fetch)
        if self._seen.get(sid, 0) < seq and self._is_next(ev):
            self._deliver(ev)

    def heartbeat(self, hb: dict[str, Any], fetch: FetchEvents) -> None:
        """A heartbeat naming a later seq than delivered: the tail (or a whole session) was missed."""
        if isinstance(hb.get("log"), str):
            self.health.log = hb["log"]
        if self._seen.get(hb.get("session"), 0) < int(hb.get("seq", 0)):
            self.health.gaps += 1
            self.catch_up(fetch)

    def _deliver(self, ev: dict[str, Any]) -> None:
        sid, seq = ev["session"], ev["seq"]
        if self._seen.get(sid, 0) >= seq:
            return
        self._seen[sid] = seq
        self.position = (sid, seq)
        P.apply_event(self.state, ev)
        if self.on_event is not None:
            call_safely(self.on_event, ev)
        if self.queue is not None:
            self.queue.put(ev)

    def _is_next(self, ev: dict[str, Any]) -> bool:
        s, n = self.position
        if ev["session"] == s:
            return ev["seq"] == n + 1
        if ev["seq"] == 1:
            prev = (ev.get("data") or {}).get("previous") or {}
            return prev.get("session") == s and prev.get("seq") == n
        return False
