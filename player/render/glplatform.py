"""Choose PyOpenGL's platform before OpenGL is first imported (PyOpenGL decides once per process).

On Linux the player uses EGL everywhere it can: surfaceless or device EGL for headless rendering, and glfw
windows created through EGL for the desktop preview, so one process can use both. An explicit
``PYOPENGL_PLATFORM`` in the environment always wins (the OpenXR backend may need GLX). Windows and macOS
keep PyOpenGL's native default (WGL, CGL).

GL error checks (``VIEWPOINT_GL_CHECKS``): PyOpenGL calls ``glGetError`` after every GL call and raises on an
error. That costs a driver round trip per call on the render thread, so the player turns it off unless
``VIEWPOINT_GL_CHECKS=1`` or it runs under pytest (``PYTEST_CURRENT_TEST``, which pytest also passes to the
players it starts); ``VIEWPOINT_GL_CHECKS=0`` turns it off under pytest too. Shader compile/link status and
framebuffer completeness are always checked explicitly. Only GL calls are affected: EGL/GLX/WGL keep their
checks (PyOpenGL's global ``OpenGL.ERROR_CHECKING = False`` would also drop those, and breaks
``OpenGL.EGL`` in PyOpenGL 3.1.10).
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


def gl_checks_wanted() -> bool:
    """Whether GL calls should be error-checked one by one (see the module docstring)."""
    setting = os.environ.get("VIEWPOINT_GL_CHECKS", "").strip().lower()
    if setting in ("1", "true", "yes", "on"):
        return True
    if setting in ("0", "false", "no", "off"):
        return False
    return "PYTEST_CURRENT_TEST" in os.environ or "pytest" in sys.modules


def configure_gl_checks(enabled: bool | None = None) -> bool:
    """Turn PyOpenGL's per-call GL error check on or off (default: `gl_checks_wanted()`); returns the state.

    Call after ``OpenGL.GL`` is imported; it can be called again to switch (e.g. around a suspect section).
    """
    if enabled is None:
        enabled = gl_checks_wanted()
    from OpenGL.raw.GL import _errors

    checker = _errors._error_checker
    if not checker:  # PyOpenGL was imported with ERROR_CHECKING off: nothing to switch
        return False
    if not hasattr(checker, "_viewpoint_checker"):
        checker._viewpoint_checker = checker._registeredChecker
    active = checker._viewpoint_checker if enabled else checker.nullGetError
    checker._registeredChecker = checker._currentChecker = active
    return enabled


def gl_checks_enabled() -> bool:
    """Whether GL calls are being error-checked now."""
    from OpenGL.raw.GL import _errors

    checker = _errors._error_checker
    return bool(checker) and checker._currentChecker != checker.nullGetError


def uses_egl() -> bool:
    return ensure_platform() == "egl"


def core_profile_hints(glfw) -> None:
    """glfw window hints for the renderer's context: OpenGL 3.3 core, forward compatible."""
    glfw.window_hint(glfw.CONTEXT_VERSION_MAJOR, 3)
    glfw.window_hint(glfw.CONTEXT_VERSION_MINOR, 3)
    glfw.window_hint(glfw.OPENGL_PROFILE, glfw.OPENGL_CORE_PROFILE)
    glfw.window_hint(glfw.OPENGL_FORWARD_COMPAT, True)
