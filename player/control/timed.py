"""What the media time brings: chapters entered, content warnings upcoming and entered, subtitles (a
Controller mixin, driven by the render thread's tick)."""

from __future__ import annotations

import logging
from dataclasses import replace

from player.control.constants import WARNING_LEAD_S
from player.render.overlay import OverlayState

log = logging.getLogger("player.control")


class TimedEvents:
    """Time-driven events (mixed into :class:`player.control.Controller`)."""

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
        state = self.overlay.state(now)
        panel = self.panel_frame(state.calm)  # the headset questionnaire (player/control/questionnaire.py)
        return state if panel is None else replace(state, panel=panel)
