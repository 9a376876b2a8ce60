"""Questions in the headset: ``questionnaire.show`` puts a panel in front of the viewer, one item at a time;
the viewer points a controller's ray at an answer and pulls the trigger, and the answer is the same
``questionnaire.answered`` event the console's participant view produces (``source: headset``).

Only inside a consented session; a welfare stop hides the panel under the calm scene and its trigger does
nothing there (the stop never waits on the panel: it has a lock of its own). A mixin of the Controller.
"""

from __future__ import annotations

import itertools
import logging
import threading
from dataclasses import dataclass, field
from typing import Any

from player.protocol import questionnaire_choices as choices
from player.render.panel_layout import Layout, Placement, Vec, intersect, layout, picture, place
from player.render.projection import forward_heading_pitch

log = logging.getLogger("player.control")

HANDS = ("right", "left")
_SERIALS = itertools.count(1)


@dataclass(frozen=True, slots=True)
class PanelFrame:
    """What the renderer draws for one display frame: the current item's picture on its placement, the
    highlighted choice, each hand's ray (origin, end) and the cursor where the active ray meets the panel."""

    key: tuple
    image: Any  # the item's picture: premultiplied RGBA rows, top row first (panel_layout.picture)
    placement: Placement
    alpha: float
    highlight: tuple[float, float, float, float] | None = None  # (u0, v0, u1, v1)
    rays: tuple[tuple[Vec, Vec], ...] = ()
    cursor: Vec | None = None


@dataclass
class _Shown:
    phase: str
    items: list[dict]
    heading: float
    serial: int
    index: int = 0
    answered: int = 0
    layout: Layout | None = None
    placement: Placement | None = None
    rays: dict[str, tuple[Vec, Vec]] = field(default_factory=dict)  # hand -> (origin, direction)
    hover: dict[str, tuple[int | None, Vec | None]] = field(default_factory=dict)  # hand -> (choice, hit)
    active: str = "right"  # the hand that pulled the trigger last (its ray is drawn)
    pictures: list = field(default_factory=list)  # each item's picture, drawn off the render thread

    def draw_pictures(self, still_shown) -> None:
        """Rasterise every item's picture in order (about 50 ms each with Pillow: never on the render thread,
        where it would drop frames; the next ones are ready before the viewer has answered)."""
        for i, item in enumerate(self.items):
            if not still_shown(self):
                return
            self.pictures[i] = picture(item, i, len(self.items))

    def settle(self) -> None:
        self.layout = layout(self.items[self.index])
        self.placement = place(self.heading, self.layout)
        self.hover = {}


class HeadsetQuestionnaire:
    """The panel's state and its two commands (mixed into :class:`~player.control.Controller`)."""

    _shown: _Shown | None = None
    _panel_lock: threading.Lock  # the panel's own: a welfare stop never waits on it

    # -- commands (the session thread) ------------------------------------------------------------------
    def show_questionnaire(self, phase: str, items: list[dict]) -> dict:
        self._need_session("questionnaire.show")
        heading, _ = forward_heading_pitch(self.last_orientation)
        with self._panel_lock:
            replaced = self._shown
            shown = _Shown(phase, [dict(i) for i in items], heading, next(_SERIALS))
            shown.settle()
            shown.pictures = [None] * len(shown.items)
            self._shown = shown
        threading.Thread(
            target=shown.draw_pictures, args=(lambda x: self._shown is x,), name="panel-pictures", daemon=True
        ).start()
        if replaced is not None:
            self._closed(replaced, "replaced")
        return {"items": len(items), "heading": round(heading, 2)}

    def cancel_questionnaire(self) -> dict:
        with self._panel_lock:
            shown, self._shown = self._shown, None
        if shown is not None:
            self._closed(shown, "cancelled")
        return {"cancelled": shown is not None}

    def drop_questionnaire(self) -> None:
        """The session ended or a new one began: the panel goes without a word (session.ended says it)."""
        with self._panel_lock:
            self._shown = None

    def _closed(self, shown: _Shown, reason: str) -> None:
        self.emit(
            "questionnaire.closed",
            {"phase": shown.phase, "reason": reason, "answered": shown.answered, "items": len(shown.items)},
        )

    @property
    def questionnaire_shown(self) -> bool:
        return self._shown is not None

    def _panel_blocked(self) -> bool:
        """A welfare stop (or the calm scene of the lobby or a failed film) hides the panel."""
        return self.welfare == "stop" or self.lobby or self.overlay.failed

    # -- the viewer (the render thread) -----------------------------------------------------------------
    def point(self, rays: dict[str, tuple[Vec, Vec]] | None) -> None:
        """Each tracked hand's aim ray this display frame: (origin, direction), head-centred app space."""
        shown = self._shown
        if shown is None:
            return
        with self._panel_lock:
            shown.rays = dict(rays or {})
            shown.hover = {}
            for hand, (origin, direction) in shown.rays.items():
                hit = intersect(shown.placement, origin, direction)
                if hit is None:
                    shown.hover[hand] = (None, None)
                    continue
                u, v, _ = hit
                shown.hover[hand] = (shown.layout.choice_at(u, v), shown.placement.point(u, v))
            if shown.active not in shown.rays and shown.rays:
                shown.active = next(h for h in HANDS if h in shown.rays)

    def select(self, hand: str) -> bool:
        """The trigger on ``hand``: answer the choice its ray points at. True if an answer was given."""
        shown = self._shown
        if shown is None or self._panel_blocked():
            return False
        with self._panel_lock:
            if self._shown is not shown:
                return False
            hand = hand if hand in shown.rays else shown.active
            shown.active = hand
            choice = shown.hover.get(hand, (None, None))[0]
            if choice is None or shown.pictures[shown.index] is None:  # nothing to see yet: nothing to answer
                return False
            item = shown.items[shown.index]
            value = choices(item)[choice][1]
            shown.answered += 1
            shown.index += 1
            done = shown.index >= len(shown.items)
            if done:
                self._shown = None
            else:
                shown.settle()
        self.emit(
            "questionnaire.answered",
            {
                "instrument": item["instrument"],
                "item": item["item"],
                "phase": shown.phase,
                "value": value,
                "by": "headset",
                "source": "headset",
            },
        )
        if done:
            self._closed(shown, "answered")
        return True

    def panel_frame(self, calm: float) -> PanelFrame | None:
        """What to draw this display frame (None: no panel); ``calm`` is the calm scene's mix (it fades the
        panel out under a welfare stop)."""
        shown = self._shown
        if shown is None or calm >= 0.999:  # under a stop it fades out with the calm scene's fade in
            return None
        with self._panel_lock:
            image = shown.pictures[shown.index] if shown.index < len(shown.pictures) else None
            if image is None:  # its picture is still being drawn (tens of milliseconds after show)
                return None
            lay, placement = shown.layout, shown.placement
            rays, highlight, cursor = [], None, None
            for hand, (origin, direction) in shown.rays.items():
                choice, hit = shown.hover.get(hand, (None, None))
                end = hit if hit is not None else tuple(o + 3.0 * d for o, d in zip(origin, direction))
                if hand == shown.active:
                    rays.append((origin, end))
                    cursor = hit
                    if choice is not None:
                        highlight = lay.uv_box(choice)
            return PanelFrame(
                key=(shown.serial, shown.index),
                image=image,
                placement=placement,
                alpha=1.0 - calm,
                highlight=highlight,
                rays=tuple(rays),
                cursor=cursor,
            )

    def questionnaire_status(self) -> dict[str, Any]:
        """For ``status``: the item shown and what each hand points at (choice index or None)."""
        shown = self._shown
        if shown is None:
            return {}
        with self._panel_lock:
            item = shown.items[min(shown.index, len(shown.items) - 1)]
            return {
                "questionnaire": {
                    "phase": shown.phase,
                    "index": shown.index,
                    "count": len(shown.items),
                    "instrument": item["instrument"],
                    "item": item["item"],
                    "heading": round(shown.heading, 2),
                    "hidden": self._panel_blocked(),
                    "drawn": shown.index < len(shown.pictures) and shown.pictures[shown.index] is not None,
                    "pointing": {hand: hover[0] for hand, hover in shown.hover.items()},
                }
            }
