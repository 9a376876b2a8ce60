"""The Controller: the only thing that changes playback state in response to a command.

Commands come from the desktop keyboard, an OpenXR action or the network (``dispatch``); each either takes
effect or raises ``CommandError(code, message)``. The controller owns the media engine and the overlay
decisions, and is the single source of events: engine transport events, chapters entered, content warnings
upcoming and entered, welfare changes and viewer requests all go to the sink set with ``set_sink``.
"""

from __future__ import annotations

import bisect
import logging
import threading
from collections.abc import Callable
from typing import Any

from content_manifest import Film, Library
from player import protocol as P
from player.control.constants import RUNTIME_NOTICES, SOFTEN_VOLUME, CommandError, EventSink
from player.control.films import Films
from player.control.hashing import FilmHasher
from player.control.questionnaire import HeadsetQuestionnaire
from player.control.table import CommandTable
from player.control.timed import TimedEvents
from player.control.welfare import HoldsAndWelfare
from player.render.overlay import OverlayAnimator
from player.render.projection import Quat, forward_heading_pitch, head_orientation, quat_multiply
from player.render.webvtt import CueTrack

log = logging.getLogger("player.control")


class Controller(Films, HoldsAndWelfare, TimedEvents, HeadsetQuestionnaire, CommandTable):
    """Owns one media engine at a time (one film), the overlay decisions and the event stream."""

    def __init__(
        self,
        library: Library,
        *,
        engine_factory: Callable[..., Any] | None = None,
        engine_options: dict | None = None,
        subtitle_language: str | None = "auto",
        pause_on_focus_loss: bool = True,
    ) -> None:
        self.library = library
        if engine_factory is None:
            from player.media.engine import MediaEngine

            engine_factory = MediaEngine
        self._engine_factory = engine_factory
        self._engine_options = dict(engine_options or {})
        self.subtitle_language = subtitle_language
        self.pause_on_focus_loss = pause_on_focus_loss
        self.overlay = OverlayAnimator()
        self.engine: Any = None
        self.film: Film | None = None
        self.film_generation = 0  # bumped on each load: the render thread reconfigures its renderer
        self.welfare = "none"
        self.welfare_at: float | None = None  # monotonic time the last welfare action took effect
        self.volume = 1.0
        self.muted = False
        self.last_orientation: Quat = (0.0, 0.0, 0.0, 1.0)
        self.last_media_t = 0.0
        self._sink: EventSink | None = None
        self._lock = threading.RLock()
        self._panel_lock = threading.Lock()  # the headset questionnaire's (player/control/questionnaire.py)
        self._retired: list[Any] = []
        self._chapter_id: str | None = None
        self._warned: set[tuple[int, str]] = set()
        self._cues: CueTrack | None = None
        self._resume_after_welfare = False
        self._last_state = ""
        self._opening: Any = None  # the engine a load is opening: the only source of engine events meanwhile
        self.hold_reason: str | None = None  # the viewer is taking a break / left: group plays wait
        self._resume_after_hold = False
        self._resume_listeners: list[Callable[[], None]] = []
        self.hasher = FilmHasher()
        self.verified: dict | None = None  # sha256 check of the loaded film (filled in by a worker)
        self._autoplay_pending = False  # wait_for_headset: the first focus_gained starts the film
        # the session lifecycle (docs/protocol.md): with a session server the player starts in the lobby (no
        # consented session: calm scene, nothing plays, no pose shared); without one, play is a local preview
        self.lobby = False
        self.share_pose = True  # head direction in status (the lobby and a session without pose consent: no)

    # -- events -----------------------------------------------------------------------------------------
    def set_sink(self, emit: EventSink | None) -> None:
        """Every event goes to ``emit(kind, data)`` from now on (the session server: log, then publish)."""
        self._sink = emit

    def emit(self, kind: str, data: dict | None = None) -> None:
        sink = self._sink
        if sink is None:
            return
        try:
            sink(kind, dict(data or {}))
        except Exception:  # a failing sink must never stop playback
            log.exception("event sink failed on %s", kind)

    def _on_engine_event(self, kind: str, data: dict, film_id: str, engine_ref: list) -> None:
        source = engine_ref[0] if engine_ref else None
        opening = self._opening
        if source is not (opening if opening is not None else self.engine):
            # a replaced engine winding down (its transport.closed), or one that failed to open: its film is
            # not the one on screen. While a load opens a new engine, only the new one speaks, so the log
            # never shows the old film's events after the new film's transport.loaded.
            return
        if kind.startswith("transport."):
            state = kind.split(".", 1)[1]
            if state in ("paused", "playing", "loaded", "ended", "seeking"):
                self.overlay.set_paused(state == "paused")
            self._last_state = state
        data = dict(data)
        data.setdefault("film", film_id)
        self.emit(kind, data)
        if source is self.engine and (
            (kind == "transport.error" and data.get("fatal"))
            or (kind == "transport.ended" and data.get("reason") == "truncated")
        ):
            self._film_failed(film_id, data)

    def _film_failed(self, film_id: str, data: dict) -> None:
        """A film that vanished, was cut short or cannot be decoded mid-play is over: the calm scene shows
        (the playback loop keeps running when a session server listens) until the next film loads; a
        ``film.failed`` event says which film and why. The player is not at fault and keeps listening."""
        reason, message = str(data.get("reason") or "failed"), str(data.get("message") or "")
        log.warning("film %s failed: %s %s", film_id, reason, message)
        self.overlay.set_film_failed(True)
        self.emit("film.failed", {"film": film_id, "reason": reason, "message": message[:500]})

    # -- transport --------------------------------------------------------------------------------------
    def media_time(self) -> float:
        return self.engine.media_time() if self.engine is not None else 0.0

    def play(self, source: str = "facilitator") -> dict:
        """Play (a person's decision: it ends a viewer's hold, see :meth:`hold`)."""
        self._need_session("play")
        if self.welfare == "stop":
            raise CommandError("welfare_stop", "playback is stopped for welfare: send welfare resume first")
        engine = self._engine()
        self._release_hold(source)
        self._autoplay_pending = False  # someone started it: the headset's focus no longer needs to
        if engine.play():
            self.overlay.set_paused(False)
        return self.status()

    def play_scheduled(self) -> dict:
        """A group's scheduled play: refused while held (the headset stays paused and says why)."""
        self._need_session("play")
        held = self.held
        if held:
            raise CommandError("held", f"this headset is held ({held}): it rejoins the group on resume")
        return self.play(source="group")

    def pause(self) -> dict:
        self._autoplay_pending = False  # a person's pause before the headset is in use: it stays paused
        if self._engine().pause():
            self.overlay.set_paused(True)
        return self.status()

    def toggle_pause(self, source: str = "viewer") -> dict:
        state = str(getattr(self._engine().state, "value", self._engine().state))
        return self.pause() if state in ("playing", "buffering", "seeking") else self.play(source)

    def seek(self, t: float, **cause: object) -> dict:
        engine = self._engine()
        duration = self.film.duration if self.film and self.film.duration else None
        if t < 0 or (duration is not None and t > duration):
            limit = f"0..{duration:g}" if duration is not None else ">= 0"
            raise CommandError("bad_args", f"args.t: {t:g} s is outside the film ({limit})")
        engine.seek(t, **cause)
        self._chapter_id = None
        self._warned = {w for w in self._warned if self._warning_start(w[0]) < t}
        return {"media_t": t}

    def seek_relative(self, dt: float) -> dict:
        duration = self.film.duration if self.film and self.film.duration else None
        t = max(0.0, self.media_time() + dt)
        if duration is not None:
            t = min(t, duration)
        return self.seek(t, cause="step")

    def chapter(self, chapter_id: str | None = None, index: int | None = None) -> dict:
        film = self._film()
        for i, ch in enumerate(film.chapters):
            if ch.id == chapter_id or (chapter_id is None and i == index):
                self._engine().seek(ch.start, cause="chapter", chapter=ch.id)
                self._chapter_id = None
                return {"media_t": ch.start, "chapter": ch.id}
        known = ", ".join(c.id for c in film.chapters) or "none"
        what = (
            f"args.id: no chapter {chapter_id!r}"
            if chapter_id is not None
            else f"args.index: no chapter {index}"
        )
        raise CommandError("no_chapter", f"{what} in {film.id} (known: {known})")

    def next_safe_point(self) -> dict:
        film = self._film()
        now = self.media_time()
        points = sorted(film.safe_points)
        i = bisect.bisect_right(points, now + 0.05)
        if i >= len(points):
            raise CommandError("no_safe_point", f"no safe point after {now:.3f} s in {film.id}")
        self._engine().seek(points[i], cause="safe_point")
        return {"media_t": points[i]}

    def set_rate(self, rate: float) -> dict:
        try:
            if rate > 2.0:
                self._engine().set_rate(1.0)
                self._engine().set_fast(rate)
            else:
                self._engine().set_fast(1.0)
                self._engine().set_rate(rate)
        except ValueError as exc:
            raise CommandError("bad_args", f"args.rate: {exc}") from None
        return {"rate": rate}

    def set_volume(self, volume: float) -> dict:
        self.volume = volume
        if self.engine is not None:
            self.engine.set_volume(SOFTEN_VOLUME * volume if self.welfare == "soften" else volume)
        return {"volume": volume}

    def set_muted(self, muted: bool) -> dict:
        self.muted = muted
        if self.engine is not None:
            self.engine.set_muted(muted or self.welfare == "stop")
        return {"muted": muted}

    def _film(self) -> Film:
        if self.film is None:
            raise CommandError("no_film", "no film is loaded (send load with args.film first)")
        return self.film

    # -- viewer -----------------------------------------------------------------------------------------
    def report_pose(self, orientation: Quat, media_t: float) -> None:
        """The head orientation shown for the frame at ``media_t`` (from the render loop)."""
        self.last_orientation = orientation
        self.last_media_t = media_t
        if self.engine is not None and self.film is not None:
            film_yaw = self.film.front_heading - self.overlay.recentre_yaw
            yaw = head_orientation(film_yaw, 0.0, 0.0)
            self.engine.set_listener_orientation(quat_multiply(yaw, orientation))

    def recentre(self, source: str = "command") -> dict:
        heading, _ = forward_heading_pitch(self.last_orientation)
        self.overlay.set_recentre(heading)
        self.emit("viewer.recentre", {"heading": round(heading, 3), "source": source})
        return {"heading": heading}

    def viewer_event(self, kind: str, data: dict | None = None) -> None:
        """Input from a backend: break_request, focus_lost, headset_off, focus_gained, recentre, select."""
        data = dict(data or {})
        if kind == "break_request":
            self.emit("viewer.break_request", {"media_t": round(self.media_time(), 3), **data})
            self.hold("break_request")
        elif kind in ("focus_lost", "headset_off"):
            self.emit(f"viewer.{kind}", {"media_t": round(self.media_time(), 3), **data})
            if self.pause_on_focus_loss:
                self.hold(kind)
        elif kind == "focus_gained":
            self.emit("viewer.focus_gained", data)  # playback resumes only when someone says so
        elif kind == "recentre":
            if self.questionnaire_shown:  # on the simple controller its button is the trigger too
                log.info("viewer recentre ignored: the headset shows questions")
                return
            self.recentre(source="viewer")
        elif kind == "select":
            self.select(str(data.get("hand") or ""))

    def runtime_notice(self, kind: str, data: dict | None = None) -> None:
        """A backend's lifecycle notice, for the facilitator and the log (nothing changes playback here; a
        lost runtime's focus_lost has already paused and held): runtime_lost -> ``runtime.lost``,
        runtime_restored -> ``runtime.restored``, space_changed -> ``runtime.space_changed``, input_profile
        -> ``viewer.input_profile``."""
        event = RUNTIME_NOTICES.get(kind)
        if event is None:
            raise CommandError("bad_args", f"runtime notice {kind!r} (expected {', '.join(RUNTIME_NOTICES)})")
        data = dict(data or {})
        if kind in ("runtime_lost", "runtime_restored"):
            data.setdefault("media_t", round(self.media_time(), 3))
        log.info("%s %s", event, data)
        self.emit(event, data)

    def wait_for_headset(self, backend: str) -> None:
        """Autoplay waits until the headset is in use (the first focus_gained): the film stays loaded and
        paused at its first frame; ``runtime.waiting`` says so."""
        self._autoplay_pending = True
        log.info("waiting for the headset (%s) before playing", backend)
        self.emit(
            "runtime.waiting",
            {"backend": backend, "reason": "not_focused", "message": "waiting for the headset"},
        )

    def start_when_focused(self) -> bool:
        """The first focus_gained after :meth:`wait_for_headset`: start the film unless a person already
        started it, a welfare stop or a viewer's hold applies. True if it started."""
        if not self._autoplay_pending:
            return False
        self._autoplay_pending = False
        if self.engine is None or self.welfare == "stop" or self.hold_reason is not None or self.lobby:
            return False
        state = str(getattr(self.engine.state, "value", self.engine.state))
        if state not in ("loaded", "paused", "seeking"):
            return False
        if self.engine.play():
            self.overlay.set_paused(False)
        log.info("the headset is in use: playing")
        return True

    # -- the session lifecycle: the session server calls these (docs/protocol.md, "Session lifecycle") ----
    def _need_session(self, what: str) -> None:
        if self.lobby:
            raise CommandError(
                P.E_NO_CONSENT,
                f"{what}: no session with recorded consent is running (send session.start with the"
                " participant code and consent first)",
            )

    def enter_lobby(self) -> bool:
        """No consented session from now on: the film is paused (True if it was moving), the calm scene
        fades in, play is refused and no head direction is shared."""
        with self._lock:
            self.lobby = True
            self.share_pose = False
            self._autoplay_pending = False
            self._resume_after_welfare = self._resume_after_hold = False  # a resume must not play here
        self.drop_questionnaire()
        engine = self.engine
        stopped = False
        if engine is not None:
            state = str(getattr(engine.state, "value", engine.state))
            stopped = state in ("playing", "buffering", "seeking")
            if stopped:
                engine.pause()
        self.overlay.set_lobby(True)
        return stopped

    def open_session(self, pose_capture: bool) -> None:
        """A consented session began: play is allowed (a person still starts it); the calm scene fades out
        unless a welfare stop holds it."""
        self.lobby = False
        self.share_pose = pose_capture
        self.drop_questionnaire()
        self.overlay.set_lobby(False)
        self._chapter_id = None  # the chapter the film is in is entered again, in this session's log
        self._notify_resume()  # in a group: join the group's timeline where the group is now

    # -- status and dispatch ----------------------------------------------------------------------------
    def status(self) -> dict:
        engine = self.engine
        state = str(getattr(engine.state, "value", engine.state)) if engine is not None else "idle"
        heading, pitch = forward_heading_pitch(self.last_orientation)
        head = {"heading": round(heading, 2), "pitch": round(pitch, 2)} if self.share_pose else {}
        return {
            "film": self.film.id if self.film else None,
            "state": state,
            "media_t": round(self.media_time(), 3),
            "duration": self.film.duration if self.film else None,
            "chapter": self._chapter_id,
            "welfare": self.welfare,
            "welfare_at": self.welfare_at,
            "held": self.held,
            # what the viewer hears now (a welfare stop mutes, soften lowers), and what comes back after it
            "volume": SOFTEN_VOLUME * self.volume if self.welfare == "soften" else self.volume,
            "muted": self.muted or self.welfare == "stop",
            "volume_set": self.volume,
            "muted_set": self.muted,
            "rate": getattr(engine, "rate", 1.0) if engine is not None else 1.0,
            "lobby": self.lobby,
            **head,
            **self.questionnaire_status(),
            **({k: v for k, v in self.verified.items() if k != "film"} if self.verified else {}),
        }
