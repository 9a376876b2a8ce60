"""OpenGL renderer: YUV plane textures, per-pixel equirect projection, head-locked overlays.

See docs/renderer.md. ``Renderer`` is imported lazily: the overlay, projection and subtitle modules (used by
the controller) do not load OpenGL. Importing anything that does chooses PyOpenGL's platform first (EGL on
Linux unless ``PYOPENGL_PLATFORM`` is set; ``glplatform.py``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from player.render.overlay import OverlayAnimator, OverlayState

if TYPE_CHECKING:
    from player.render.renderer import Renderer, eye_region


def __getattr__(name: str):
    if name in ("Renderer", "eye_region"):
        from player.render import renderer

        return getattr(renderer, name)
    raise AttributeError(f"module 'player.render' has no attribute {name!r}")


__all__ = ["OverlayAnimator", "OverlayState", "Renderer", "eye_region"]
