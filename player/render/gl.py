"""PyOpenGL's GL namespace, imported only after the platform is chosen (see glplatform.py)."""

from player.render.glplatform import ensure_platform

ensure_platform()

from OpenGL import GL  # noqa: E402

__all__ = ["GL"]
