"""The Controller: the only thing that changes playback state in response to a command.

Commands come from the desktop keyboard, an OpenXR action or the network (``dispatch``); each either takes
effect or raises ``CommandError(code, message)``. The controller owns the media engine and the overlay
decisions, and is the single source of events: engine transport events, chapters entered, content warnings
upcoming and entered, welfare changes and viewer requests all go to the sink set with ``set_sink``.
"""

from __future__ import annotations

import bisect
import logging
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path
from typing import Any

from content_manifest import Film, Library
from content_manifest.safefile import sha256_regular
from player import protocol as P
from player.render.overlay import OverlayAnimator, OverlayState
from player.render.projection import Quat, forward_heading_pitch, head_orientation, quat_multiply
from player.render.webvtt import CueTrack, WebVTTError
from player.render.webvtt import load as load_webvtt

log = logging.getLogger(__name__)

EventSink = Callable[[str, dict], None]
WARNING_LEAD_S = 10.0  # "content warning upcoming" this long before it starts
SOFTEN_VOLUME = 0.4
SEEK_STEP_S = 5.0
HASH_WAIT_S = 1.0  # a load waits this long for the film's sha256; later, film.verified says it
HOLD_REASONS = ("break_request", "focus_lost", "headset_off")
RUNTIME_NOTICES = {  # backend lifecycle notice -> the event the facilitator and the log see
    "runtime_lost": "runtime.lost",
    "runtime_restored": "runtime.restored",
    "space_changed": "runtime.space_changed",
    "input_profile": "viewer.input_profile",
}


class CommandError(Exception):
    """A command that could not be carried out: ``code`` for programs, ``message`` for people."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class FilmHasher:
    """sha256 of film files on a worker thread, always of their content: a film changed in place with the same
    size and modification time is caught. Only a hash still running for the same file is shared."""

    CHUNK = 1 << 20

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="viewpoint-film-hash")
        self._lock = threading.RLock()  # a hash done already calls _forget at once, in submit
        self._running: dict[str, Future] = {}
        self._closed = threading.Event()

    def submit(self, path: Path) -> Future:
        """A future for the file's sha256 (hex), read afresh unless a hash of the same file is under way."""
        os.stat(path)  # a missing file raises here, at once
        key = str(Path(path).resolve())
        with self._lock:
            fut = self._running.get(key)
            fresh = fut is None or fut.done()
            if fresh:
                fut = self._running[key] = self._pool.submit(self._hash, Path(path))
        if fresh:  # outside the lock: a hash already done runs the callback here, and it takes the lock
            fut.add_done_callback(lambda f, k=key: self._forget(k, f))
        return fut

    def _forget(self, key: str, fut: Future) -> None:
        with self._lock:
            if self._running.get(key) is fut:
                del self._running[key]

    def _hash(self, path: Path) -> str:
        # the one sha256 helper: regular files only; stops between blocks when the player is closing
        return sha256_regular(path, block=self.CHUNK, stop=self._closed.is_set)

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    def close(self) -> None:
        self._closed.set()
        self._pool.shutdown(wait=False, cancel_futures=True)


class Controller:
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

    # -- films ------------------------------------------------------------------------------------------
    def load(self, film_id: str, *, play: bool = False) -> dict:
        if play:
            self._need_session("load with play")
        film = self.library.films.get(film_id)
        if film is None:
            known = ", ".join(self.library.films) or "none"
            raise CommandError(
                "unknown_film", f"args.film: no film {film_id!r} in the library (known: {known})"
            )
        options = dict(self._engine_options)
        options.setdefault(
            "audio_layout", film.audio if film.audio in ("stereo", "mono", "ambix-foa") else "stereo"
        )
        engine_ref: list = []  # the engine these events come from (see _on_engine_event)

        def on_event(kind: str, data: dict) -> None:
            self._on_engine_event(kind, data, film.id, engine_ref)

        try:
            hashing: Future | None = self.hasher.submit(film.path)  # meanwhile the engine opens
        except OSError:
            hashing = None  # the engine says what is wrong with the file
        engine = self._engine_factory(film.path, on_event=on_event, **options)
        engine_ref.append(engine)
        self._opening = engine
        try:
            info = engine.open()
        except Exception as exc:
            reason = getattr(exc, "reason", "open_failed")
            self._opening = None  # the film on screen stays; the failed engine's own events are dropped
            try:
                engine.close()
            except Exception:
                pass
            self.emit(
                "transport.error", {"film": film.id, "reason": reason, "message": str(exc), "fatal": False}
            )
            raise CommandError("load_failed", f"film {film.id!r} ({film.path}): {exc}") from None
        with self._lock:
            if self.engine is not None:
                self._retired.append(self.engine)
            self.engine, self.film = engine, film
            self._opening = None
            self.film_generation += 1
            self.overlay.set_film_failed(False)
            self._chapter_id = None
            self._warned.clear()
            self._cues = self._load_cues(film)
            self.overlay.set_subtitle("")
        volume = SOFTEN_VOLUME * self.volume if self.welfare == "soften" else self.volume
        if volume != 1.0:  # carry the session's volume and mute over to the new film
            engine.set_volume(volume)
        if self.muted or self.welfare == "stop":
            engine.set_muted(True)
        self._autoplay_pending = False  # a person chose this film and whether it plays (load's play)
        if play and self.welfare != "stop" and self.hold_reason is None:
            engine.play()
        result = {
            "film": film.id,
            "duration": info.duration,
            "width": info.width,
            "height": info.height,
            "has_audio": bool(getattr(info, "has_audio", False)),
            "audio_output": getattr(info, "audio_output", None),
        }
        result.update(self._verification(film, hashing))
        return result

    def _verification(self, film: Film, hashing: Future | None) -> dict:
        """The film's sha256 against the manifest's: in the load result if known within HASH_WAIT_S, and
        always as a ``film.verified`` event (logged) when the worker is done."""
        self.verified = None
        if hashing is None:
            return {}
        generation = self.film_generation

        def done(fut: Future) -> None:
            if fut.cancelled() or self.hasher.closed:
                return  # the player is closing: no verdict
            exc = fut.exception()
            if exc is not None:
                info = {"film": film.id, "sha256": None, "sha256_ok": False, "error": str(exc)}
            else:
                sha = fut.result()
                info = {
                    "film": film.id,
                    "sha256": sha,
                    "sha256_ok": sha.lower() == str(film.sha256).lower(),
                    "expected": film.sha256,
                }
            if generation == self.film_generation:
                self.verified = info
            self.emit("film.verified", info)

        try:
            hashing.result(HASH_WAIT_S)
        except FutureTimeout:
            hashing.add_done_callback(done)
            return {"sha256_pending": True}  # film.verified follows
        except Exception:
            pass
        done(hashing)
        verified = self.verified or {}
        return {k: verified[k] for k in ("sha256", "sha256_ok", "error") if k in verified}

    def subtitle_track(self, film: Film) -> str | None:
        """The subtitle language shown for ``film``: the one chosen (``subtitle_language``: a language tag,
        "auto" for the film's first, "off" or None for none), or one with the same primary tag ("pt" finds
        "pt-BR"); None when the film has none of it."""
        choice = self.subtitle_language
        if not choice or choice == "off" or not film.subtitles:
            return None
        if choice == "auto":
            return next(iter(film.subtitles))
        if choice in film.subtitles:
            return choice
        primary = choice.split("-")[0].lower()
        return next((lang for lang in film.subtitles if lang.split("-")[0].lower() == primary), None)

    def _load_cues(self, film: Film) -> CueTrack | None:
        lang = self.subtitle_track(film)
        if lang is None:
            return None
        try:
            return CueTrack(load_webvtt(film.subtitles[lang]))
        except WebVTTError as exc:
            self.emit("subtitles.error", {"film": film.id, "message": str(exc)})
            return None

    def collect_retired(self) -> None:
        """Close engines replaced by a load (called by the playback loop, outside frame_for)."""
        with self._lock:
            retired, self._retired = self._retired, []
        for engine in retired:
            engine.close()

    def close(self) -> None:
        self.collect_retired()
        if self.engine is not None:
            self.engine.close()
            self.engine = None
        self.hasher.close()

    def _engine(self) -> Any:
        if self.engine is None:
            raise CommandError("no_film", "no film is loaded (send load with args.film first)")
        return self.engine

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
        """Input from a backend: break_request, focus_lost, headset_off, focus_gained, recentre."""
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
            self.recentre(source="viewer")

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
        self.overlay.set_lobby(False)
        self._notify_resume()  # in a group: join the group's timeline where the group is now

    # -- holds: a viewer's break holds this headset out of the group until someone resumes it ------------
    @property
    def held(self) -> str | None:
        """Why group play commands must leave this headset paused (None: they may play it)."""
        if self.welfare == "stop":
            return "welfare_stop"
        return self.hold_reason

    def hold(self, reason: str) -> dict:
        """Pause and hold: scheduled/group plays leave the headset paused until :meth:`play` by a person
        or ``welfare resume``. A second reason while held keeps the first."""
        if reason not in HOLD_REASONS:
            raise CommandError("bad_args", f"hold reason {reason!r} (expected {', '.join(HOLD_REASONS)})")
        engine = self.engine
        if self.hold_reason is None:
            state = str(getattr(engine.state, "value", engine.state)) if engine is not None else "idle"
            self._resume_after_hold = state in ("playing", "buffering", "seeking")
            self.hold_reason = reason
            if engine is not None:
                engine.pause()
            self.emit(
                "hold.changed",
                {"held": True, "reason": reason, "media_t": round(self.media_time(), 3)},
            )
        elif engine is not None:
            engine.pause()
        return {"held": self.hold_reason}

    def add_resume_listener(self, callback: Callable[[], None]) -> None:
        """``callback()`` after a hold or welfare stop is released (e.g. rejoin the group's timeline)."""
        self._resume_listeners.append(callback)

    def _release_hold(self, source: str) -> bool:
        """Clear the hold (True if there was one); the caller decides whether to play."""
        reason = self.hold_reason
        if reason is None:
            return False
        self.hold_reason = None
        self.emit(
            "hold.changed",
            {"held": False, "reason": reason, "by": source, "media_t": round(self.media_time(), 3)},
        )
        self._notify_resume()
        return True

    def _notify_resume(self) -> None:
        for callback in list(self._resume_listeners):
            try:
                callback()
            except Exception:
                log.exception("resume listener failed")

    # -- welfare ----------------------------------------------------------------------------------------
    def set_welfare(self, action: str, source: str = "facilitator") -> dict:
        if action not in P.WELFARE_ACTIONS:
            expected = ", ".join(P.WELFARE_ACTIONS)
            raise CommandError("bad_args", f"args.action: {action!r} (expected one of {expected})")
        previous = self.welfare
        engine = self.engine
        if action == "stop":
            # The action first, in the order the viewer notices it: the level (which refuses any play from
            # now on), the fade (the render thread reads it on its next frame), the mute, then the clock.
            self.welfare = "stop"
            self.overlay.set_welfare("stop")
            self.welfare_at = time.monotonic()  # the fade starts on the render thread's next frame
            if engine is not None:
                engine.set_muted(True)
                state = str(getattr(engine.state, "value", engine.state))
                if previous != "stop":
                    self._resume_after_welfare = state in ("playing", "buffering", "seeking")
                engine.pause()  # the clock stops now; the picture is already fading
        elif action == "soften":
            if engine is not None:
                engine.set_volume(SOFTEN_VOLUME * self.volume)
                engine.set_muted(self.muted)
                if previous == "stop" and self._resume_after_welfare:
                    engine.play()
            self.welfare = "soften"
            self.overlay.set_welfare("soften")
        else:
            was_held = self.hold_reason is not None
            resume_hold = was_held and self._resume_after_hold
            if engine is not None:
                engine.set_volume(self.volume)
                engine.set_muted(self.muted)
                if (previous == "stop" and self._resume_after_welfare) or resume_hold:
                    engine.play()
            self.welfare = "none"
            self.overlay.set_welfare("none")
            if was_held:
                self._release_hold(source)
            elif previous == "stop":
                self._notify_resume()
        if action != "stop":
            self.welfare_at = time.monotonic()
        if previous != self.welfare:
            self.emit(
                "welfare.changed",
                {
                    "level": self.welfare,
                    "previous": previous,
                    "by": source,
                    "media_t": round(self.media_time(), 3),
                },
            )
        return {"welfare": self.welfare, "at": self.welfare_at}

    # -- time-driven events -----------------------------------------------------------------------------
    def _warning_start(self, index: int) -> float:
        film = self.film
        return film.content_warnings[index].start if film and index < len(film.content_warnings) else 0.0

    def tick(self, media_t: float, now: float | None = None) -> None:
        """Chapters entered, content warnings upcoming/entered, subtitle cue; once per display frame."""
        film = self.film
        if film is None:
            return
        self.last_media_t = media_t
        chapter, index = None, -1
        for i, ch in enumerate(film.chapters):
            if ch.start <= media_t + 1e-6:
                chapter, index = ch, i
        if chapter is not None and chapter.id != self._chapter_id:
            self._chapter_id = chapter.id
            self.emit(
                "chapter.entered",
                {
                    "id": chapter.id,
                    "index": index,
                    "title": chapter.title,
                    "start": chapter.start,
                    "prompts": list(chapter.prompts),
                    "media_t": round(media_t, 3),
                },
            )
        for i, w in enumerate(film.content_warnings):
            info = {"index": i, "start": w.start, "end": w.end, "tags": list(w.tags), "note": w.note}
            if w.start - WARNING_LEAD_S <= media_t < w.start and (i, "upcoming") not in self._warned:
                self._warned.add((i, "upcoming"))
                self.emit("content_warning.upcoming", {**info, "in_s": round(w.start - media_t, 3)})
            if w.start <= media_t < w.end and (i, "entered") not in self._warned:
                self._warned.add((i, "entered"))
                self._warned.add((i, "upcoming"))
                self.emit("content_warning.entered", info)
            inside = w.start <= media_t < w.end
            if (i, "entered") in self._warned and (i, "exited") not in self._warned and not inside:
                self._warned.add((i, "exited"))
                self.emit("content_warning.exited", {**info, "media_t": round(media_t, 3)})
        if self._cues is not None:
            self.overlay.set_subtitle(self._cues.text_at(media_t), now)

    def overlay_state(self, now: float | None = None) -> OverlayState:
        return self.overlay.state(now)

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
            **({k: v for k, v in self.verified.items() if k != "film"} if self.verified else {}),
        }

    def dispatch(self, cmd: str, args: dict | None = None) -> dict:
        """Carry out one playback command of the catalogue (``target="controller"``), validated there;
        returns its result or raises CommandError."""
        spec = P.COMMANDS.get(cmd)
        handler = _HANDLERS.get(cmd)
        if spec is None or handler is None:
            raise CommandError(
                "unknown_command", f"cmd: unknown command {cmd!r} (known: {', '.join(_HANDLERS)})"
            )
        try:
            args = P.check_args(spec.args, args if args is not None else {})
            if spec.extra_check is not None:
                spec.extra_check(args)
        except P.ProtocolError as exc:
            raise CommandError(exc.code, exc.message) from None
        try:
            return handler(self, args)
        except CommandError:
            raise
        except ValueError as exc:
            raise CommandError("bad_args", str(exc)) from None
        except Exception as exc:  # never let a command take the player down
            log.exception("command %s failed", cmd)
            raise CommandError("internal", f"{cmd} failed: {exc}") from None


def _volume(c: Controller, args: dict) -> dict:
    result: dict = {}
    if "muted" in args:
        result.update(c.set_muted(args["muted"]))
    if "volume" in args:
        result.update(c.set_volume(args["volume"]))
    return result


# One handler per catalogue command with target "controller" (arguments already checked by the catalogue).
_HANDLERS: dict[str, Callable[[Controller, dict], dict]] = {
    "load": lambda c, a: c.load(a["film"], play=a.get("play", False)),
    "play": lambda c, a: c.play(),
    "pause": lambda c, a: c.pause(),
    "seek": lambda c, a: c.seek(a["t"]),
    "chapter": lambda c, a: c.chapter(a["id"]) if "id" in a else c.chapter(index=a["index"]),
    "next_safe_point": lambda c, a: c.next_safe_point(),
    "rate": lambda c, a: c.set_rate(a["rate"]),
    "volume": _volume,
    "mute": lambda c, a: c.set_muted(a["muted"]),
    "recentre": lambda c, a: c.recentre(),
    "welfare": lambda c, a: c.set_welfare(a["action"]),
}
COMMANDS = tuple(_HANDLERS)
