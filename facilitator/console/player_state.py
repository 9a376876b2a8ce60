"""What the console knows of each player: events and poses folded into the state the pages see, the
periodic status and health (a mixin of :class:`facilitator.console.server.ConsoleServer`, on its loop)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from facilitator.console import session_flow
from facilitator.console.link import LinkError, PlayerLink
from facilitator.report.pose import film_heading_pitch
from player import protocol as P

log = logging.getLogger("viewpoint.console")

POSE_HZ = 15.0
STATUS_EVERY_TICKS = 10  # ticks of 0.5 s
STATE_HZ = 4.0
RECENT_EVENTS = 400


@dataclass
class PlayerView:
    """What the console knows about one player, kept on the event loop."""

    link: PlayerLink
    state: dict[str, Any] = field(default_factory=dict)
    recent: deque = field(default_factory=lambda: deque(maxlen=RECENT_EVENTS))
    last_pose_sent: float = 0.0
    last_state_sent: float = 0.0
    recentre_yaw: float = 0.0


class PlayerState:
    """The players' state as pages see it."""

    def _on_event(self, pid: str, ev: dict[str, Any]) -> None:
        view = self.players[pid]
        view.recent.append(ev)
        self._fold(view, ev)
        if self.group is not None:
            self.group.on_event(pid, ev)
        if pid != self.selected:
            return
        etype = ev.get("type", "")
        self._spawn(self._broadcast({"kind": "event", "event": ev}))
        self._spawn(self._broadcast({"kind": "state", "state": self._page_state(view)}))
        if etype == "session.started":
            self._spawn(self._refresh_status(pid))
        if etype == "chapter.entered" and self.auto_pause and not self.read_only:
            self._spawn(self._auto_pause(ev))

    async def _auto_pause(self, ev: dict[str, Any]) -> None:
        film = self.films.get(ev.get("film") or "")
        chapter = (ev.get("data") or {}).get("id")
        if film is None or not film.chapters or chapter == film.chapters[0].id:
            return
        if self.players[self.selected].state.get("transport") != "playing":
            return
        try:
            await self.command("pause", {})
            await self._broadcast({"kind": "notice", "text": "paused at the chapter end for discussion"})
        except LinkError as exc:
            await self._broadcast(
                {"kind": "notice", "text": f"auto-pause failed: {exc.message}", "level": "welfare"}
            )

    def _fold(self, view: PlayerView, ev: dict[str, Any]) -> None:
        """The protocol's one state fold, plus when the media time was heard, the last facilitated
        session (what a report is of), an interrupted session (to resume) and the recentre yaw."""
        before = view.state.get("participant")
        P.apply_event(view.state, ev)
        session_flow.note_interrupted(view.state, ev, before)
        if view.state.get("participant") is not None:
            view.state["last_session"] = view.state.get("session")
        if isinstance(ev.get("media_t"), (int, float)):
            view.state["media_mono"] = time.monotonic()
        data = ev.get("data") or {}
        if ev.get("type") == "viewer.recentre" and isinstance(data.get("heading"), (int, float)):
            view.recentre_yaw = -float(data["heading"])  # the head heading that becomes the film's front

    def _on_pose(self, pid: str, sample: dict[str, Any]) -> None:
        view = self.players[pid]
        if self.group is not None:  # the group page's gaze thumbnails
            self.group.on_pose(pid, sample)
        if isinstance(sample.get("media_t"), (int, float)):
            view.state["media_t"] = sample["media_t"]
        if pid != self.selected or not self._sockets:
            return
        now = time.monotonic()
        if now - view.last_pose_sent < 1.0 / POSE_HZ:
            return
        view.last_pose_sent = now
        data = sample.get("data") if isinstance(sample.get("data"), dict) else sample
        q = data.get("q") or data.get("orientation")
        if q is None:
            return
        film = self.films.get(view.state.get("film") or "")
        front = film.front_heading if film is not None else 0.0
        heading, pitch = film_heading_pitch(q, front, view.recentre_yaw)
        ev = {"type": "pose", "media_t": sample.get("media_t"), "data": {"heading": heading, "pitch": pitch}}
        self._spawn(self._broadcast({"kind": "event", "event": ev}))
        if now - view.last_state_sent > 1.0 / STATE_HZ:
            view.last_state_sent = now
            self._spawn(self._broadcast({"kind": "state", "state": self._page_state(view)}))

    async def _tick(self) -> None:
        """Health to every page twice a second, so a page can tell live from stale; the controller's own
        status every few seconds (welfare, volume and film outlive sessions, so events alone may not say)."""
        for pid in self.players:
            self._spawn(self._refresh_status(pid))
        n = 0
        while True:
            await asyncio.sleep(0.5)
            n += 1
            if self._sockets:
                await self._broadcast({"kind": "health", "health": self._health(self.selected)})
            if n % STATUS_EVERY_TICKS == 0 and self.players[self.selected].link.health().get("connected"):
                self._spawn(self._refresh_status(self.selected))

    async def _refresh_status(self, pid: str) -> None:
        """Fold the controller's status (state, welfare, volume, film, media time) into what pages see."""
        try:
            res = await self.command("status", {}, player=pid)
        except LinkError:
            return
        ctl = res.get("controller") if isinstance(res.get("controller"), dict) else res
        st = self.players[pid].state
        if ctl.get("state") in P.TRANSPORT_STATES:
            st["transport"] = ctl["state"]
        for key in ("welfare", "volume", "film", "rate"):
            if ctl.get(key) is not None:
                st[key] = ctl[key]
        if isinstance(ctl.get("media_t"), (int, float)):
            st["media_t"] = ctl["media_t"]
        session = res.get("session") if isinstance(res.get("session"), dict) else {}
        if session.get("id"):
            st["session"] = session["id"]
            st["participant"] = session.get("participant") if session.get("kind") == "facilitated" else None
            if st["participant"] is not None:
                st["last_session"] = session["id"]
        if pid == self.selected:
            await self._broadcast({"kind": "state", "state": self._page_state(self.players[pid])})

    def _health(self, pid: str) -> dict[str, Any]:
        view = self.players[pid]
        h = dict(view.link.health())
        h.setdefault("player_name", view.link.name)
        return h

    def _page_state(self, view: PlayerView) -> dict[str, Any]:
        st = view.state
        return {
            "transport": st.get("transport") or "idle",
            "media_t": st.get("media_t") or 0.0,
            "film": st.get("film"),
            "welfare": st.get("welfare") or "none",
            "volume": st.get("volume"),
            "rate": st.get("rate") or 1.0,
            "session": {
                "id": st.get("session"),
                "active": st.get("participant") is not None,
                "participant": st.get("participant"),
            },
            "interrupted": st.get("interrupted"),
        }
