"""Choose PyOpenGL's platform before OpenGL is first imported (PyOpenGL decides once per process).

On Linux the player uses EGL everywhere it can: surfaceless or device EGL for headless rendering, and glfw
windows created through EGL for the desktop preview, so one process can use both. An explicit
``PYOPENGL_PLATFORM`` in the environment always wins (the OpenXR backend may need GLX). Windows and macOS
keep PyOpenGL's native default (WGL, CGL).
"""

from __future__ import annotations

import os
import sys


def ensure_platform() -> str:
    """Set ``PYOPENGL_PLATFORM`` if nobody has, and return the platform PyOpenGL will use."""
    if "OpenGL.platform" in sys.modules:
        from OpenGL import platform as gl_platform

        name = type(gl_platform.PLATFORM).__module__.rsplit(".", 1)[-1]
        names = {"egl": "egl", "glx": "glx", "win32": "wgl", "darwin": "cgl", "osmesa": "osmesa"}
        return names.get(name, name)
    if sys.platform.startswith("linux"):
        os.environ.setdefault("PYOPENGL_PLATFORM", "egl")
        return os.environ["PYOPENGL_PLATFORM"]
    return os.environ.get("PYOPENGL_PLATFORM", "wgl" if sys.platform == "win32" else "cgl")


def uses_egl() -> bool:
    return ensure_platform() == "egl"


def core_profile_hints(glfw) -> None:
    """glfw window hints for the renderer's context: OpenGL 3.3 core, forward compatible."""
    glfw.window_hint(glfw.CONTEXT_VERSION_MAJOR, 3)
    glfw.window_hint(glfw.CONTEXT_VERSION_MINOR, 3)
    glfw.window_hint(glfw.OPENGL_PROFILE, glfw.OPENGL_CORE_PROFILE)
    glfw.window_hint(glfw.OPENGL_FORWARD_COMPAT, True)
