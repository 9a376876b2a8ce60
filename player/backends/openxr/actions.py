"""Viewer input: "I need a break" and "recentre" buttons, and for the headset questionnaire each hand's aim
pose and its trigger ("select"), bound for the common controller profiles."""

from __future__ import annotations

LEFT, RIGHT = "/user/hand/left", "/user/hand/right"

# profile -> action -> input paths (both hands where the controller has the button)
SUGGESTED_BINDINGS: dict[str, dict[str, list[str]]] = {
    "/interaction_profiles/khr/simple_controller": {
        "need_break": [f"{LEFT}/input/menu/click", f"{RIGHT}/input/menu/click"],
        "recentre": [f"{LEFT}/input/select/click", f"{RIGHT}/input/select/click"],
        "select": [f"{LEFT}/input/select/click", f"{RIGHT}/input/select/click"],  # recentre waits meanwhile
        "aim": [f"{LEFT}/input/aim/pose", f"{RIGHT}/input/aim/pose"],
    },
    "/interaction_profiles/oculus/touch_controller": {
        "need_break": [f"{LEFT}/input/y/click", f"{RIGHT}/input/b/click"],
        "recentre": [f"{LEFT}/input/x/click", f"{RIGHT}/input/a/click"],
        "select": [f"{LEFT}/input/trigger/value", f"{RIGHT}/input/trigger/value"],
        "aim": [f"{LEFT}/input/aim/pose", f"{RIGHT}/input/aim/pose"],
    },
    "/interaction_profiles/valve/index_controller": {
        "need_break": [f"{LEFT}/input/b/click", f"{RIGHT}/input/b/click"],
        "recentre": [f"{LEFT}/input/a/click", f"{RIGHT}/input/a/click"],
        "select": [f"{LEFT}/input/trigger/click", f"{RIGHT}/input/trigger/click"],
        "aim": [f"{LEFT}/input/aim/pose", f"{RIGHT}/input/aim/pose"],
    },
    "/interaction_profiles/htc/vive_controller": {
        "need_break": [f"{LEFT}/input/menu/click", f"{RIGHT}/input/menu/click"],
        "recentre": [f"{LEFT}/input/trackpad/click", f"{RIGHT}/input/trackpad/click"],
        "select": [f"{LEFT}/input/trigger/click", f"{RIGHT}/input/trigger/click"],
        "aim": [f"{LEFT}/input/aim/pose", f"{RIGHT}/input/aim/pose"],
    },
}
ACTIONS = {
    "need_break": "I need a break",
    "recentre": "Recentre the film",
    "select": "Answer (trigger)",
    "aim": "Point (controller ray)",
}
POSE_ACTIONS = ("aim",)
EVENT_FOR_ACTION = {"need_break": "break_request", "recentre": "recentre", "select": "select"}


class ViewerActions:
    """Creates the action set on an instance, attaches it to a session, and reports button presses."""

    def __init__(self, instance: object) -> None:
        import xr

        self._xr = xr
        self.instance = instance
        self.action_set = xr.create_action_set(
            instance,
            xr.ActionSetCreateInfo(action_set_name="viewer", localized_action_set_name="Viewer", priority=0),
        )
        self.hands = [xr.string_to_path(instance, LEFT), xr.string_to_path(instance, RIGHT)]
        self.actions: dict[str, object] = {}
        for name, label in ACTIONS.items():
            self.actions[name] = xr.create_action(
                self.action_set,
                xr.ActionCreateInfo(
                    action_type=xr.ActionType.POSE_INPUT
                    if name in POSE_ACTIONS
                    else xr.ActionType.BOOLEAN_INPUT,
                    action_name=name.replace("_", "-"),
                    localized_action_name=label,
                    subaction_paths=self.hands,
                ),
            )
        self.profiles: list[str] = []
        self.problems: list[str] = []
        for profile, bindings in SUGGESTED_BINDINGS.items():
            pairs = [
                xr.ActionSuggestedBinding(self.actions[action], xr.string_to_path(instance, path))
                for action, paths in bindings.items()
                for path in paths
            ]
            try:
                xr.suggest_interaction_profile_bindings(
                    instance,
                    xr.InteractionProfileSuggestedBinding(
                        interaction_profile=xr.string_to_path(instance, profile), suggested_bindings=pairs
                    ),
                )
                self.profiles.append(profile)
            except Exception as exc:  # a runtime that does not know a profile: the others still work
                self.problems.append(f"{profile}: {type(exc).__name__}")
        import ctypes

        from .calls import failure, int_call

        self._active = xr.ActiveActionSet(self.action_set, xr.NULL_PATH)
        self._sync_info = xr.ActionsSyncInfo(active_action_sets=[self._active])
        buttons = {name: action for name, action in self.actions.items() if name not in POSE_ACTIONS}
        self._any_hand = {name: xr.ActionStateGetInfo(action=action) for name, action in buttons.items()}
        self._per_hand = {
            name: [xr.ActionStateGetInfo(action=action, subaction_path=hand) for hand in self.hands]
            for name, action in buttons.items()
        }
        self.aim_spaces: list = []  # per hand (left, right), made by attach()
        self.session = None
        # per-frame calls straight to the runtime with structures made once (pyopenxr's wrappers make new ones
        # and raise for XR_SESSION_NOT_FOCUSED)
        self._failure = failure
        self._sync = int_call("xrSyncActions")
        self._get = int_call("xrGetActionStateBoolean")
        self._state = xr.ActionStateBoolean()
        self._refs = (
            ctypes.byref(self._sync_info),
            {name: ctypes.byref(info) for name, info in self._any_hand.items()},
            ctypes.byref(self._state),
        )
        self._not_focused = int(xr.Result.SESSION_NOT_FOCUSED)
        # each button's state at the last sync: a press is a rising edge seen here, so a button already held
        # when the runtime binds the controllers (no "changed" flag on a runtime such as Monado) still counts
        self._held = dict.fromkeys(buttons, False)

    def attach(self, session: object) -> None:
        xr = self._xr
        xr.attach_session_action_sets(session, xr.SessionActionSetsAttachInfo(action_sets=[self.action_set]))
        self.session = session
        self.aim_spaces = [
            xr.create_action_space(
                session,
                xr.ActionSpaceCreateInfo(
                    action=self.actions["aim"], subaction_path=hand, pose_in_action_space=xr.Posef()
                ),
            )
            for hand in self.hands
        ]

    def aim_poses(self, base_space: object, time: int) -> dict[str, tuple[tuple, tuple]]:
        """Each tracked hand's aim pose in ``base_space`` at ``time``: {hand: (position, orientation)}."""
        xr = self._xr
        valid = int(xr.SpaceLocationFlags.POSITION_VALID_BIT) | int(
            xr.SpaceLocationFlags.ORIENTATION_VALID_BIT
        )
        out = {}
        for label, space in zip(("left", "right"), self.aim_spaces):
            try:
                loc = xr.locate_space(space, base_space, time)
            except Exception:  # not focused, or the runtime has no pose now: no ray this frame
                continue
            if int(loc.location_flags) & valid == valid:
                p, o = loc.pose.position, loc.pose.orientation
                out[label] = ((p.x, p.y, p.z), (o.x, o.y, o.z, o.w))
        return out

    def poll(self) -> list[tuple[str, str]]:
        """Sync and return (event kind, hand) for each button newly pressed since the last poll: a rising edge
        of the action's state, or one released and pressed again between two syncs."""
        xr = self._xr
        session = self.session
        if session is None:
            return []
        sync_ref, info_refs, state_ref = self._refs
        code = self._sync(session, sync_ref)
        if code == self._not_focused:
            return []
        if code < 0:
            raise self._failure(code)
        pressed = []
        state = self._state
        for name, info_ref in info_refs.items():  # one query per action; the hand only on a press
            code = self._get(session, info_ref, state_ref)
            if code < 0:
                raise self._failure(code)
            down = bool(state.is_active and state.current_state)
            rose = down and not self._held[name]
            self._held[name] = down
            if rose or (down and state.changed_since_last_sync):
                hand = ""
                for label, hand_info in zip(("left", "right"), self._per_hand[name]):
                    if xr.get_action_state_boolean(self.session, hand_info).current_state:
                        hand = label
                        break
                pressed.append((EVENT_FOR_ACTION[name], hand))
        return pressed

    def current_profiles(self) -> dict[str, str]:
        """The interaction profile the runtime bound for each hand ("" when none)."""
        xr = self._xr
        out = {}
        for label, hand in zip(("left", "right"), self.hands):
            try:
                state = xr.get_current_interaction_profile(self.session, hand)
                path = int(state.interaction_profile)
                out[label] = xr.path_to_string(self.instance, path) if path else ""
            except Exception:
                out[label] = ""
        return out

    def destroy(self) -> None:
        for space in self.aim_spaces:
            try:
                self._xr.destroy_space(space)
            except Exception:
                pass
        self.aim_spaces = []
        try:
            self._xr.destroy_action_set(self.action_set)
        except Exception:
            pass
