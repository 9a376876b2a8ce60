"""What every output backend gives the playback loop: eye views, render targets, a display clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from player.render.projection import Quat  # (x, y, z, w), OpenXR conventions: +Y up, -Z forward, +X right
from player.render.views import EyeView, Fov, RenderTarget

__all__ = ["Backend", "BackendEvent", "BackendOptions", "EyeView", "Fov", "FrameInfo", "Quat", "RenderTarget"]


@dataclass(slots=True)
class FrameInfo:
    """One display frame: when it will be seen (time.monotonic seconds) and what to draw into."""

    display_time: float
    views: list[EyeView]
    targets: list[RenderTarget]
    should_render: bool = True
    backend_data: object = None
    # controllers' aim rays for the headset questionnaire: {hand: (origin, direction)}, head-centred app space
    rays: dict | None = None


@dataclass(frozen=True, slots=True)
class BackendEvent:
    """Input and lifecycle from a backend; ``player.app.PlaybackLoop.handle`` takes every kind:

    - ``key`` (key: space, left, right, up, down; desktop): pause/play, seek.
    - ``look`` (heading, pitch; desktop mouse): ignored on purpose, the frame's views already carry it.
    - ``recentre`` (source, hand): the viewer's recentre button -> ``viewer.recentre``.
    - ``break_request`` (source, hand): "I need a break" -> ``viewer.break_request``, paused and held.
    - ``focus_lost`` (reason: session_state, user_absent, runtime_lost; state): system menu, another app,
      the runtime gone -> ``viewer.focus_lost``, paused and held.
    - ``headset_off`` (reason): the headset was taken off -> ``viewer.headset_off``, paused and held.
    - ``focus_gained`` (reason, state): focus back -> ``viewer.focus_gained`` (nothing resumes by itself),
      except that the first one starts playback when the backend ``starts_when_focused``.
    - ``exit`` (reason): the viewer or the runtime ended the output; the loop ends.
    - ``runtime_lost`` (reason) / ``runtime_restored`` (runtime): the OpenXR runtime or session went away /
      was recreated -> ``runtime.lost`` / ``runtime.restored``.
    - ``space_changed`` (source): the runtime moved the reference space (a system recentre; nothing to
      undo) -> ``runtime.space_changed``.
    - ``input_profile`` (left, right): the interaction profile bound for each hand ->
      ``viewer.input_profile``.
    - ``select`` (source, hand): the trigger -> answers the headset questionnaire's choice that hand's ray
      (``FrameInfo.rays``) points at.

    A kind the loop does not know is logged (debug) and ignored: a newer backend with an older loop.
    """

    kind: str
    data: dict = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class BackendOptions:
    """What the play command (player/compose.py) gives every backend's ``from_options``; each takes what it
    uses. ``eye_size`` None: the backend's own default."""

    eye_size: tuple[int, int] | None = None
    fov: float = 90.0
    display_rate: float = 60.0
    eyes: str = "both"  # desktop: "both" or "left"
    layer: str = "auto"  # openxr: auto, projection, equirect2, equirect
    graphics: str = "auto"  # openxr: auto, egl, glx, wgl
    render_scale: float = 1.0  # openxr: times the runtime's recommended eye size
    projection: str = "equirect360"
    stereo: str = "mono"
    front_heading: float = 0.0
    film_fps: float | None = None  # openxr: the display refresh rate is matched to it where the runtime can
    snapshots: bool = False  # the eye images will be read back (--snapshot-at)


class Backend:
    """Where the pixels go (hello_xr's ``IGraphicsPlugin``): one base class every backend derives from.

    Four methods are required (``open``, ``begin_frame``, ``end_frame``, ``close``); every optional capability
    is declared here with its default, so the playback loop calls it without probing. A new backend is one
    module with a subclass and one line in ``player.backends.BACKENDS``.
    """

    name: ClassVar[str] = "backend"
    # True: the playback loop keeps the film loaded and paused (first frame shown) until the first
    # focus_gained while ``focused``, then starts it (OpenXR: the runtime may take seconds to reach FOCUSED).
    starts_when_focused: bool = False
    # Set by the playback loop while the headset questionnaire shows: the backend then fills FrameInfo.rays.
    aim_wanted: bool = False
    # How many eye images the backend shows (and read_eye can give back).
    eyes: int = 2
    # Why begin_frame returned None ("viewer": the window was closed; OpenXR: requested, viewer,
    # runtime_lost); empty: the loop reports "backend".
    finish_reason: str = ""

    @classmethod
    def from_options(cls, options: BackendOptions) -> Backend:
        """The backend made from the play command's options (nothing is opened yet)."""
        raise NotImplementedError(f"{cls.__name__}.from_options")

    # -- required ---------------------------------------------------------------------------------------
    def open(self) -> None:
        """Create the GL context (current on the calling thread) and whatever the output needs."""
        raise NotImplementedError

    def begin_frame(self) -> FrameInfo | None:
        """Wait for the next display frame; None when the backend has finished (window closed, ended)."""
        raise NotImplementedError

    def end_frame(self, info: FrameInfo) -> None:
        """Present or submit what was drawn into info.targets."""
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    # -- optional, with defaults --------------------------------------------------------------------------
    def poll_events(self) -> list[BackendEvent]:
        """Input and lifecycle events since the last call (default: none)."""
        return []

    @property
    def focused(self) -> bool:
        """Whether the viewer's output has focus now (default: always)."""
        return True

    def head_script_problem(self) -> str | None:
        """None when ``set_orientation_source`` drives the eyes (a head script); else why it cannot."""
        return f"the {self.name} backend takes the head pose from the headset; --head-script is not used"

    def set_orientation_source(self, source: Callable[[float], Quat] | None) -> None:
        """``source(media_t)`` gives the head pose for a media time (see head_script_problem)."""
        raise NotImplementedError(self.head_script_problem() or "set_orientation_source")

    def update_views(self, info: FrameInfo, media_t: float) -> None:
        """Re-pose ``info.views`` for the media time of the picture shown (default: nothing to do)."""

    def draw_film(self, renderer: object, overlay: object = None) -> bool:
        """Draw the film the backend's own way (OpenXR equirect layers) and return True, or return False
        (the default) for the loop to draw the eyes with ``renderer.draw_eyes``."""
        return False

    def snapshot_problem(self) -> str | None:
        """None when ``read_eye`` can give the eye images back (``--snapshot-at``); else why it cannot."""
        return f"the {self.name} backend cannot read its eye images back"

    def read_eye(self, index: int) -> np.ndarray:
        """The image just drawn for eye ``index`` (between drawing and ``end_frame``): (height, width, 3)
        uint8, top row first."""
        raise NotImplementedError(self.snapshot_problem() or "read_eye")

    def frame_report(self) -> dict:
        """What the backend adds to the play report (display rate, layer, ...); default nothing."""
        return {}

    def describe(self) -> dict:
        """What the backend is using, for logs and the doctor."""
        return {"backend": self.name}
