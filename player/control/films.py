"""Loading films: the engine, its events, verification by hash, subtitles (a Controller mixin)."""

from __future__ import annotations

import logging
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from content_manifest import Film
from player.control.constants import HASH_WAIT_S, SOFTEN_VOLUME, CommandError
from player.render.webvtt import CueTrack, WebVTTError
from player.render.webvtt import load as load_webvtt

log = logging.getLogger("player.control")


class Films:
    """Loading and closing films (mixed into :class:`player.control.Controller`)."""

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

    def set_subtitles(self, language: str) -> dict:
        """The session's subtitle language ("auto", "off" or a tag; see `subtitle_track`), applied to the film
        on screen at once and to every film loaded after it."""
        with self._lock:
            self.subtitle_language = language
            film = self.film
            if film is not None:
                self._cues = self._load_cues(film)
                self.overlay.set_subtitle("")
        return {
            "subtitles": language,
            "showing": self.subtitle_track(film) if film is not None else None,
            "available": list(film.subtitles) if film is not None else [],
        }

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
