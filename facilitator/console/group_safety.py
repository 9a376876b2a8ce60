"""The group page's safety and flow commands: STOP ALL, RESUME ALL, the content-warnings step, safe points.

A mixin of :class:`facilitator.console.group.GroupConsole` (``controller``, ``links``, ``library``, ``name``).
STOP ALL sends every headset its welfare stop at once, each on its own thread and its urgent link (a stop
never queues behind a clock probe or a slow headset), then pauses the group; RESUME ALL lifts the stops and,
if the group was playing, plays it again at one shared instant. A film with content warnings does not start
until the facilitator has acknowledged them for the group (``ack_warnings``, recorded).
"""

from __future__ import annotations

import contextlib
import threading
import time
from typing import Any

from facilitator.console.group_text import brief
from facilitator.group.member import GroupError


class GroupSafety:
    """STOP ALL / RESUME ALL, the warnings step and the safe-point skip (see module doc)."""

    controller: Any
    links: dict[str, Any]
    library: Any
    name: str
    acknowledged: str | None
    _resume_play: bool

    def _each_welfare(self, action: str, names: list[str]) -> dict[str, Any]:
        """One welfare action on each named headset at once (each on its own thread, its urgent link)."""
        results: dict[str, Any] = {}

        def one(name: str) -> None:
            try:
                link = self.links.get(name)
                results[name] = self.controller.welfare(name, action, via=getattr(link, "urgent", None))
            except Exception as exc:
                results[name] = {"error": f"{type(exc).__name__}: {exc}"}

        threads = [threading.Thread(target=one, args=(n,), daemon=True) for n in names]
        for t in threads:
            t.start()
        for t in threads:
            t.join(5)
        return results

    def _stop_all(self) -> dict[str, Any]:
        """Welfare stop on every headset at once, then the group's pause. An absent headset is stopped too
        as soon as it answers again (its member re-applies the stop); only a present one failing is an
        error."""
        g = self.controller
        self._resume_play = self._resume_play or g.timeline.playing
        results = self._each_welfare("stop", list(g.members))
        if g.timeline.playing:
            with contextlib.suppress(GroupError):
                g.pause()
        absent = g.absent()
        failed = {
            k: v["error"]
            for k, v in results.items()
            if isinstance(v, dict) and "error" in v and k not in absent
        }
        if failed:
            raise GroupError("stop did not reach: " + "; ".join(f"{k}: {v}" for k, v in failed.items()))
        return {"stopped": sorted(results), "absent": sorted(absent)}

    def _resume_all(self) -> dict[str, Any]:
        """Lift the welfare stop (or soften) on every headset under one, then play the group again if it was
        playing when STOP ALL came (one shared instant: everyone where the group paused)."""
        g = self.controller
        held = [
            m.name
            for m in g.members.values()
            if m.welfare_hold or (m.sync.get("player") or {}).get("welfare") not in (None, "none")
        ]
        results = self._each_welfare("resume", held)
        played = None
        if self._resume_play and not g.timeline.playing:
            played = brief(g.play())
        self._resume_play = False
        failed = {k: v["error"] for k, v in results.items() if isinstance(v, dict) and "error" in v}
        return {"resumed": sorted(results), "failed": failed, "played": played}

    def _film(self) -> Any:
        film_id = self.controller.film
        if self.library is None or film_id is None:
            return None
        return self.library.films.get(film_id)

    def _ack_warnings(self, args: dict[str, Any]) -> dict[str, Any]:
        film = self._film()
        if film is None or args.get("film") != film.id:
            raise ValueError(
                f"ack_warnings: args.film must be the group's loaded film ({self.controller.film})"
            )
        self.acknowledged = film.id
        self.controller.record("group.warnings_acknowledged", {"group": self.name, "film": film.id,
                               "warnings": len(film.content_warnings)})  # fmt: skip
        return {"film": film.id, "warnings": len(film.content_warnings)}

    def _check_warnings_acknowledged(self) -> None:
        film = self._film()
        if film is not None and film.content_warnings and self.acknowledged != film.id:
            raise ValueError(
                f"play: the content warnings of {film.id} are not acknowledged yet (read them to the group, "
                "then tick 'warnings read' on the group page)"
            )

    def _safe_point(self) -> dict[str, Any]:
        """The whole group to the film's next safe point after where the group is now."""
        film = self._film()
        if film is None:
            raise ValueError("safe point: no film loaded in the group (or no library)")
        now = self.controller.timeline.media_at(time.monotonic())
        later = sorted(t for t in film.safe_points if t > now + 0.5)
        if not later:
            raise ValueError(f"safe point: none after {now:.1f} s in {film.id}")
        return {**brief(self.controller.seek(later[0])), "to": later[0]}
