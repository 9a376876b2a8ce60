"""OpenXRBackend: a real OpenXR session (instance, system, session lifecycle, frame loop, layers, input).

The frame loop is here; connecting and reconnecting are in connection.py, the event queue in
session_events.py, the equirect layer paths in film.py (mixins of this class, sharing its attributes)."""

from __future__ import annotations

import ctypes
import time

import numpy as np

from player.render.panel_layout import forward

from ..base import Backend, BackendEvent, BackendOptions, FrameInfo, RenderTarget
from .actions import ViewerActions
from .calls import failure, int_call
from .capabilities import check_layer_request
from .clock import XrClock
from .connection import XrConnection
from .errors import XrSetupError
from .film import EquirectFilm
from .graphics import GlBinding, plan_graphics
from .layers import EquirectLayer, ProjectionLayer, eye_views
from .runtime import RuntimeInfo
from .session_events import SessionEvents
from .spaces import Spaces, ViewLocator
from .stats import XrFrame, XrStats

ORIENTATION_VALID = 0x1  # XR_VIEW_STATE_ORIENTATION_VALID_BIT (pyopenxr's ViewStateFlags has the same value)

LOST_ERRORS = (
    "InstanceLostError",
    "SessionLostError",
    "SessionLossPending",
    "RuntimeFailureError",
    "HandleInvalidError",
)


class OpenXRBackend(XrConnection, SessionEvents, EquirectFilm, Backend):
    """Puts the film in a headset through the active OpenXR runtime. See docs/openxr.md."""

    name = "openxr"
    # the runtime may take seconds to reach FOCUSED (headset waking, compositor starting, the viewer still
    # putting it on): the playback loop holds the film at its first frame until then (docs/openxr.md)
    starts_when_focused = True

    def __init__(
        self,
        *,
        front_heading: float = 0.0,
        projection: str = "equirect360",
        stereo: str = "mono",
        layer: str = "auto",
        graphics: str = "auto",
        reconnect: bool = True,
        reconnect_interval_s: float = 1.0,
        render_scale: float = 1.0,
        snapshots: bool = False,
        film_fps: float | None = None,
    ) -> None:
        check_layer_request(layer, snapshots)  # an unknown --layer, or equirect with snapshots: refused now
        self.snapshots = snapshots
        self.film_fps = film_fps
        self.graphics = plan_graphics(graphics)
        self.requested_layer = layer
        self.front_heading = front_heading
        self.projection = projection
        self.stereo = stereo
        self.reconnect = reconnect
        self.reconnect_interval_s = reconnect_interval_s
        if not 0.1 <= render_scale <= 2.0:
            raise XrSetupError(f"render scale {render_scale}: expected 0.1 to 2.0.", "Use 1.0 unless told.")
        self.render_scale = render_scale
        self.stats = XrStats()
        self.runtime: RuntimeInfo | None = None
        self.gl: GlBinding | None = None
        self.layer = "projection"
        self.layer_reason = ""
        self.refresh: dict = {}  # XR_FB_display_refresh_rate: offered, chosen, reason, current
        self.swapchain_format = 0
        self.swapchain_srgb = False
        self.user_presence = False
        self.state = "UNKNOWN"
        self.finish_reason = ""  # why begin_frame returned None: requested, viewer, runtime_lost
        self._events: list[BackendEvent] = []
        self._xr = None
        self._instance = None
        self._session = None
        self._spaces: Spaces | None = None
        self._actions: ViewerActions | None = None
        self._layer: ProjectionLayer | EquirectLayer | None = None
        self._equirect_size: tuple[int, int] | None = None
        self._equirect_key: tuple | None = None
        self._overlay_layer: ProjectionLayer | None = None  # head-locked overlays over the equirect layer
        self._overlay_drawn = False
        self._frame_views: list = []
        self._view_config_views: list = []
        self._clock: XrClock | None = None
        self._blend_mode = None
        self._locator: ViewLocator | None = None  # per-session structures reused every frame (_teardown)
        self._end_info = None
        self._end_layers: tuple = ()
        self._running = False
        self._focused = False
        self._finished = False
        self._exit_requested = False
        self._exit_sent = False
        self._lost_at: float | None = None
        self._next_retry = 0.0
        self._last_display_time = 0
        self._begin_cpu = 0.0
        self._loop_cpu0: float | None = None  # thread time when the last wait_frame returned
        self._last_orientation: tuple | None = None
        self._targets: list[RenderTarget] = []  # this frame's projection images (read_eye)

    @classmethod
    def from_options(cls, options: BackendOptions) -> OpenXRBackend:
        return cls(
            layer=options.layer, graphics=options.graphics, render_scale=options.render_scale,
            projection=options.projection, stereo=options.stereo, front_heading=options.front_heading,
            snapshots=options.snapshots, film_fps=options.film_fps,
        )  # fmt: skip

    # ---- lifecycle ---------------------------------------------------------------------------------------
    def open(self) -> None:
        import xr

        self._xr = xr
        buffer = xr.EventDataBuffer()
        self._event_buffer = (buffer, ctypes.byref(buffer))  # xrPollEvent straight, into one buffer
        self._poll_event = int_call("xrPollEvent")
        self._event_unavailable = int(xr.Result.EVENT_UNAVAILABLE)
        self._begin_frame = int_call("xrBeginFrame")
        self._end_frame = int_call("xrEndFrame")
        self._wait_frame = int_call("xrWaitFrame")
        self._frame_state = xr.FrameState()  # xrWaitFrame writes into this one every frame
        self._frame_state_ref = ctypes.byref(self._frame_state)
        self._connect()

    def _emit(self, kind: str, **data: object) -> None:
        self._events.append(BackendEvent(kind, dict(data)))

    # ---- events ------------------------------------------------------------------------------------------
    def poll_events(self) -> list[BackendEvent]:
        events, self._events = self._events, []
        return events

    # ---- frames ------------------------------------------------------------------------------------------
    def _idle_frame(self) -> FrameInfo:
        time.sleep(0.01)  # no display frames to wait for: keep the loop (and its controller) ticking
        return FrameInfo(display_time=time.monotonic(), views=[], targets=[], should_render=False)

    def begin_frame(self) -> FrameInfo | None:
        if self._finished:
            return None
        if self._exit_requested and not self._exit_sent:
            self._exit_now()
        self._poll_xr()
        if self._finished:
            return None
        if self._session is None:
            if self.reconnect and self._lost_at is not None:
                self._try_reconnect()
            return self._idle_frame()
        if not self._running:
            return self._idle_frame()
        try:
            if self._loop_cpu0 is not None and len(self.stats.loop_cpu_ms) < self.stats.keep_timings:
                self.stats.loop_cpu_ms.append((time.thread_time() - self._loop_cpu0) * 1e3)
            code = self._wait_frame(self._session, None, self._frame_state_ref)
            if code < 0:
                raise failure(code)
            fs = self._frame_state
            wall0, cpu0 = time.perf_counter(), time.thread_time()
            self._loop_cpu0 = cpu0
            code = self._begin_frame(self._session, None)
            if code < 0:
                raise failure(code)  # XR_FRAME_DISCARDED is a success code: nothing to do
            pdt = fs.predicted_display_time
            self._last_display_time = pdt
            locator = self._locator
            if locator is None:
                locator = self._locator = ViewLocator(
                    self._session, self._spaces.app, len(self._view_config_views)
                )
            view_state, views = locator.locate(pdt)
            head, eye_views_now = eye_views(views)
            rays = self._aim_rays(pdt, head)
            valid = view_state._view_state_flags & ORIENTATION_VALID  # the raw field: no enum built
            should_render = bool(fs.should_render) and bool(valid)
            targets: list[RenderTarget] = []
            if should_render and isinstance(self._layer, ProjectionLayer):
                targets = self._layer.targets()
            self._targets = targets
        except Exception as exc:
            if type(exc).__name__ in LOST_ERRORS:
                self._lose(type(exc).__name__)
                return self._idle_frame()
            raise
        self._clock.observe(pdt, fs.predicted_display_period)
        self.stats.display_period_ms = int(fs.predicted_display_period) / 1e6
        self._note_views(eye_views_now)
        self._frame_views = eye_views_now if should_render else []
        self._begin_cpu = time.thread_time() - cpu0
        display_time = self._clock.to_monotonic(pdt)
        if len(self.stats.display_lead_ms) < 1000:
            self.stats.display_lead_ms.append((display_time - time.monotonic()) * 1e3)
        return FrameInfo(
            display_time=display_time,
            views=eye_views_now,
            targets=targets,
            should_render=should_render,
            backend_data=XrFrame(pdt, list(views), wall0, cpu0),
            rays=rays,
        )

    def _aim_rays(self, display_time: int, head: tuple[float, float, float]) -> dict | None:
        """Each tracked controller's aim ray relative to the head's centre."""
        if not self.aim_wanted or self._actions is None or not self._focused:
            return None
        poses = self._actions.aim_poses(self._spaces.app, display_time)
        return {
            hand: ((p[0] - head[0], p[1] - head[1], p[2] - head[2]), forward(o))
            for hand, (p, o) in poses.items()
        }

    def _note_views(self, views: list) -> None:
        if self.stats.first_views is None:
            self.stats.first_views = [(v.orientation, v.fov) for v in views]
        self.stats.last_views = [(v.orientation, v.fov) for v in views]
        if views:
            o = views[0].orientation
            if o != self._last_orientation:
                self.stats.distinct_orientations += 1
                self._last_orientation = o

    def _poll_actions(self) -> None:
        if self._actions is None or not self._focused:
            return
        for kind, hand in self._actions.poll():
            # "recentre" is applied by the controller (overlay.recentre_yaw) for every backend alike; the
            # projection renderer and the equirect layer pose (draw_film) both follow it.
            self._emit(kind, source="viewer", hand=hand)

    def end_frame(self, info: FrameInfo) -> None:
        data = info.backend_data
        if not isinstance(data, XrFrame) or self._session is None:
            return
        end0 = time.thread_time()
        layers: list = []
        try:
            if self._layer is not None:
                if info.should_render:
                    layers = self._layer.build(self._spaces.app, data.views)
                else:
                    self._layer.release()
            if self._overlay_layer is not None:
                if self._overlay_drawn and info.should_render and layers:
                    layers += self._overlay_layer.build(self._spaces.app, data.views)
                    self.stats.overlay_frames += 1
                else:
                    self._overlay_layer.release()
                self._overlay_drawn = False
            code = self._end_frame(self._session, self._frame_end_info(data.predicted_display_time, layers))
            if code < 0:
                raise failure(code)
        except Exception as exc:
            if type(exc).__name__ in LOST_ERRORS:
                self._lose(type(exc).__name__)
                return
            raise
        s = self.stats
        s.frames += 1
        if layers:
            s.frames_with_layers += 1
            s.layer_submissions += len(layers)
        if len(s.cpu_ms) < s.keep_timings:
            now = time.thread_time()
            s.cpu_ms.append((now - data.cpu0) * 1e3)
            s.backend_cpu_ms.append((self._begin_cpu + now - end0) * 1e3)
            s.wall_ms.append((time.perf_counter() - data.wall0) * 1e3)
        # The controllers' buttons for the next display frame, synced after this one is submitted: drawing it
        # needs none of them, and one sync per display frame is all a button needs.
        try:
            self._poll_actions()
        except Exception as exc:
            if type(exc).__name__ in LOST_ERRORS:
                self._lose(type(exc).__name__)
                return
            raise

    def _frame_end_info(self, display_time: int, layers: list):
        """The session's FrameEndInfo, made once and updated: the layer pointer array is rebuilt only when
        the submitted layers change (the layers keep their structures and pointers from frame to frame)."""
        end = self._end_info
        if end is None:
            end = self._end_info = self._xr.FrameEndInfo(environment_blend_mode=self._blend_mode, layers=[])
            self._end_layers = ()
        end.display_time = display_time
        last = self._end_layers
        if len(last) != len(layers) or any(a is not b for a, b in zip(last, layers)):
            end.layers = layers
            self._end_layers = tuple(layers)
        return end

    # ---- commands ----------------------------------------------------------------------------------------
    def recentre(self) -> float | None:
        """Turn the app space so the viewer's current heading is forward; yaw in radians. The player does not
        use this (its controller recentres through overlay.recentre_yaw); it is for standalone use."""
        if self._spaces is None:
            return None
        t = self._last_display_time or (self._clock.now_xr() if self._clock else 0)
        try:
            return self._spaces.recentre(t)
        except Exception:
            return None

    @property
    def focused(self) -> bool:
        return self._focused

    def snapshot_problem(self) -> str | None:
        if self.layer != "projection":
            return f"the {self.layer} layer's eyes are drawn by the compositor and cannot be read back"
        return None

    def read_eye(self, index: int) -> np.ndarray:
        """The projection swapchain image just drawn for eye ``index`` (before end_frame releases it)."""
        from player.render.targets import read_framebuffer

        problem = self.snapshot_problem()
        if problem:
            raise XrSetupError(problem, "Use --layer projection with --snapshot-at.")
        if index >= len(self._targets):
            raise XrSetupError("No eye image is drawn on this display frame.", "Try a later media time.")
        t = self._targets[index]
        return read_framebuffer(t.framebuffer, t.width, t.height, t.x)

    def frame_report(self) -> dict:
        periods = self.stats.display_period_ms
        return {
            "layer": self.layer,
            "layer_reason": self.layer_reason,
            "display_hz": round(1000.0 / periods, 3) if periods else None,
            "refresh_rate": dict(self.refresh),
        }

    def request_exit(self) -> None:
        """Ask for the session to end (safe from any thread); begin_frame returns None once it has."""
        self._exit_requested = True

    def _exit_now(self) -> None:
        """On the render thread: xrRequestExitSession, or finish at once when no session runs."""
        self._exit_sent = True
        if self._session is not None and self._running:
            try:
                self._xr.request_exit_session(self._session)
                return
            except Exception:
                pass
        self._finished = True

    def close(self, timeout_s: float = 3.0) -> None:
        """End the session cleanly (STOPPING -> IDLE -> EXITING) when it runs, then destroy everything."""
        if self._session is not None and self._running and not self._finished:
            self.request_exit()
            self._exit_now()
            deadline = time.monotonic() + timeout_s
            while not self._finished and self._session is not None and time.monotonic() < deadline:
                self._poll_xr()
                time.sleep(0.005)
        self._teardown()
        self._finished = True
        if self.gl is not None:
            self.gl.close()
            self.gl = None

    def describe(self) -> dict:
        """What the session is using (for logs, the doctor and tests)."""
        return {
            "runtime": self.runtime.name if self.runtime else None,
            "runtime_version": self.runtime.version if self.runtime else None,
            "graphics": self.graphics,
            "gl_renderer": self.gl.renderer if self.gl else None,
            "layer": self.layer,
            "layer_reason": self.layer_reason,
            "refresh_rate": dict(self.refresh),
            "swapchain_format": hex(self.swapchain_format),
            "srgb": self.swapchain_srgb,
            "user_presence": self.user_presence,
            "views": [
                (v.recommended_image_rect_width, v.recommended_image_rect_height)
                for v in self._view_config_views
            ],
            "profiles": self._actions.profiles if self._actions else [],
        }
