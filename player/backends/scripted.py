"""What the desktop and headless backends share: eye poses from an orientation source (a head script driven
by media time), and eye images drawn into offscreen targets that can be read back."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from player.backends.base import Backend, EyeView, FrameInfo
from player.render.projection import Quat


class ScriptedEyes(Backend):
    """Base of the headless and desktop backends: they set ``orientation_source``, ``_media_t`` and
    ``_targets`` (`OffscreenTarget`s); head scripts and snapshots work on both."""

    orientation_source: Callable[[float], Quat] | None
    _media_t: float
    _targets: list

    def head_script_problem(self) -> str | None:
        return None

    def snapshot_problem(self) -> str | None:
        return None

    def set_orientation_source(self, source: Callable[[float], Quat] | None) -> None:
        """``source(media_t)`` gives the head pose for a media time (a head script); None gives the backend's
        own pose back (the mouse in a window, straight ahead headless)."""
        self.orientation_source = source

    def update_views(self, info: FrameInfo, media_t: float) -> None:
        """A scripted head follows the picture: re-pose the views for the media time of the frame shown."""
        self._media_t = media_t
        if self.orientation_source is not None:
            q = self.orientation_source(media_t)
            info.views = [EyeView(q, view.fov) for view in info.views]

    def read_eye(self, index: int) -> np.ndarray:
        """The last image drawn for an eye: (height, width, 3) uint8, top row first."""
        return self._targets[index].read_rgb()
