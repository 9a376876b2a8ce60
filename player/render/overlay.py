"""What the renderer draws over the film, and the fades that get it there (fades, never cuts).

``OverlayState`` is the renderer's snapshot for one display frame. ``OverlayAnimator`` holds what the
controller decided (welfare level, paused, subtitle cue, recentre) and turns it into an ``OverlayState`` at a
given time, easing every change over a short fade.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from player.protocol import WELFARE_LEVELS

DEFAULT_STOP_MESSAGE = "Pausing here.\nYou are safe. Take your time."
LOBBY_MESSAGE = "Welcome.\nThe film starts when your session does."


VISIBLE_ALPHA = 0.004  # an overlay fainter than this is not drawn


@dataclass(frozen=True, slots=True)
class OverlayState:
    welfare: str = "none"  # none | soften | stop (the decided level; the mixes below carry the fade)
    soften: float = 0.0  # 0..1 dimmed and desaturated picture
    calm: float = 0.0  # 0..1 calm dark scene in place of the film
    message: str = ""  # head-locked: the welfare message, else a notice (e.g. the pairing code)
    message_alpha: float = 0.0
    paused: bool = False
    pause_alpha: float = 0.0
    subtitle: str = ""
    subtitle_alpha: float = 0.0
    recentre_yaw: float = 0.0  # degrees: the heading the viewer faced when they recentred
    panel: object = None  # the headset questionnaire's PanelFrame (player/control/questionnaire.py), or None

    def shown(self) -> list[tuple[str, float]]:
        """The head-locked overlays that show, in drawing order, as (picture key, alpha): the message, the
        pause icon and the subtitle, each when more than VISIBLE_ALPHA. The one rule for what is drawn."""
        shown: list[tuple[str, float]] = []
        if self.message and self.message_alpha > VISIBLE_ALPHA:
            shown.append(("message:" + self.message, self.message_alpha))
        if self.pause_alpha > VISIBLE_ALPHA:
            shown.append(("icon:pause", self.pause_alpha))
        if self.subtitle and self.subtitle_alpha > VISIBLE_ALPHA:
            shown.append(("subtitle:" + self.subtitle, self.subtitle_alpha))
        return shown

    @property
    def shows_anything(self) -> bool:
        """Whether a head-locked overlay (``shown``) or the questionnaire panel shows."""
        return self.panel is not None or bool(self.shown())


class _Fade:
    """A value easing linearly (smoothstepped) from where it is towards a target over a duration."""

    def __init__(self, value: float = 0.0) -> None:
        self.start_value = self.target = value
        self.start_time = 0.0
        self.duration = 0.0

    def set(self, target: float, now: float, duration: float) -> None:
        if target == self.target:
            return
        self.start_value = self.value(now)
        self.target = target
        self.start_time = now
        self.duration = max(0.0, duration)

    def value(self, now: float) -> float:
        if self.duration <= 0.0:
            return self.target
        x = min(1.0, max(0.0, (now - self.start_time) / self.duration))
        x = x * x * (3.0 - 2.0 * x)
        return self.start_value + (self.target - self.start_value) * x

    def done(self, now: float) -> bool:
        return now >= self.start_time + self.duration


class OverlayAnimator:
    """Thread-safe holder of overlay decisions; ``state(now)`` gives the eased snapshot for a frame."""

    STOP_FADE_S = 0.8
    SOFTEN_FADE_S = 1.5
    RESUME_FADE_S = 1.5
    PAUSE_FADE_S = 0.25
    SUBTITLE_FADE_S = 0.15
    NOTICE_FADE_S = 0.3

    def __init__(self, stop_message: str = DEFAULT_STOP_MESSAGE) -> None:
        self._lock = threading.Lock()
        self.stop_message = stop_message
        self.welfare = "none"
        self.paused = False
        self.subtitle = ""
        self._last_subtitle = ""
        self.recentre_yaw = 0.0
        self._soften = _Fade()
        self._calm = _Fade()
        self._pause = _Fade()
        self._subtitle = _Fade()
        self.notice = ""
        self._last_notice = ""
        self._notice = _Fade()
        self.lobby = False  # no consented session: the calm scene, never the film (docs/protocol.md)
        self._upcoming: tuple[tuple, list[OverlayState]] | None = None  # upcoming()'s key and answer
        self.failed = False  # the film failed mid-play: the calm scene until the next film loads
        self._drawn = False  # no frame drawn yet: a change takes effect at once (no picture to fade from)

    def _d(self, duration: float) -> float:
        """A fade's duration, or 0 before the first frame: the viewer never saw what it would fade from
        (a listening player starts in the lobby's calm scene, not partway into it)."""
        return duration if self._drawn else 0.0

    def set_welfare(self, level: str, now: float | None = None) -> None:
        if level not in WELFARE_LEVELS:
            raise ValueError(f"welfare level {level!r}: expected one of {', '.join(WELFARE_LEVELS)}")
        now = time.monotonic() if now is None else now
        with self._lock:
            self.welfare = level
            if level == "stop":
                self._calm.set(1.0, now, self._d(self.STOP_FADE_S))
                self._soften.set(1.0, now, self._d(self.STOP_FADE_S))
            elif level == "soften":
                self._calm.set(1.0 if self.lobby or self.failed else 0.0, now, self._d(self.RESUME_FADE_S))
                self._soften.set(1.0, now, self._d(self.SOFTEN_FADE_S))
            else:
                self._calm.set(1.0 if self.lobby or self.failed else 0.0, now, self._d(self.RESUME_FADE_S))
                self._soften.set(0.0, now, self._d(self.RESUME_FADE_S))

    def set_lobby(self, lobby: bool, now: float | None = None) -> None:
        """The lobby (no consented session) shows the calm scene with the notice (the pairing code) or a
        welcome; leaving it fades back to the film unless a welfare stop holds the calm scene."""
        now = time.monotonic() if now is None else now
        with self._lock:
            self.lobby = lobby
            self._set_calm(now)

    def set_film_failed(self, failed: bool, now: float | None = None) -> None:
        """A film that failed mid-play (vanished, truncated, undecodable): the calm scene, until a film
        loads again (``failed`` False)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            self.failed = failed
            self._set_calm(now)

    def _set_calm(self, now: float) -> None:
        calm = self.lobby or self.failed or self.welfare == "stop"
        self._calm.set(1.0 if calm else 0.0, now, self._d(self.STOP_FADE_S if calm else self.RESUME_FADE_S))

    def set_paused(self, paused: bool, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        with self._lock:
            self.paused = paused
            self._pause.set(1.0 if paused else 0.0, now, self._d(self.PAUSE_FADE_S))

    def set_subtitle(self, text: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        with self._lock:
            if text == self.subtitle:
                return
            self.subtitle = text
            if text:
                self._last_subtitle = text
            self._subtitle.set(1.0 if text else 0.0, now, self._d(self.SUBTITLE_FADE_S))

    def set_notice(self, text: str, now: float | None = None) -> None:
        """A short head-locked message (e.g. "Pairing code 123-456") shown while no welfare message is;
        "" fades it out."""
        now = time.monotonic() if now is None else now
        with self._lock:
            if text == self.notice:
                return
            self.notice = text
            if text:
                self._last_notice = text
            self._notice.set(1.0 if text else 0.0, now, self._d(self.NOTICE_FADE_S))

    def set_recentre(self, yaw_deg: float) -> None:
        with self._lock:
            self.recentre_yaw = float(yaw_deg)

    def upcoming(self, subtitle: str = "") -> list[OverlayState]:
        """What the overlays may show next, fully visible: the stop message with the pause icon and
        ``subtitle`` (the next cue), and the notice or lobby message; for the renderer to prepare their
        pictures before they are needed (Renderer.prepare_overlays). The same list while nothing changes."""
        with self._lock:
            key = (subtitle, self.notice or (LOBBY_MESSAGE if self.lobby else ""), self.stop_message)
        if self._upcoming is None or self._upcoming[0] != key:
            subtitle, notice, stop_message = key
            states = [
                OverlayState(
                    message=stop_message,
                    message_alpha=1.0,
                    pause_alpha=1.0,
                    subtitle=subtitle,
                    subtitle_alpha=1.0 if subtitle else 0.0,
                )
            ]
            if notice:
                states.append(OverlayState(message=notice, message_alpha=1.0))
            self._upcoming = (key, states)
        return self._upcoming[1]

    def state(self, now: float | None = None) -> OverlayState:
        now = time.monotonic() if now is None else now
        with self._lock:
            self._drawn = True
            calm = self._calm.value(now)
            pause = self._pause.value(now) * (1.0 - calm)
            message, message_alpha = (self.stop_message, calm) if calm > 0.0 else ("", 0.0)
            notice = self._notice.value(now)
            if self.lobby and self.welfare != "stop":
                message = self.notice or LOBBY_MESSAGE
            elif calm <= 0.0 and notice > 0.0:
                message, message_alpha = self.notice or self._last_notice, notice
            return OverlayState(
                welfare=self.welfare,
                soften=self._soften.value(now),
                calm=calm,
                message=message,
                message_alpha=message_alpha,
                paused=self.paused,
                pause_alpha=pause,
                subtitle=self.subtitle or (self._last_subtitle if self._subtitle.value(now) > 0 else ""),
                subtitle_alpha=self._subtitle.value(now),
                recentre_yaw=self.recentre_yaw,
            )
