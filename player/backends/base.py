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
    """Input and lifecycle from a backend.

    Kinds: key, look, recentre, break_request, focus_lost, focus_gained, headset_off, exit, and
    backend-specific lifecycle notices (runtime_lost, runtime_restored, space_changed, input_profile).
    """

    kind: str
    data: dict = field(default_factory=dict)


class Backend(Protocol):
    name: str

    def open(self) -> None:
        """Create the GL context (current on the calling thread) and whatever the output needs."""

    def begin_frame(self) -> FrameInfo | None:
        """Wait for the next display frame; None when the backend has finished (window closed, ended)."""

    def end_frame(self, info: FrameInfo) -> None:
        """Present or submit what was drawn into info.targets."""

    def poll_events(self) -> list[BackendEvent]:
        """Input and lifecycle events since the last call."""

    def close(self) -> None: ...
