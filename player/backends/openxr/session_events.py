"""The OpenXR event queue read each frame: session state changes drive the session's lifecycle (begin, end,
exit, loss) and focus; interaction profile, refresh rate, user presence and reference space changes become
backend events. A mixin of OpenXRBackend, which holds the attributes (see its __init__)."""

from __future__ import annotations

import ctypes

from .calls import failure
from .stats import hz


class SessionEvents:
    """OpenXRBackend's event handling (see the module doc)."""

    def _poll_xr(self) -> None:
        xr = self._xr
        st = xr.StructureType
        ev, ev_ref = self._event_buffer
        while self._instance is not None:
            ev.type = st.EVENT_DATA_BUFFER  # the runtime writes each event into the same buffer
            code = self._poll_event(self._instance, ev_ref)
            if code == self._event_unavailable:
                return
            if code < 0:
                self._lose(type(failure(code)).__name__)
                return
            kind = st(ev.type)
            if kind == st.EVENT_DATA_SESSION_STATE_CHANGED:
                e = ctypes.cast(ctypes.byref(ev), ctypes.POINTER(xr.EventDataSessionStateChanged)).contents
                self._on_state(xr.SessionState(e.state))
            elif kind == st.EVENT_DATA_INSTANCE_LOSS_PENDING:
                self._lose("instance_loss_pending")
                return
            elif kind == st.EVENT_DATA_REFERENCE_SPACE_CHANGE_PENDING:
                # the runtime moved LOCAL itself (system recentre): informational, nothing to undo
                self._emit("space_changed", source="runtime")
            elif kind == st.EVENT_DATA_INTERACTION_PROFILE_CHANGED:
                if self._actions is not None:
                    self._emit("input_profile", **self._actions.current_profiles())
            elif kind == st.EVENT_DATA_DISPLAY_REFRESH_RATE_CHANGED_FB:
                e = ctypes.cast(
                    ctypes.byref(ev), ctypes.POINTER(xr.EventDataDisplayRefreshRateChangedFB)
                ).contents
                self.refresh["current"] = hz(e.to_display_refresh_rate)
            elif kind == st.EVENT_DATA_USER_PRESENCE_CHANGED_EXT:
                e = ctypes.cast(ctypes.byref(ev), ctypes.POINTER(xr.EventDataUserPresenceChangedEXT)).contents
                if e.is_user_present:
                    self._emit("focus_gained", reason="user_present")
                else:
                    self._emit("focus_lost", reason="user_absent", state=self.state)

    def _on_state(self, state) -> None:
        xr = self._xr
        S = xr.SessionState
        self.state = state.name
        self.stats.states.append(state.name)
        if state == S.FOCUSED:
            self._focused = True
            self._emit("focus_gained", reason="session_state", state=state.name)
        elif self._focused:
            self._focused = False
            if not self._exit_requested:  # leaving FOCUSED because we asked to end is not a focus loss
                self._emit("focus_lost", reason="session_state", state=state.name)
        if state == S.READY:
            xr.begin_session(self._session, xr.SessionBeginInfo(xr.ViewConfigurationType.PRIMARY_STEREO))
            self._running = True
        elif state == S.STOPPING:
            self._running = False
            xr.end_session(self._session)
        elif state == S.EXITING:
            self._running = False
            self._finished = True
            self._teardown()
            # the runtime ends a session we did not ask to end when the viewer quits from the system menu
            self.finish_reason = "requested" if self._exit_requested else "viewer"
            self._emit("exit", reason=self.finish_reason)
        elif state == S.LOSS_PENDING:
            self._lose("session_loss_pending")
