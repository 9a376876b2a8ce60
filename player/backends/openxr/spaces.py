"""Reference spaces: the app space (LOCAL, turned by recentre) and the head (VIEW)."""

from __future__ import annotations

import ctypes
import math

from .calls import failure, int_call

Quat = tuple[float, float, float, float]


def yaw_quat(radians: float) -> Quat:
    """Rotation about +Y (up); positive turns -Z (forward) towards -X (the viewer's left)."""
    return (0.0, math.sin(radians / 2.0), 0.0, math.cos(radians / 2.0))


def quat_yaw(q: Quat) -> float:
    """Heading of a rotation's forward (-Z) direction about +Y, in the same sense as `yaw_quat`."""
    x, y, z, w = q
    fx = -(2 * (x * z + y * w))  # forward = R * (0, 0, -1)
    fz = -(1 - 2 * (x * x + y * y))
    return math.atan2(-fx, -fz)


def posef(xr, orientation: Quat = (0.0, 0.0, 0.0, 1.0)):
    return xr.Posef(orientation=xr.Quaternionf(*orientation), position=xr.Vector3f(0.0, 0.0, 0.0))


class Spaces:
    """LOCAL space with a yaw offset (recentre) and the VIEW space for locating the head."""

    def __init__(self, session: object) -> None:
        import xr

        self._xr = xr
        self.session = session
        offered = [int(s) for s in xr.enumerate_reference_spaces(session)]
        self.base_type = xr.ReferenceSpaceType.LOCAL
        if int(xr.ReferenceSpaceType.LOCAL) not in offered and int(xr.ReferenceSpaceType.STAGE) in offered:
            self.base_type = xr.ReferenceSpaceType.STAGE
        self.yaw = 0.0
        self.view = xr.create_reference_space(
            session,
            xr.ReferenceSpaceCreateInfo(
                reference_space_type=xr.ReferenceSpaceType.VIEW, pose_in_reference_space=posef(xr)
            ),
        )
        self.app = self._create_app(0.0)

    def _create_app(self, yaw: float):
        xr = self._xr
        return xr.create_reference_space(
            self.session,
            xr.ReferenceSpaceCreateInfo(
                reference_space_type=self.base_type, pose_in_reference_space=posef(xr, yaw_quat(yaw))
            ),
        )

    def head_orientation(self, time: int) -> Quat | None:
        """The head's orientation in the app space at XrTime `time`, or None when not tracked."""
        xr = self._xr
        loc = xr.locate_space(self.view, self.app, time)
        if not int(loc.location_flags) & int(xr.SpaceLocationFlags.ORIENTATION_VALID_BIT):
            return None
        o = loc.pose.orientation
        return (o.x, o.y, o.z, o.w)

    def recentre(self, time: int) -> float | None:
        """Turn the app space so the head's current heading becomes forward; returns the new yaw (radians)."""
        q = self.head_orientation(time)
        if q is None:
            return None
        new_yaw = self.yaw + quat_yaw(q)
        old = self.app
        self.app = self._create_app(new_yaw)
        self.yaw = new_yaw
        self._xr.destroy_space(old)
        return new_yaw

    def destroy(self) -> None:
        for space in (self.app, self.view):
            try:
                self._xr.destroy_space(space)
            except Exception:
                pass


class ViewLocator:
    """xrLocateViews with its structures made once per session: one runtime call per frame (pyopenxr's
    ``locate_views`` makes two, the first to ask for the count, and new structures each time)."""

    def __init__(self, session: object, space: object, count: int) -> None:
        import xr

        self._session = session
        self._fn = int_call("xrLocateViews")
        self.info = xr.ViewLocateInfo(
            view_configuration_type=xr.ViewConfigurationType.PRIMARY_STEREO, display_time=0, space=space
        )
        self.state = xr.ViewState()
        self.views = (xr.View * count)(*[xr.View() for _ in range(count)])
        self._count = ctypes.c_uint32(0)
        self._args = (ctypes.byref(self.info), ctypes.byref(self.state), count, ctypes.byref(self._count))

    def locate(self, display_time: int) -> tuple[object, list]:
        """(view state, views) at ``display_time``; raises pyopenxr's exception for a failed call."""
        self.info.display_time = display_time
        info, state, capacity, count = self._args
        code = self._fn(self._session, info, state, capacity, count, self.views)
        if code < 0:
            raise failure(code)
        return self.state, self.views[: self._count.value]
