"""Group sync inside a player: the follower wired to the Controller, its media engine and the session server.

:class:`GroupSyncService` registers the group commands with the protocol catalogue and the session server
(``group.sync``, ``group.status``, ``group.leave``; see docs/group.md) and answers them with a
:class:`GroupFollower` driving the controller's engine. The follower's events (``sync.executed``, a periodic
``sync.status`` with the sync figures) go to the controller's event sink, so they are logged durably and
published like every other event.
"""

from __future__ import annotations

import logging
from typing import Any

from player import protocol as P
from player.media.audio_render import START_SKIP_MAX
from player.sync import clock
from player.sync.follower import GroupFollower
from player.sync.timeline import Timeline

log = logging.getLogger(__name__)


class ControllerHooks:
    """:class:`~player.sync.follower.PlayerHooks` on a Controller: engine clock, transport and welfare."""

    # The engine lands a start called up to START_SKIP_MAX late on the clock, measuring the lateness at the
    # first block heard, up to an output latency after the call: half of it leaves that latency room.
    late_start_max = START_SKIP_MAX / 2

    def __init__(self, controller: Any) -> None:
        self.controller = controller

    def _engine(self) -> Any:
        return self.controller.engine

    def media_at(self, t: float) -> float:
        engine = self._engine()
        return float(engine.media_time(clock.to_engine(t))) if engine is not None else 0.0

    def _state(self) -> str:
        engine = self._engine()
        if engine is None:
            return "idle"
        return str(getattr(engine.state, "value", engine.state))

    def is_playing(self) -> bool:
        return self._state() in ("playing", "buffering")

    def start_pending(self) -> bool:
        return bool(getattr(self._engine(), "start_pending", False))

    def held(self) -> bool:
        # welfare stop, or a viewer's hold (break request, focus lost, headset off): see Controller.hold
        # ... or no consented session (the lobby: docs/protocol.md, "Session lifecycle")
        c = self.controller
        return c.welfare == "stop" or bool(getattr(c, "hold_reason", None) or getattr(c, "lobby", False))

    def play(self, at: float) -> None:
        engine = self._engine()
        if engine is None or self.held():
            return
        try:
            engine.play(at=clock.to_engine(at))
        except TypeError:  # an engine without scheduled starts: start now, the slew does the rest
            engine.play()

    def pause(self) -> None:
        if self._engine() is not None:
            self.controller.pause()

    def seek(self, t: float) -> None:
        if self._engine() is None:
            return
        film = self.controller.film
        if film is not None and film.duration:
            t = min(t, film.duration)
        self.controller.seek(max(0.0, t), cause="group")

    def set_trim(self, factor: float) -> None:
        engine = self._engine()
        set_trim = getattr(engine, "set_trim", None)
        if set_trim is not None:
            set_trim(factor)

    def chapter_start(self, args: dict[str, Any]) -> float:
        film = self.controller.film
        if film is None:
            raise ValueError("chapter: no film is loaded")
        chapters = film.chapters
        if "index" in args:
            i = args["index"]
            if not isinstance(i, int) or not 0 <= i < len(chapters):
                raise ValueError(
                    f"args.args.index: {i!r} is not a chapter of {film.id} (0..{len(chapters) - 1})"
                )
            return float(chapters[i].start)
        for ch in chapters:
            if ch.id == args.get("id"):
                return float(ch.start)
        known = ", ".join(c.id for c in chapters) or "none"
        raise ValueError(f"args.args.id: no chapter {args.get('id')!r} in {film.id} (known: {known})")


class GroupSyncError(P.ProtocolError):
    """A refused group command: the protocol's one error (answered with ``code`` and ``message``)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code, message)

    def __str__(self) -> str:
        return self.message


class GroupSyncService:
    """One player's group membership: the follower plus its protocol commands (see module doc)."""

    def __init__(self, controller: Any, follower: GroupFollower | None = None) -> None:
        self.controller = controller
        self.server: Any = None
        self.lsl: Any = None  # player.sync.lsl.LslOutlets when VIEWPOINT_LSL is on
        self.follower = follower or GroupFollower(ControllerHooks(controller))
        self.follower.on_event = self._emit
        self.follower.start()

    def _emit(self, kind: str, data: dict) -> None:
        self.controller.emit(kind, data)

    def attach(self, server: Any) -> GroupSyncService:
        """Handle the catalogue's ``group.*`` commands on ``server`` (a SessionServer, before start())."""
        self.server = server
        from player.sync import lsl

        if lsl.wanted():
            try:
                self.lsl = lsl.LslOutlets(getattr(server, "player_name", "viewpoint-player"), self.controller)
            except Exception as exc:  # pylsl or liblsl missing: say so once, play on
                log.warning("%s=1 but no LSL outlets: %s (pip install 'viewpoint-xr[lsl]')", lsl.ENV, exc)
        if self.lsl is not None:  # every logged event (session.*, command, annotation.* too), once durable
            server.events.on_published = self.lsl.push_logged
        server.add_handler("group.sync", lambda args, client: self.sync(args))
        server.add_handler("group.status", lambda args, client: self.status(args))
        server.add_handler("group.clock", lambda args, client: self.clock_sync(args))
        server.add_handler("group.leave", lambda args, client: self.leave())
        return self

    def close(self) -> None:
        self.follower.close()

    def sync(self, args: dict) -> dict:
        try:
            raw = args.get("timeline")
            if not isinstance(raw, dict):
                raise ValueError("args.timeline: expected an object with at, media_t, playing")
            tl = Timeline.from_args(raw, "args.timeline")
            inner = args.get("args", {})
            if not isinstance(inner, dict):
                raise ValueError("args.args: expected an object")
            extra = set(args) - {"timeline", "cmd", "args", "refresh"}
            if extra:
                raise ValueError(
                    f"args.{sorted(extra)[0]}: unknown argument (known: args, cmd, refresh, timeline)"
                )
            if args.get("refresh") is True:
                return self.follower.refresh(tl)
            return self.follower.apply(tl, args.get("cmd"), inner)
        except ValueError as exc:
            raise GroupSyncError("bad_args", str(exc)) from None

    def status(self, args: dict | None = None) -> dict:
        args = args or {}
        since = args.get("since", 0.0)
        if isinstance(since, bool) or not isinstance(since, int | float):
            raise GroupSyncError("bad_args", f"args.since: expected player seconds, got {since!r}")
        out = self.follower.status()
        try:
            st = self.controller.status()
            out["player"] = {k: st.get(k) for k in ("film", "state", "media_t", "chapter", "welfare")}
        except Exception as e:  # status must answer even if the controller cannot
            out["player"] = {"error": f"{type(e).__name__}: {e}"}
        info = getattr(self.server, "session_info", None) or {}
        out["session"] = {k: info.get(k) for k in ("id", "kind", "participant", "group")}
        out["samples"] = self.follower.samples(float(since))[-4000:]
        out["presented"] = self.follower.presented_since(float(since))[-8000:]
        out["executions"] = list(self.follower.executions[-32:])
        out["mono"] = self.follower.clock()
        tc = clock.test_clock()
        if tc is not None:  # the clock test facility in force: say so (tests compute the true offset from it)
            out["test_clock"] = {"offset": tc.offset, "drift_ppm": tc.drift_ppm, "base": tc.base}
        return out

    def frame_hook(self, loop: Any, info: Any) -> None:
        """``PlayOptions.frame_hook``: each presented frame's display instant, media time and frame pts (for
        the group's figures while following, and the LSL outlets when they are on)."""
        engine = self.controller.engine
        pts = getattr(getattr(loop, "result", None), "last_frame_pts", None)
        shown = getattr(info, "display_time", None)
        if engine is None or pts is None or shown is None:
            return
        media = float(engine.media_time(shown))
        if self.lsl is not None:
            views = getattr(info, "views", None)
            self.lsl.push_frame(shown, media, float(pts), views[0].orientation if views else None)
        if self.follower.hooks.is_playing():
            self.follower.presented(clock.from_engine(shown), media, float(pts))

    def clock_sync(self, args: dict) -> dict:
        """``group.clock``: ``t1`` as the command is taken, ``t2`` as the reply is made, on the group clock
        (the one the follower acts on, offset and skewed under the clock test facility)."""
        t1 = clock.now()
        return {"t1": t1, "seq": args.get("seq"), "t2": clock.now()}

    def leave(self) -> dict:
        self.follower.leave()
        return self.follower.status()
