"""OpenGL renderer: YUV plane textures, per-pixel equirect projection, head-locked overlays.

See docs/renderer.md.

Importing this package chooses PyOpenGL's platform first (EGL on Linux unless ``PYOPENGL_PLATFORM`` is set).
"""

from player.render.glplatform import ensure_platform

ensure_platform()

from player.render.overlay import OverlayAnimator, OverlayState  # noqa: E402
from player.render.renderer import Renderer, eye_region  # noqa: E402

__all__ = ["OverlayAnimator", "OverlayState", "Renderer", "eye_region"]
