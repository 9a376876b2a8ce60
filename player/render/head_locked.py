"""Head-locked overlays (the welfare or notice message, the pause icon, subtitles): quads at infinity drawn
over an eye with premultiplied alpha, and their pictures, cached by text (see docs/renderer.md).

Rasterising a text picture takes milliseconds (Pillow), so the playback loop asks for what may show next
after each frame's submit (`prepare`); a picture not prepared is still made when first drawn.
"""

from __future__ import annotations

import math
from collections import OrderedDict

from player.render.gl import GL, rgba_texture
from player.render.gl_held import held_gl
from player.render.overlay import OverlayState
from player.render.program import Program
from player.render.text import pause_icon, text_panel

# Placement in degrees (centre pitch) and size scale (degrees per texel).
SUBTITLE_PITCH = -16.0
SUBTITLE_DEG_PER_PX = 0.045
MESSAGE_PITCH = 0.0
MESSAGE_DEG_PER_PX = 0.05
PAUSE_PITCH = -4.0
PAUSE_DEG = 7.0
PLACEMENT = {  # picture kind -> (centre pitch, degrees per texel; 0: the icon's fixed PAUSE_DEG)
    "message": (MESSAGE_PITCH, MESSAGE_DEG_PER_PX),
    "icon": (PAUSE_PITCH, 0.0),
    "subtitle": (SUBTITLE_PITCH, SUBTITLE_DEG_PER_PX),
}
CACHED_PICTURES = 16


class HeadLockedOverlays:
    """The overlay program and the pictures' textures (least recently used dropped past CACHED_PICTURES).
    Made and used on the render thread, with the GL context current."""

    def __init__(self) -> None:
        self.program = Program("overlay.vert", "overlay.frag")
        self._gl = held_gl()
        self._cache: OrderedDict[str, tuple[int, int, int]] = OrderedDict()
        self._prepared: object = None  # the last `prepare` list whose pictures were all made (and kept since)

    def close(self) -> None:
        for tex, _, _ in self._cache.values():
            GL.glDeleteTextures([tex])
        self._cache.clear()
        self.program.delete()

    @staticmethod
    def items(overlay: OverlayState) -> list[tuple[str, float, float, float]]:
        """(picture key, alpha, centre pitch, degrees per texel) of each head-locked overlay that shows
        (OverlayState.shown)."""
        return [(key, alpha, *PLACEMENT[key.partition(":")[0]]) for key, alpha in overlay.shown()]

    def prepare(self, states: list[OverlayState], limit: int = 1) -> int:
        """Make the pictures of the overlays ``states`` would show, at most ``limit`` new ones (a text picture
        takes milliseconds); returns how many were made. The playback loop calls it after a frame's submit
        with what may show next (Controller.upcoming_overlays), so a new subtitle or the stop message is
        drawn from a ready texture instead of being rasterised inside a display frame."""
        if states is self._prepared:
            return 0  # the usual display frame: the same list, every picture still cached
        made = 0
        for state in states:
            for key, *_ in self.items(state):
                if key not in self._cache:
                    if made >= limit:
                        return made
                    self.texture(key)
                    made += 1
        self._prepared = states
        return made

    def draw(self, tan: list[float], overlay: OverlayState, srgb: bool) -> bool:
        """The overlays that show, blended over the bound target for an eye whose field of view has these
        tangents (left, right, up, down); True when any did."""
        items = self.items(overlay)
        if not items:
            return False
        p, gl = self.program, self._gl
        p.use()
        gl.glEnable(GL.GL_BLEND)
        gl.glBlendFunc(GL.GL_ONE, GL.GL_ONE_MINUS_SRC_ALPHA)
        gl.glActiveTexture(GL.GL_TEXTURE0)
        gl.glUniform1i(p.loc("u_image"), 0)
        gl.glUniform1i(p.loc("u_linear_out"), 1 if srgb else 0)
        left, right, up, down = tan
        for key, alpha, pitch, deg_per_px in items:
            tex, w, h = self.texture(key)
            if deg_per_px <= 0.0:
                width_deg = height_deg = PAUSE_DEG
            else:
                width_deg, height_deg = w * deg_per_px, h * deg_per_px
            x0, x1 = -math.tan(math.radians(width_deg / 2)), math.tan(math.radians(width_deg / 2))
            y0 = math.tan(math.radians(pitch - height_deg / 2))
            y1 = math.tan(math.radians(pitch + height_deg / 2))
            rect = (
                (2 * x0 - (right + left)) / (right - left),
                (2 * y0 - (up + down)) / (up - down),
                (2 * x1 - (right + left)) / (right - left),
                (2 * y1 - (up + down)) / (up - down),
            )
            gl.glBindTexture(GL.GL_TEXTURE_2D, tex)
            gl.glUniform4f(p.loc("u_rect"), *rect)
            gl.glUniform1f(p.loc("u_alpha"), float(alpha))
            GL.glDrawArrays(GL.GL_TRIANGLE_STRIP, 0, 4)
        gl.glDisable(GL.GL_BLEND)
        return True

    def texture(self, key: str) -> tuple[int, int, int]:
        """(texture, width, height) of an overlay's picture, made now when it is not cached."""
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        kind, _, text = key.partition(":")
        if kind == "icon":
            image = pause_icon()
        elif kind == "message":
            image = text_panel(text, size=44, max_chars=36, background=0.0)
        else:
            image = text_panel(text, size=40, max_chars=42)
        h, w = image.shape[:2]
        tex = rgba_texture(image)
        self._cache[key] = (tex, w, h)
        while len(self._cache) > CACHED_PICTURES:
            _, (old, _, _) = self._cache.popitem(last=False)
            GL.glDeleteTextures([old])
            self._prepared = None  # a prepared picture may be the one dropped
        return tex, w, h
