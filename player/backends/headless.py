"""Headless backend: an offscreen EGL context, two eyes rendered into framebuffers, a simulated display.

Eye poses come from an orientation source (a head script driven by media time, or fixed); the display is
simulated at ``display_rate`` Hz (paced in real time) or, with ``paced=False``, as fast as frames render.
"""

from __future__ import annotations

import queue
import time
from collections.abc import Callable

from player.backends.base import BackendEvent, BackendOptions, EyeView, FrameInfo, RenderTarget
from player.backends.scripted import ScriptedEyes
from player.render.glplatform import core_profile_hints, ensure_platform
from player.render.projection import IDENTITY, Quat, symmetric_fov

ensure_platform()

from OpenGL import GL  # noqa: E402


class HeadlessBackend(ScriptedEyes):
    name = "headless"

    def __init__(
        self,
        eye_size: tuple[int, int] = (256, 256),
        fov: float = 90.0,
        display_rate: float = 60.0,
        eyes: int = 2,
        paced: bool = True,
        orientation_source: Callable[[float], Quat] | None = None,
        srgb: bool = False,
    ) -> None:
        width, height = eye_size
        if width <= 0 or height <= 0:
            raise ValueError(f"eye size {width}x{height}: expected positive width and height")
        if not 1.0 <= fov < 180.0:
            raise ValueError(f"fov {fov:g}: expected degrees between 1 and 180")
        if not 0 < display_rate <= 1000:  # NaN fails this too
            raise ValueError(f"display rate {display_rate:g}: expected Hz, more than 0 and at most 1000")
        self.eye_size = (int(width), int(height))
        self.fov = symmetric_fov(fov, width, height)
        self.period = 1.0 / display_rate
        self.eyes = eyes
        self.paced = paced
        self.srgb = srgb
        self.orientation_source = orientation_source
        self._media_t = 0.0
        self.frames = 0
        self.missed = 0
        self._events: queue.SimpleQueue[BackendEvent] = queue.SimpleQueue()
        self._context = None
        self._targets: list = []
        self._next: float | None = None
        self._closed = False

    @classmethod
    def from_options(cls, options: BackendOptions) -> HeadlessBackend:
        size = options.eye_size or (256, 256)
        return cls(eye_size=size, fov=options.fov, display_rate=options.display_rate)

    def describe(self) -> dict:
        rate = round(1 / self.period, 3)
        return {"backend": self.name, "eye_size": list(self.eye_size), "display_rate": rate}

    def open(self) -> None:
        from player.render.targets import OffscreenTarget

        self._context = _offscreen_context()
        self._targets = [OffscreenTarget(*self.eye_size, srgb=self.srgb) for _ in range(self.eyes)]

    @property
    def gl_renderer(self) -> str:
        raw = GL.glGetString(GL.GL_RENDERER) or b""
        return raw.decode(errors="replace")

    def begin_frame(self) -> FrameInfo | None:
        if self._closed:
            return None
        now = time.monotonic()
        if self.paced:
            if self._next is None:
                self._next = now
            elif now < self._next:
                time.sleep(self._next - now)
                now = self._next
            elif now > self._next + self.period:
                self.missed += int((now - self._next) / self.period)
                self._next = now
            display_time = self._next
            self._next += self.period
        else:
            display_time = now
        source = self.orientation_source
        orientation = source(self._media_t) if source is not None else IDENTITY
        views = [EyeView(orientation, self.fov) for _ in self._targets]
        targets: list[RenderTarget] = [t.target for t in self._targets]
        return FrameInfo(display_time=display_time, views=views, targets=targets)

    def end_frame(self, info: FrameInfo) -> None:
        GL.glFinish()
        self.frames += 1

    def inject(self, kind: str, **data: object) -> None:
        """Queue an input event as if a viewer had given it (scripted QA, tests)."""
        self._events.put(BackendEvent(kind, dict(data)))

    def poll_events(self) -> list[BackendEvent]:
        events = []
        while True:
            try:
                events.append(self._events.get_nowait())
            except queue.Empty:
                return events

    def close(self) -> None:
        self._closed = True
        for target in self._targets:
            target.delete()
        self._targets = []
        if self._context is not None:
            self._context.close()
            self._context = None


class _HiddenWindowContext:
    """An invisible glfw window's context: the fallback where EGL is missing (Windows, macOS)."""

    def __init__(self) -> None:
        import glfw

        glfw.ERROR_REPORTING = "log"
        if not glfw.init():
            raise RuntimeError("glfw could not initialise")
        glfw.window_hint(glfw.VISIBLE, False)
        core_profile_hints(glfw)
        self._glfw = glfw
        self.window = glfw.create_window(16, 16, "viewpoint-headless", None, None)
        if not self.window:
            glfw.terminate()
            raise RuntimeError("could not create a hidden OpenGL 3.3 window")
        glfw.make_context_current(self.window)
        self.platform = "hidden-window"

    def close(self) -> None:
        if self.window is not None:
            self._glfw.destroy_window(self.window)
            self._glfw.terminate()
            self.window = None


def _offscreen_context():
    """EGL (surfaceless or device) where the platform has it, else a hidden window."""
    try:
        from player.render.egl import EGLContext

        return EGLContext()
    except Exception as exc:  # EGLError, or PyOpenGL bound to another platform (GLX, WGL) without EGL
        egl_problem = str(exc) or type(exc).__name__
    try:
        return _HiddenWindowContext()
    except Exception as exc:
        raise RuntimeError(f"no offscreen OpenGL context: EGL: {egl_problem}; hidden window: {exc}") from None
