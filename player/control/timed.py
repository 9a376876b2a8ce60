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
        warned = self._warned
        for i, w in enumerate(film.content_warnings):
            inside = w.start <= media_t < w.end
            upcoming = w.start - WARNING_LEAD_S <= media_t < w.start and (i, "upcoming") not in warned
            entering = inside and (i, "entered") not in warned
            exiting = not inside and (i, "entered") in warned and (i, "exited") not in warned
            if not (upcoming or entering or exiting):
                continue  # most display frames: nothing to say, so nothing is built
            info = {"index": i, "start": w.start, "end": w.end, "tags": list(w.tags), "note": w.note}
            if upcoming:
                warned.add((i, "upcoming"))
                self.emit("content_warning.upcoming", {**info, "in_s": round(w.start - media_t, 3)})
            if entering:
                warned.add((i, "entered"))
                warned.add((i, "upcoming"))
                self.emit("content_warning.entered", info)
            if exiting:
                warned.add((i, "exited"))
                self.emit("content_warning.exited", {**info, "media_t": round(media_t, 3)})
        if self._cues is not None:
            self.overlay.set_subtitle(self._cues.text_at(media_t), now)

    def upcoming_overlays(self) -> list[OverlayState]:
        """The overlays that may show next (the stop message, the notice, the next subtitle cue after the last
        tick's media time): the render thread prepares their pictures off a frame's critical path."""
        cues = self._cues
        return self.overlay.upcoming(cues.next_text(self.last_media_t) if cues is not None else "")

    def overlay_state(self, now: float | None = None) -> OverlayState:
        state = self.overlay.state(now)
        panel = self.panel_frame(state.calm)  # the headset questionnaire (player/control/questionnaire.py)
        return state if panel is None else replace(state, panel=panel)
