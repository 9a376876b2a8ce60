"""An offscreen OpenGL 3.3 core context through EGL, with no window and no display server.

Display choice, in order: the NVIDIA/Mesa EGL device platform (EGL_EXT_platform_device) when ``device`` is
asked for, Mesa's surfaceless platform (EGL_MESA_platform_surfaceless), then the default display. The context
is made current with no surface (EGL_KHR_surfaceless_context); render into framebuffer objects.
"""

from __future__ import annotations

import ctypes
import os

from player.render.glplatform import ensure_platform

ensure_platform()

from OpenGL import EGL  # noqa: E402

EGL_PLATFORM_DEVICE_EXT = 0x313F
EGL_PLATFORM_SURFACELESS_MESA = 0x31DD


class EGLError(RuntimeError):
    """No offscreen OpenGL context could be made; the message says which step failed and what to install."""


def _client_extensions() -> str:
    try:
        raw = EGL.eglQueryString(EGL.EGL_NO_DISPLAY, EGL.EGL_EXTENSIONS)
    except Exception:
        return ""
    return raw.decode() if isinstance(raw, bytes) else str(raw or "")


def _platform_display(platform: int, native: object) -> object | None:
    try:
        get_display = EGL.eglGetPlatformDisplayEXT
    except AttributeError:
        return None
    try:
        dpy = get_display(platform, native, None)
    except Exception:
        return None
    return dpy if dpy and dpy != EGL.EGL_NO_DISPLAY else None


def _device_display() -> object | None:
    try:
        query = EGL.eglQueryDevicesEXT
    except AttributeError:
        return None
    devices = (EGL.EGLDeviceEXT * 8)()
    count = EGL.EGLint()
    try:
        if not query(8, devices, ctypes.pointer(count)) or count.value == 0:
            return None
    except Exception:
        return None
    for i in range(count.value):
        dpy = _platform_display(EGL_PLATFORM_DEVICE_EXT, devices[i])
        if dpy is not None:
            return dpy
    return None


def _default_display() -> object | None:
    # Without a window system Mesa must be told to go surfaceless, or eglInitialize tries X11 and fails. Set
    # only around this call: child processes (a desktop window) must not inherit it.
    headless = not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    if not headless or "EGL_PLATFORM" in os.environ:
        return EGL.eglGetDisplay(EGL.EGL_DEFAULT_DISPLAY)
    os.environ["EGL_PLATFORM"] = "surfaceless"
    try:
        return EGL.eglGetDisplay(EGL.EGL_DEFAULT_DISPLAY)
    finally:
        del os.environ["EGL_PLATFORM"]


def _reason(exc: Exception) -> str:
    err = getattr(exc, "err", None)
    return str(getattr(err, "name", err)) if err is not None else (str(exc).splitlines() or ["error"])[0]


class EGLContext:
    """Create with ``EGLContext()``; ``make_current()`` on the render thread; ``close()`` when done."""

    def __init__(self, prefer: str = "auto") -> None:
        extensions = _client_extensions()
        candidates = []
        if prefer in ("auto", "device") and "EGL_EXT_platform_device" in extensions:
            candidates.append(("device", _device_display))
        if prefer in ("auto", "surfaceless") and "EGL_MESA_platform_surfaceless" in extensions:
            candidates.append(("surfaceless", lambda: _platform_display(EGL_PLATFORM_SURFACELESS_MESA, None)))
        candidates.append(("default", _default_display))
        errors = []
        for name, make in candidates:
            dpy = make()
            if not dpy:
                errors.append(f"{name}: no display")
                continue
            try:
                self._init(dpy)
            except EGLError as exc:
                errors.append(f"{name}: {exc}")
                continue
            self.platform = name
            return
        raise EGLError(
            "no offscreen OpenGL 3.3 context through EGL ("
            + "; ".join(errors)
            + "). On Debian install libegl1 libegl-mesa0 libgl1-mesa-dri libopengl0."
        )

    def _init(self, dpy: object) -> None:
        major, minor = EGL.EGLint(), EGL.EGLint()
        try:
            ok = EGL.eglInitialize(dpy, ctypes.pointer(major), ctypes.pointer(minor))
        except Exception as exc:  # PyOpenGL raises EGLError on failure
            raise EGLError(f"eglInitialize failed ({_reason(exc)})") from None
        if not ok:
            raise EGLError("eglInitialize failed")
        if not EGL.eglBindAPI(EGL.EGL_OPENGL_API):
            EGL.eglTerminate(dpy)
            raise EGLError("eglBindAPI(EGL_OPENGL_API) failed")
        attrs = (EGL.EGLint * 9)(
            EGL.EGL_CONTEXT_MAJOR_VERSION, 3,
            EGL.EGL_CONTEXT_MINOR_VERSION, 3,
            EGL.EGL_CONTEXT_OPENGL_PROFILE_MASK, EGL.EGL_CONTEXT_OPENGL_CORE_PROFILE_BIT,
            EGL.EGL_NONE, 0, 0,
        )  # fmt: skip
        try:
            ctx = EGL.eglCreateContext(dpy, None, EGL.EGL_NO_CONTEXT, attrs)
        except Exception as exc:
            ctx = None
            reason = _reason(exc)
        else:
            reason = "no context"
        if not ctx or ctx == EGL.EGL_NO_CONTEXT:
            EGL.eglTerminate(dpy)
            raise EGLError(f"eglCreateContext for OpenGL 3.3 core failed ({reason})")
        self.display, self.context = dpy, ctx
        self.make_current()

    def make_current(self) -> None:
        if not EGL.eglMakeCurrent(self.display, EGL.EGL_NO_SURFACE, EGL.EGL_NO_SURFACE, self.context):
            raise EGLError("eglMakeCurrent without a surface failed (EGL_KHR_surfaceless_context missing?)")

    def release(self) -> None:
        EGL.eglMakeCurrent(self.display, EGL.EGL_NO_SURFACE, EGL.EGL_NO_SURFACE, EGL.EGL_NO_CONTEXT)

    def close(self) -> None:
        if getattr(self, "context", None) is not None:
            self.release()
            EGL.eglDestroyContext(self.display, self.context)
            self.context = None  # the display stays initialised: other contexts in this process may share it
