"""OpenGL contexts the runtime can use: EGL (XR_MNDX_egl_enable), GLX (hidden glfw window), WGL (Windows).

Note: pyopenxr switches PyOpenGL to its GLX platform on Linux when imported; GL entry points then come from
libGL (glvnd), which dispatches to whichever context is current, EGL or GLX, so both bindings work.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys
from dataclasses import dataclass

from .errors import XrSetupError
from .runtime import EGL

CHOICES = ("auto", "egl", "glx", "wgl")


def plan_graphics(requested: str = "auto") -> str:
    """Decide the binding family ("egl", "glx", "wgl") from the request and the platform."""
    if requested not in CHOICES:
        raise XrSetupError(f"--graphics {requested!r} is not known.", f"Use one of: {', '.join(CHOICES)}.")
    if requested == "auto":
        if sys.platform == "win32":
            requested = "wgl"
        elif os.environ.get("DISPLAY"):
            requested = "glx"  # every desktop runtime takes GLX on X11/XWayland
        else:
            requested = "egl"  # headless or pure Wayland: only runtimes with XR_MNDX_egl_enable (Monado)
    if requested == "egl" and not os.environ.get("DISPLAY"):
        os.environ.setdefault("EGL_PLATFORM", "surfaceless")
    return requested


@dataclass
class GlBinding:
    """A current OpenGL context and the XrGraphicsBinding* structure describing it to the runtime."""

    name: str
    binding: object
    _make_current: object
    _close: object
    renderer: str = ""
    version: str = ""

    def make_current(self) -> None:
        self._make_current()  # type: ignore[operator]

    def close(self) -> None:
        try:
            self._close()  # type: ignore[operator]
        except Exception:
            pass


def _gl_strings() -> tuple[str, str]:
    from OpenGL import GL

    def s(v: object) -> str:
        return v.decode() if isinstance(v, bytes) else str(v)

    return s(GL.glGetString(GL.GL_RENDERER)), s(GL.glGetString(GL.GL_VERSION))


def _egl_binding(gl_version: tuple[int, int]) -> GlBinding:
    import xr
    from OpenGL import EGL as E

    if not ctypes.util.find_library("EGL"):
        raise XrSetupError("libEGL is not installed.", "Install the Mesa or vendor EGL driver (libegl1).")
    dpy = E.eglGetDisplay(E.EGL_DEFAULT_DISPLAY)
    major, minor = E.EGLint(), E.EGLint()
    if not dpy or not E.eglInitialize(dpy, ctypes.byref(major), ctypes.byref(minor)):
        raise XrSetupError("EGL could not open a display.", "Check the graphics driver (try --graphics glx).")
    attrs = [
        E.EGL_RENDERABLE_TYPE,
        E.EGL_OPENGL_BIT,
        E.EGL_SURFACE_TYPE,
        E.EGL_PBUFFER_BIT,
        E.EGL_RED_SIZE,
        8,
        E.EGL_GREEN_SIZE,
        8,
        E.EGL_BLUE_SIZE,
        8,
        E.EGL_NONE,
    ]
    configs, count = (E.EGLConfig * 1)(), E.EGLint()
    if not E.eglChooseConfig(dpy, attrs, configs, 1, ctypes.byref(count)) or count.value < 1:
        raise XrSetupError("EGL offers no OpenGL configuration.", "Update the graphics driver.")
    E.eglBindAPI(E.EGL_OPENGL_API)
    ctx_attrs = [
        E.EGL_CONTEXT_MAJOR_VERSION,
        gl_version[0],
        E.EGL_CONTEXT_MINOR_VERSION,
        gl_version[1],
        E.EGL_CONTEXT_OPENGL_PROFILE_MASK,
        E.EGL_CONTEXT_OPENGL_CORE_PROFILE_BIT,
        E.EGL_NONE,
    ]
    ctx = E.eglCreateContext(dpy, configs[0], E.EGL_NO_CONTEXT, ctx_attrs)
    if not ctx:
        raise XrSetupError(
            f"EGL could not create an OpenGL {gl_version[0]}.{gl_version[1]} core context.",
            "Update the graphics driver (Mesa 21 or newer, or the vendor driver).",
        )
    surf = E.eglCreatePbufferSurface(dpy, configs[0], [E.EGL_WIDTH, 16, E.EGL_HEIGHT, 16, E.EGL_NONE])

    def make_current() -> None:
        E.eglMakeCurrent(dpy, surf, surf, ctx)

    def close() -> None:
        E.eglMakeCurrent(dpy, E.EGL_NO_SURFACE, E.EGL_NO_SURFACE, E.EGL_NO_CONTEXT)
        E.eglDestroySurface(dpy, surf)
        E.eglDestroyContext(dpy, ctx)

    make_current()
    binding = xr.GraphicsBindingEGLMNDX(
        get_proc_address=ctypes.cast(E.eglGetProcAddress.load(), xr.PFN_xrEglGetProcAddressMNDX),
        display=dpy,
        config=configs[0],
        context=ctx,
    )
    return GlBinding("egl", binding, make_current, close, *_gl_strings())


def _glfw_window(gl_version: tuple[int, int]):
    import glfw

    if not glfw.init():
        raise XrSetupError(
            "No window system to create an OpenGL context (glfw could not start).",
            "Update the graphics driver."
            if sys.platform == "win32"
            else "Run on a desktop session (or set DISPLAY), or use --graphics egl with a runtime "
            "that offers XR_MNDX_egl_enable (Monado).",
        )
    glfw.window_hint(glfw.VISIBLE, glfw.FALSE)
    glfw.window_hint(glfw.CONTEXT_VERSION_MAJOR, gl_version[0])
    glfw.window_hint(glfw.CONTEXT_VERSION_MINOR, gl_version[1])
    glfw.window_hint(glfw.OPENGL_PROFILE, glfw.OPENGL_CORE_PROFILE)
    glfw.window_hint(glfw.OPENGL_FORWARD_COMPAT, glfw.TRUE)
    glfw.window_hint(glfw.DOUBLEBUFFER, glfw.FALSE)
    win = glfw.create_window(64, 64, "Viewpoint (OpenXR)", None, None)
    if not win:
        glfw.terminate()
        raise XrSetupError(
            f"Could not create an OpenGL {gl_version[0]}.{gl_version[1]} core context.",
            "Update the graphics driver; the headset's graphics card needs OpenGL 3.3 or newer.",
        )
    glfw.make_context_current(win)
    glfw.swap_interval(0)

    def make_current() -> None:
        glfw.make_context_current(win)

    def close() -> None:
        glfw.destroy_window(win)
        glfw.terminate()

    return make_current, close


def _glx_binding(gl_version: tuple[int, int]) -> GlBinding:
    import xr

    if not os.environ.get("DISPLAY"):
        raise XrSetupError(
            "The GLX binding needs an X display, and DISPLAY is not set.",
            "Run from the desktop session, or use --graphics egl (Monado offers XR_MNDX_egl_enable).",
        )
    make_current, close = _glfw_window(gl_version)
    from OpenGL import GLX

    binding = xr.GraphicsBindingOpenGLXlibKHR(
        x_display=GLX.glXGetCurrentDisplay(),
        glx_drawable=GLX.glXGetCurrentDrawable(),
        glx_context=GLX.glXGetCurrentContext(),
    )
    return GlBinding("glx", binding, make_current, close, *_gl_strings())


def _wgl_binding(gl_version: tuple[int, int]) -> GlBinding:
    import xr

    make_current, close = _glfw_window(gl_version)
    from OpenGL import WGL

    binding = xr.GraphicsBindingOpenGLWin32KHR(h_dc=WGL.wglGetCurrentDC(), h_glrc=WGL.wglGetCurrentContext())
    return GlBinding("wgl", binding, make_current, close, *_gl_strings())


def create_binding(name: str, extensions: list[str], gl_version: tuple[int, int] = (3, 3)) -> GlBinding:
    """Create the context for binding `name` ("egl", "glx", "wgl"); XrSetupError says why it cannot."""
    if name == "egl":
        if EGL not in extensions:
            raise XrSetupError(
                "This OpenXR runtime does not offer XR_MNDX_egl_enable, so the EGL binding cannot be used.",
                "Use --graphics glx on Linux desktops (SteamVR, WiVRn/ALVR) or --graphics wgl on Windows.",
            )
        return _egl_binding(gl_version)
    if name == "glx":
        if sys.platform == "win32":
            raise XrSetupError("GLX does not exist on Windows.", "Use --graphics wgl (or auto).")
        return _glx_binding(gl_version)
    if name == "wgl":
        if sys.platform != "win32":
            raise XrSetupError("WGL only exists on Windows.", "Use --graphics egl or glx (or auto).")
        return _wgl_binding(gl_version)
    raise XrSetupError(f"--graphics {name!r} is not known.", f"Use one of: {', '.join(CHOICES)}.")


def gl_version_for(min_version: object) -> tuple[int, int]:
    """The context version to ask for: OpenGL 3.3 or the runtime's minimum, whichever is higher."""
    if hasattr(min_version, "major"):
        major, minor = min_version.major, min_version.minor
    else:
        value = int(min_version)  # XrVersion: major 16 bits, minor 16 bits, patch 32 bits
        major, minor = (value >> 48) & 0xFFFF, (value >> 32) & 0xFFFF
    return max((3, 3), (int(major), int(minor)))
