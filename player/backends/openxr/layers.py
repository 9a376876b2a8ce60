"""Composition layers: a projection layer our renderer draws, or equirect layers (version 2, or version 1 for
the Meta PC runtime) the compositor samples. Which one a session uses: capabilities.choose_layer."""

from __future__ import annotations

import ctypes
import math

from ..base import EyeView, RenderTarget
from .spaces import posef, yaw_quat
from .swapchain import Swapchain


class _SwapchainLayer:
    """A layer made of swapchains (``self.swapchains``)."""

    swapchains: list[Swapchain]

    def release(self) -> None:
        for sc in self.swapchains:
            sc.release()

    def destroy(self) -> None:
        for sc in self.swapchains:
            sc.destroy()


class ProjectionLayer(_SwapchainLayer):
    """The renderer draws each eye every display frame. ``shared``: both eyes side by side in one swapchain
    (one acquire, wait, release and framebuffer per display frame instead of one per eye); else one swapchain
    per view."""

    kind = "projection"

    def __init__(
        self,
        session: object,
        fmt: int,
        srgb: bool,
        sizes: list[tuple[int, int]],
        *,
        alpha: bool = False,
        shared: bool = False,
    ) -> None:
        """`alpha`: the images carry premultiplied alpha and blend over the layers below (overlays)."""
        import xr

        self._xr = xr
        self.shared = shared
        if shared:
            width, height = sum(w for w, _ in sizes), max(h for _, h in sizes)
            self.swapchains = [Swapchain.create(session, fmt, srgb, width, height)]
            lefts = [sum(w for w, _ in sizes[:i]) for i in range(len(sizes))]
            chains = [self.swapchains[0]] * len(sizes)
        else:
            self.swapchains = [Swapchain.create(session, fmt, srgb, w, h) for w, h in sizes]
            lefts, chains = [0] * len(sizes), self.swapchains
        self._sizes, self._lefts = sizes, lefts
        self._views = (xr.CompositionLayerProjectionView * len(sizes))(
            *[xr.CompositionLayerProjectionView() for _ in sizes]
        )
        for pv, sc, x, (w, h) in zip(self._views, chains, lefts, sizes):
            pv.sub_image.swapchain = sc.handle
            pv.sub_image.image_rect = xr.Rect2Di(offset=xr.Offset2Di(x, 0), extent=xr.Extent2Di(w, h))
        flags = (
            xr.CompositionLayerFlags.BLEND_TEXTURE_SOURCE_ALPHA_BIT
            if alpha
            else xr.CompositionLayerFlags.NONE
        )
        self._layer = xr.CompositionLayerProjection(layer_flags=flags, space=None, views=self._views)
        self._refs = [ctypes.byref(self._layer)]  # made once: build() hands out the same pointer each frame
        self._eye_targets: dict[int, list[RenderTarget]] = {}  # shared: per swapchain image, each eye's rect

    def targets(self) -> list[RenderTarget]:
        if not self.shared:
            return [sc.acquire() for sc in self.swapchains]
        image = self.swapchains[0].acquire()
        eyes = self._eye_targets.get(image.framebuffer)
        if eyes is None:
            eyes = self._eye_targets[image.framebuffer] = [
                RenderTarget(image.framebuffer, w, h, image.srgb, x)
                for x, (w, h) in zip(self._lefts, self._sizes)
            ]
        return eyes

    def build(self, space: object, views: list) -> list:
        """The layer for this frame from the runtime's located views (pose and fov as rendered)."""
        for pv, v in zip(self._views, views):
            pv.pose = v.pose
            pv.fov = v.fov
        self._layer.space = space
        for sc in self.swapchains:
            sc.release()
        return list(self._refs)


class EquirectLayer(_SwapchainLayer):
    """An equirect layer: the film as a sphere the compositor samples at display resolution.

    ``version`` 2 is XR_KHR_composition_layer_equirect2 (angles); 1 is XR_KHR_composition_layer_equirect
    (scale and bias over the whole sphere: 360 films only, see capabilities.layer_paths).

    The film is converted from YUV into these swapchains once per video frame (`targets`), not per display
    frame; stereo films get one layer per eye. The layer is turned so that the film's front_heading faces the
    viewer (headings are clockwise, yaw is counter-clockwise: yaw = +heading).
    """

    def __init__(
        self,
        session: object,
        fmt: int,
        srgb: bool,
        eye_size: tuple[int, int],
        eyes: int,
        projection: str,
        front_heading: float,
        version: int = 2,
    ) -> None:
        import xr

        self._xr = xr
        self.kind = "equirect2" if version == 2 else "equirect"
        w, h = eye_size
        self.swapchains = [Swapchain.create(session, fmt, srgb, w, h) for _ in range(eyes)]
        visibility = [xr.EyeVisibility.BOTH] if eyes == 1 else [xr.EyeVisibility.LEFT, xr.EyeVisibility.RIGHT]
        central = math.pi if projection == "equirect180" else 2.0 * math.pi
        self.front_heading = front_heading
        self._layers = []
        for sc, vis in zip(self.swapchains, visibility):
            common = {
                "space": None,
                "eye_visibility": vis,
                "sub_image": xr.SwapchainSubImage(swapchain=sc.handle, image_rect=sc.rect),
                "pose": posef(xr, yaw_quat(math.radians(front_heading))),
                "radius": 0.0,  # infinite: the film is at the horizon
            }
            if version == 2:
                layer = xr.CompositionLayerEquirect2KHR(
                    **common,
                    central_horizontal_angle=central,
                    upper_vertical_angle=math.pi / 2.0,
                    lower_vertical_angle=-math.pi / 2.0,
                )
            else:  # the whole image over the whole sphere
                layer = xr.CompositionLayerEquirectKHR(
                    **common, scale=xr.Vector2f(1.0, 1.0), bias=xr.Vector2f(0.0, 0.0)
                )
            self._layers.append(layer)
        self._refs = [ctypes.byref(layer) for layer in self._layers]

    def set_heading(self, heading_deg: float) -> None:
        """Put the film's heading `heading_deg` in front of the viewer (front_heading minus recentre yaw)."""
        if heading_deg == self.front_heading:
            return
        self.front_heading = heading_deg
        q = yaw_quat(math.radians(heading_deg))
        for layer in self._layers:
            layer.pose.orientation.x, layer.pose.orientation.y = q[0], q[1]
            layer.pose.orientation.z, layer.pose.orientation.w = q[2], q[3]

    @property
    def ready(self) -> bool:
        """True once every eye's swapchain holds a picture (before that nothing is submitted)."""
        return all(sc.released_once for sc in self.swapchains)

    def targets(self) -> list[RenderTarget]:
        return [sc.acquire() for sc in self.swapchains]

    def build(self, space: object, views: list) -> list:
        self.release()
        if not self.ready:
            return []
        for layer in self._layers:
            layer.space = space
        return list(self._refs)


def eye_views(views) -> tuple[tuple[float, float, float], list[EyeView]]:
    """The head's centre (the mean of the eye positions, app-space metres) and the OpenXR views as the
    renderer's EyeViews, each eye's offset taken from that centre. Each field is read once: a pyopenxr field
    access builds a new wrapper object."""
    poses = [(v.pose, v.fov) for v in views]
    parts = [(pose.orientation, fov, pose.position) for pose, fov in poses]
    n = len(parts) or 1
    hx = sum(p.x for _, _, p in parts) / n
    hy = sum(p.y for _, _, p in parts) / n
    hz = sum(p.z for _, _, p in parts) / n
    return (hx, hy, hz), [
        EyeView(
            (o.x, o.y, o.z, o.w),
            (f.angle_left, f.angle_right, f.angle_up, f.angle_down),
            (p.x - hx, p.y - hy, p.z - hz),
        )
        for o, f, p in parts
    ]
