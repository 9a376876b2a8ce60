"""What every output backend gives the playback loop: eye views, render targets, a display clock."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

Quat = tuple[float, float, float, float]  # (x, y, z, w), OpenXR conventions: +Y up, -Z forward, +X right
Fov = tuple[float, float, float, float]  # (angle_left, angle_right, angle_up, angle_down) in radians


@dataclass(frozen=True, slots=True)
class EyeView:
    orientation: Quat
    fov: Fov


@dataclass(frozen=True, slots=True)
class RenderTarget:
    framebuffer: int
    width: int
    height: int
    srgb: bool = False


@dataclass(slots=True)
class FrameInfo:
    """One display frame: when it will be seen (time.monotonic seconds) and what to draw into."""

    display_time: float
    views: list[EyeView]
    targets: list[RenderTarget]
    should_render: bool = True
    backend_data: object = None


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

    A kind the loop does not know is logged (debug) and ignored: a newer backend with an older loop.
    """

    kind: str
    data: dict = field(default_factory=dict)


class Backend(Protocol):
    name: str
    # True: the playback loop keeps the film loaded and paused (first frame shown) until the first
    # focus_gained, then starts it (OpenXR: the runtime may take seconds to reach FOCUSED). Optional: a
    # backend without the attribute starts at once.
    starts_when_focused: bool

    def open(self) -> None:
        """Create the GL context (current on the calling thread) and whatever the output needs."""

    def begin_frame(self) -> FrameInfo | None:
        """Wait for the next display frame; None when the backend has finished (window closed, ended)."""

    def end_frame(self, info: FrameInfo) -> None:
        """Present or submit what was drawn into info.targets."""

    def poll_events(self) -> list[BackendEvent]:
        """Input and lifecycle events since the last call."""

    def close(self) -> None: ...
