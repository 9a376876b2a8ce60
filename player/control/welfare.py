"""Holds and welfare: a viewer's break, and the facilitator's soften, stop and resume (a Controller mixin).

The stop takes no lock and waits on nothing: docs/architecture.md, "The stop path"."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from player import protocol as P
from player.control.constants import HOLD_REASONS, SOFTEN_VOLUME, CommandError

log = logging.getLogger("player.control")


class HoldsAndWelfare:
    """Holds and welfare (mixed into :class:`player.control.Controller`)."""

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
