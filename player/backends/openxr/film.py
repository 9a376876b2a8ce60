"""The equirect layer paths of the OpenXR backend (equirect2, and version 1 for the Meta PC runtime): the
film converted into the layer's swapchains once per video frame, head-locked overlays in a projection layer
on top. A mixin of OpenXRBackend, which holds the session and the layers."""

from __future__ import annotations

from ..base import RenderTarget
from .layers import EquirectLayer, ProjectionLayer


def overlay_visible(overlay: object) -> bool:
    """Whether any overlay shows (OverlayState.shows_anything; False for no overlay state)."""
    return bool(getattr(overlay, "shows_anything", False))


class EquirectFilm:
    """OpenXRBackend's equirect drawing (see the module doc); the attributes are the backend's."""

    layer: str
    stereo: str
    projection: str
    front_heading: float
    swapchain_format: int
    swapchain_srgb: bool
    _session: object
    _layer: object
    _equirect_size: tuple[int, int] | None
    _equirect_key: tuple | None
    _overlay_layer: ProjectionLayer | None
    _overlay_drawn: bool
    _frame_views: list
    _view_config_views: list
    stats: object

    def equirect_targets(self, video_size: tuple[int, int]) -> list[RenderTarget]:
        """Equirect layer only: the per-eye images to convert the current video frame into (call only when the
        picture changed, between begin_frame and end_frame). `video_size` is the film's (width, height)."""
        if self.layer == "projection" or self._session is None:
            return []
        w, h = video_size
        if self.stereo == "top-bottom":
            eye_size, eyes = (w, h // 2), 2
        elif self.stereo == "left-right":
            eye_size, eyes = (w // 2, h), 2
        else:
            eye_size, eyes = (w, h), 1
        if self._layer is None or self._equirect_size != eye_size:
            if self._layer is not None:
                self._layer.destroy()
            self._layer = EquirectLayer(
                self._session,
                self.swapchain_format,
                self.swapchain_srgb,
                eye_size,
                eyes,
                self.projection,
                self.front_heading,
                version=2 if self.layer == "equirect2" else 1,
            )
            self._equirect_size = eye_size
        self.stats.equirect_updates += 1
        return self._layer.targets()

    def draw_film(self, renderer: object, overlay: object = None) -> bool:
        """Equirect layer: convert the renderer's picture into the layer when the picture or the overlay
        (welfare softening) changed, and return True (the loop then draws no eyes). Projection: False.

        The playback loop calls this once per display frame, after uploading, before end_frame.
        """
        if self.layer == "projection":
            return False
        frame = getattr(renderer, "frame", None)
        if frame is None or self._session is None:
            return True
        recentre = float(getattr(overlay, "recentre_yaw", 0.0) or 0.0)
        key = (id(frame), getattr(overlay, "soften", 0.0), getattr(overlay, "calm", 0.0))
        if key != self._equirect_key or self.needs_equirect_picture:
            for eye, target in enumerate(self.equirect_targets((frame.width, frame.height))):
                renderer.draw_equirect(target, eye, overlay)
            self._equirect_key = key
        if isinstance(self._layer, EquirectLayer):
            self._layer.set_heading(self.front_heading - recentre)
        self._draw_overlays(renderer, overlay)
        return True

    def _draw_overlays(self, renderer: object, overlay: object) -> None:
        """Head-locked overlays (pause icon, welfare message, subtitles) in an alpha-blended projection layer
        over the equirect layer, only on display frames where one shows."""
        draw = getattr(renderer, "draw_overlays", None)
        if draw is None or not self._frame_views or not overlay_visible(overlay):
            return
        if self._overlay_layer is None:
            sizes = [self._eye_size(v) for v in self._view_config_views]
            self._overlay_layer = ProjectionLayer(
                self._session, self.swapchain_format, self.swapchain_srgb, sizes, alpha=True
            )
        targets = self._overlay_layer.targets()
        drawn = [
            draw(eye, view, target, overlay)
            for eye, (view, target) in enumerate(zip(self._frame_views, targets))
        ]
        self._overlay_drawn = all(drawn)
        if not self._overlay_drawn:
            self._overlay_layer.release()

    @property
    def needs_equirect_picture(self) -> bool:
        """True while the equirect layer has no picture yet (draw the current frame even if unchanged)."""
        return self.layer != "projection" and (self._layer is None or not self._layer.ready)
