"""Connecting the OpenXR backend to the runtime: instance, system, session, spaces, swapchains and input made
in one go (`_connect`), all of them destroyed in one go (`_teardown`), and a lost runtime reported and retried
(`_lose`, `_try_reconnect`). A mixin of OpenXRBackend, which holds the attributes (see its __init__); runs on
the thread that owns the backend (the playback loop's)."""

from __future__ import annotations

import ctypes
import time

from .actions import ViewerActions
from .capabilities import choose_layer
from .clock import XrClock
from .errors import XrSetupError, explain
from .graphics import create_binding, gl_version_for
from .layers import ProjectionLayer
from .runtime import OPENGL, OPTIONAL_EXTENSIONS, USER_PRESENCE, create_instance, get_hmd_system
from .spaces import Spaces
from .stats import match_refresh_rate
from .swapchain import choose_format


class XrConnection:
    """OpenXRBackend's session set-up, teardown and reconnection (see the module doc)."""

    def _connect(self) -> None:
        xr = self._xr
        instance, enabled, info = create_instance([OPENGL], list(OPTIONAL_EXTENSIONS))
        try:
            system = get_hmd_system(instance)
            self.user_presence = False
            if USER_PRESENCE in enabled:
                presence = xr.SystemUserPresencePropertiesEXT()
                props = xr.SystemProperties(next=ctypes.cast(ctypes.pointer(presence), ctypes.c_void_p))
                xr.raw_functions.xrGetSystemProperties(instance, system, ctypes.byref(props))
                self.user_presence = bool(presence.supports_user_presence)
            requirements = xr.get_opengl_graphics_requirements_khr(instance, system)
            vct = xr.ViewConfigurationType.PRIMARY_STEREO
            self._view_config_views = list(xr.enumerate_view_configuration_views(instance, system, vct))
            if self.gl is None:
                self.gl = create_binding(
                    self.graphics, enabled, gl_version_for(requirements.min_api_version_supported)
                )
            else:
                self.gl.make_current()
            session = xr.create_session(
                instance,
                xr.SessionCreateInfo(
                    system_id=system, next=ctypes.cast(ctypes.pointer(self.gl.binding), ctypes.c_void_p)
                ),
            )
            modes = [int(m) for m in xr.enumerate_environment_blend_modes(instance, system, vct)]
            opaque = int(xr.EnvironmentBlendMode.OPAQUE)
            self._blend_mode = xr.EnvironmentBlendMode(opaque if opaque in modes else modes[0])
            self._instance, self._session = instance, session
            self._clock = XrClock(instance, enabled)
            self._spaces = Spaces(session)
            formats = [int(f) for f in xr.enumerate_swapchain_formats(session)]
            self.swapchain_format, self.swapchain_srgb = choose_format(formats)
            choice = choose_layer(self.requested_layer, enabled, self.projection, self.snapshots)
            self.layer, self.layer_reason = choice.layer, choice.reason
            self.refresh = match_refresh_rate(session, enabled, self.film_fps)
            if self.layer == "projection":
                sizes = [self._eye_size(v) for v in self._view_config_views]
                self._layer = ProjectionLayer(
                    session, self.swapchain_format, self.swapchain_srgb, sizes, shared=True
                )
            else:
                self._layer = None  # created by equirect_targets() once the film's size is known
                self._equirect_size = None
            self._actions = ViewerActions(instance)
            self._actions.attach(session)
        except BaseException as exc:
            self._instance = instance
            self._teardown()
            if isinstance(exc, XrSetupError) or not isinstance(exc, self._xr.XrException | OSError):
                raise
            raise explain(exc, "starting the OpenXR session") from exc
        self.runtime = info
        self._running = False
        self._focused = False
        self.state = "IDLE"

    def _eye_size(self, v) -> tuple[int, int]:
        """The runtime's recommended eye size times render_scale, within its maximum."""
        w = round(v.recommended_image_rect_width * self.render_scale)
        h = round(v.recommended_image_rect_height * self.render_scale)
        return (max(16, min(w, v.max_image_rect_width)), max(16, min(h, v.max_image_rect_height)))

    def _teardown(self) -> None:
        """Destroy every OpenXR object (the GL context stays for a later reconnect)."""
        xr = self._xr
        if self._layer is not None:
            self._layer.destroy()
        self._layer = None
        if self._overlay_layer is not None:
            self._overlay_layer.destroy()
        self._overlay_layer = None
        self._overlay_drawn = False
        self._equirect_size = None
        self._equirect_key = None
        self._locator = None
        self._end_info = None
        self._end_layers = ()
        if self._spaces is not None:
            self._spaces.destroy()
        self._spaces = None
        if self._actions is not None:
            self._actions.destroy()
        self._actions = None
        for handle, destroy in ((self._session, "destroy_session"), (self._instance, "destroy_instance")):
            if handle is not None and xr is not None:
                try:
                    getattr(xr, destroy)(handle)
                except Exception:
                    pass
        self._session = self._instance = None
        self._running = False

    def _lose(self, reason: str) -> None:
        """The runtime or session went away: report it, tear down, retry from begin_frame."""
        if self._focused:
            self._emit("focus_lost", reason="runtime_lost", state=self.state)
        self._focused = False
        self.stats.losses += 1
        self._emit("runtime_lost", reason=reason)
        self.state = "LOST"
        self.stats.states.append("LOST")
        self._teardown()
        self._lost_at = time.monotonic()
        self._next_retry = self._lost_at + self.reconnect_interval_s
        if not self.reconnect:
            self._finished = True
            self.finish_reason = "runtime_lost"
            self._emit("exit", reason="runtime_lost")

    def _try_reconnect(self) -> None:
        now = time.monotonic()
        if now < self._next_retry:
            return
        self._next_retry = now + self.reconnect_interval_s
        try:
            self._connect()
        except XrSetupError:
            return
        self.stats.restores += 1
        self._lost_at = None
        self._emit("runtime_restored", runtime=self.runtime.name if self.runtime else "")
