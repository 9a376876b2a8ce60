"""Desktop preview: a glfw window showing one eye or both side by side.

Mouse drag looks around; space pauses, left/right seek 5 s (up/down 30 s), ``f`` toggles fullscreen, ``r``
recentres, ``b`` asks for a break, Escape or closing the window ends. Eyes are drawn into offscreen targets
and blitted into the window, so the renderer never needs to know about windows. On Linux the window's
context is created through EGL (the same PyOpenGL platform as the headless backend). Window focus is not
reported as the viewer's focus: a facilitator switching windows must not pause the film.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from player.backends.base import BackendEvent, BackendOptions, EyeView, FrameInfo
from player.backends.scripted import ScriptedEyes
from player.render.glplatform import core_profile_hints, ensure_platform
from player.render.projection import Quat, head_orientation, symmetric_fov

PLATFORM = ensure_platform()

import glfw  # noqa: E402
from OpenGL import GL  # noqa: E402

glfw.ERROR_REPORTING = "log"  # glfw's errors go to logging; open() turns a failure into a plain message

DRAG_DEG_PER_PX = 0.25
MAX_WINDOW_WIDTH = 1600


class DesktopBackend(ScriptedEyes):
    name = "desktop"

    def __init__(
        self,
        eye_size: tuple[int, int] = (640, 640),
        fov: float = 90.0,
        eyes: str = "both",
        title: str = "Viewpoint",
        vsync: bool = True,
        orientation_source: Callable[[float], Quat] | None = None,
    ) -> None:
        if eyes not in ("both", "left"):
            raise ValueError(f"eyes {eyes!r}: expected 'both' or 'left'")
        self.eye_size = (int(eye_size[0]), int(eye_size[1]))
        self.fov = symmetric_fov(fov, *self.eye_size)
        self.eyes = 2 if eyes == "both" else 1
        self.title = title
        self.vsync = vsync
        self.orientation_source = orientation_source
        self._media_t = 0.0
        self.heading = 0.0
        self.pitch = 0.0
        self.window = None
        self._events: list[BackendEvent] = []
        self._targets: list = []
        self._drag: tuple[float, float] | None = None
        self._windowed_geometry: tuple[int, int, int, int] | None = None
        self._last_swap = 0.0
        self.finish_reason = ""

    @classmethod
    def from_options(cls, options: BackendOptions) -> DesktopBackend:
        return cls(eye_size=options.eye_size or (640, 640), fov=options.fov, eyes=options.eyes)

    # -- lifecycle --------------------------------------------------------------------------------------
    def open(self) -> None:
        from player.render.targets import OffscreenTarget

        if not glfw.init():
            raise RuntimeError(
                "glfw could not initialise: no display? (set DISPLAY, or use --backend headless)"
            )
        core_profile_hints(glfw)
        if PLATFORM == "egl":
            glfw.window_hint(glfw.CONTEXT_CREATION_API, glfw.EGL_CONTEXT_API)
        width, height = self.eye_size[0] * self.eyes, self.eye_size[1]
        if width > MAX_WINDOW_WIDTH:
            height = int(height * MAX_WINDOW_WIDTH / width)
            width = MAX_WINDOW_WIDTH
        self.window = glfw.create_window(width, height, self.title, None, None)
        if not self.window:
            glfw.terminate()
            raise RuntimeError("could not open a window with OpenGL 3.3 core (is the display's GL too old?)")
        glfw.make_context_current(self.window)
        glfw.swap_interval(1 if self.vsync else 0)
        glfw.set_key_callback(self.window, self._on_key)
        glfw.set_mouse_button_callback(self.window, self._on_button)
        glfw.set_cursor_pos_callback(self.window, self._on_cursor)
        self._targets = [OffscreenTarget(*self.eye_size) for _ in range(self.eyes)]

    def close(self) -> None:
        for t in self._targets:
            t.delete()
        self._targets = []
        if self.window is not None:
            glfw.destroy_window(self.window)
            self.window = None
        glfw.terminate()

    # -- frames -----------------------------------------------------------------------------------------
    def begin_frame(self) -> FrameInfo | None:
        # Pace to the monitor where swapping does not block (some X servers, Xvfb): wait here, at the start of
        # the display frame, so that the loop's render time measures drawing, not waiting.
        period = 1.0 / self._refresh_rate()
        wait = self._last_swap + period - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        glfw.poll_events()
        if self.window is None or glfw.window_should_close(self.window):
            self.finish_reason = "viewer"  # the window was closed
            return None
        display_time = time.monotonic() + period
        if self.orientation_source is not None:
            orientation = self.orientation_source(self._media_t)
        else:
            orientation = head_orientation(self.heading, self.pitch)
        views = [EyeView(orientation, self.fov) for _ in self._targets]
        return FrameInfo(
            display_time=display_time,
            views=views,
            targets=[t.target for t in self._targets],
        )

    def end_frame(self, info: FrameInfo) -> None:
        width, height = glfw.get_framebuffer_size(self.window)
        GL.glBindFramebuffer(GL.GL_DRAW_FRAMEBUFFER, 0)
        GL.glViewport(0, 0, width, height)
        GL.glClearColor(0.0, 0.0, 0.0, 1.0)
        GL.glClear(GL.GL_COLOR_BUFFER_BIT)
        n = len(self._targets)
        ew, eh = self.eye_size
        scale = min(width / (ew * n), height / eh) if width and height else 0
        dw, dh = int(ew * scale), int(eh * scale)
        x0, y0 = (width - dw * n) // 2, (height - dh) // 2
        for i, target in enumerate(self._targets):
            GL.glBindFramebuffer(GL.GL_READ_FRAMEBUFFER, target.framebuffer)
            left = x0 + i * dw
            GL.glBlitFramebuffer(
                0, 0, ew, eh, left, y0, left + dw, y0 + dh, GL.GL_COLOR_BUFFER_BIT, GL.GL_LINEAR
            )  # fmt: skip
        GL.glBindFramebuffer(GL.GL_READ_FRAMEBUFFER, 0)
        glfw.swap_buffers(self.window)
        self._last_swap = time.monotonic()

    def _refresh_rate(self) -> float:
        monitor = glfw.get_primary_monitor()
        mode = glfw.get_video_mode(monitor) if monitor else None
        rate = getattr(mode, "refresh_rate", 0) if mode else 0
        return float(rate) if rate and rate > 0 else 60.0

    def poll_events(self) -> list[BackendEvent]:
        events, self._events = self._events, []
        return events

    # -- input ------------------------------------------------------------------------------------------
    def _on_key(self, window, key, scancode, action, mods) -> None:
        if action not in (glfw.PRESS, glfw.REPEAT):
            return
        names = {glfw.KEY_SPACE: "space", glfw.KEY_LEFT: "left", glfw.KEY_RIGHT: "right",
                 glfw.KEY_UP: "up", glfw.KEY_DOWN: "down"}  # fmt: skip
        if key in names and (action == glfw.PRESS or key != glfw.KEY_SPACE):
            self._events.append(BackendEvent("key", {"key": names[key]}))
        elif action != glfw.PRESS:
            return
        elif key == glfw.KEY_F:
            self.toggle_fullscreen()
        elif key == glfw.KEY_R:
            self._events.append(BackendEvent("recentre", {"source": "keyboard"}))
        elif key == glfw.KEY_B:
            self._events.append(BackendEvent("break_request", {"source": "keyboard"}))
        elif key in (glfw.KEY_ESCAPE, glfw.KEY_Q):
            self._events.append(BackendEvent("exit", {}))

    def _on_button(self, window, button, action, mods) -> None:
        if button == glfw.MOUSE_BUTTON_LEFT:
            self._drag = glfw.get_cursor_pos(window) if action == glfw.PRESS else None

    def _on_cursor(self, window, x: float, y: float) -> None:
        if self._drag is None:
            return
        dx, dy = x - self._drag[0], y - self._drag[1]
        self._drag = (x, y)
        # Drag the picture: moving the mouse right turns the view left, as in a photo-sphere viewer.
        self.heading = (self.heading - dx * DRAG_DEG_PER_PX) % 360.0
        self.pitch = max(-89.0, min(89.0, self.pitch + dy * DRAG_DEG_PER_PX))
        self._events.append(BackendEvent("look", {"heading": self.heading, "pitch": self.pitch}))

    def toggle_fullscreen(self) -> None:
        monitor = glfw.get_window_monitor(self.window)
        if monitor:
            x, y, w, h = self._windowed_geometry or (80, 80, *self.eye_size)
            glfw.set_window_monitor(self.window, None, x, y, w, h, 0)
            return
        primary = glfw.get_primary_monitor()
        if not primary:
            return
        x, y = glfw.get_window_pos(self.window)
        w, h = glfw.get_window_size(self.window)
        self._windowed_geometry = (x, y, w, h)
        mode = glfw.get_video_mode(primary)
        glfw.set_window_monitor(
            self.window, primary, 0, 0, mode.size.width, mode.size.height, mode.refresh_rate
        )
