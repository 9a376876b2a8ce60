"""PyOpenGL's GL namespace, imported only after the platform is chosen (see glplatform.py)."""

from player.render.glplatform import configure_gl_checks, ensure_platform

ensure_platform()

from OpenGL import GL  # noqa: E402

configure_gl_checks()  # per-call error checks only under tests or VIEWPOINT_GL_CHECKS=1 (glplatform.py)

# The bare entry point, for a per-frame upload from a preallocated ``(ctypes.c_float * 9)`` array: PyOpenGL's
# wrapper converts and size-checks its argument on every call, which costs more than the call itself.
from OpenGL.raw.GL.VERSION.GL_2_0 import glUniformMatrix3fv as raw_uniform_matrix3fv  # noqa: E402

__all__ = ["GL", "raw_uniform_matrix3fv"]
