"""What the renderer draws for and into: an eye's view and a render target (backends make them)."""

from __future__ import annotations

from dataclasses import dataclass

from player.render.projection import Quat

Fov = tuple[float, float, float, float]  # (angle_left, angle_right, angle_up, angle_down) in radians


@dataclass(frozen=True, slots=True)
class EyeView:
    orientation: Quat
    fov: Fov
    # where the eye is relative to the head's centre, metres (OpenXR views): the film at infinity ignores it;
    # near things (the headset questionnaire's panel) use it so that each eye sees them from its own place
    offset: tuple[float, float, float] = (0.0, 0.0, 0.0)


@dataclass(frozen=True, slots=True)
class RenderTarget:
    framebuffer: int
    width: int
    height: int
    srgb: bool = False
    x: int = 0  # left edge within the framebuffer (both eyes side by side in one image)
