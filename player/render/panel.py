"""Drawing the headset's questionnaire panel (player/control/questionnaire.py decides what): the question's
picture on a world-placed quad, the highlighted choice, the controller's ray and a cursor where it meets the
panel. Call on the thread where the GL context is current."""

from __future__ import annotations

import ctypes
import math
from collections import OrderedDict

import numpy as np

from player.render.gl import GL, rgba_texture
from player.render.panel_layout import Vec
from player.render.program import Program
from player.render.projection import quat_to_matrix

NEAR_M, FAR_M = 0.05, 100.0
RAY_WIDTH_M, CURSOR_M = 0.006, 0.024
HIGHLIGHT = (1.0, 0.72, 0.2, 0.45)  # straight RGB + alpha
RAY = (0.55, 0.85, 1.0, 0.8)
CURSOR = (1.0, 1.0, 1.0, 0.95)


def view_projection(
    orientation: tuple[float, float, float, float], tan: list[float], offset: Vec = (0.0, 0.0, 0.0)
) -> np.ndarray:
    """The eye's 4x4 view-projection (column vectors) from its orientation, fov tangents (left, right, up,
    down) and position ``offset`` from the head's centre (each eye sees the near panel from its own place)."""
    left, right, up, down = tan
    proj = np.array(
        [
            [2 / (right - left), 0, (right + left) / (right - left), 0],
            [0, 2 / (up - down), (up + down) / (up - down), 0],
            [0, 0, -(FAR_M + NEAR_M) / (FAR_M - NEAR_M), -2 * FAR_M * NEAR_M / (FAR_M - NEAR_M)],
            [0, 0, -1, 0],
        ]
    )
    view = np.eye(4)
    view[:3, :3] = quat_to_matrix(orientation).T
    view[:3, 3] = -view[:3, :3] @ np.asarray(offset, dtype=np.float64)
    return proj @ view


def _sub(a: Vec, b: Vec) -> Vec:
    return (a[0] - b[0], a[1] - b[1], a[2] - b[2])


def _scale(a: Vec, s: float) -> Vec:
    return (a[0] * s, a[1] * s, a[2] * s)


def _cross(a: Vec, b: Vec) -> Vec:
    return (a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0])


def _unit(a: Vec) -> Vec | None:
    n = math.sqrt(a[0] * a[0] + a[1] * a[1] + a[2] * a[2])
    return None if n < 1e-9 else (a[0] / n, a[1] / n, a[2] / n)


class PanelRenderer:
    """One program and the current question's texture (a new question or panel: a new picture)."""

    def __init__(self) -> None:
        self.program = Program("panel.vert", "panel.frag")
        self._textures: OrderedDict[tuple, int] = OrderedDict()
        self._matrix = (ctypes.c_float * 16)()

    def close(self) -> None:
        for tex in self._textures.values():
            GL.glDeleteTextures([tex])
        self._textures.clear()
        self.program.delete()

    def draw(self, view, tan: list[float], frame, srgb: bool) -> None:
        """Draw ``frame`` (a PanelFrame) for one eye (an EyeView) into the bound target, blending over what is
        there."""
        p = self.program
        p.use()
        GL.glEnable(GL.GL_BLEND)
        GL.glBlendFunc(GL.GL_ONE, GL.GL_ONE_MINUS_SRC_ALPHA)
        GL.glActiveTexture(GL.GL_TEXTURE0)
        GL.glBindTexture(GL.GL_TEXTURE_2D, self._texture(frame))
        GL.glUniform1i(p.loc("u_image"), 0)
        GL.glUniform1i(p.loc("u_linear_out"), 1 if srgb else 0)
        GL.glUniform1f(p.loc("u_alpha"), float(frame.alpha))
        matrix = view_projection(view.orientation, tan, view.offset)
        self._matrix[:] = [float(v) for v in matrix.ravel()]
        GL.glUniformMatrix4fv(p.loc("u_view_proj"), 1, GL.GL_TRUE, self._matrix)
        pl = frame.placement
        down = _scale(pl.up, -pl.height)
        across = _scale(pl.right, pl.width)
        self._quad(pl.point(0.0, 0.0), across, down, None)
        if frame.highlight is not None:
            u0, v0, u1, v1 = frame.highlight
            self._quad(pl.point(u0, v0), _scale(across, u1 - u0), _scale(down, v1 - v0), HIGHLIGHT)
        lift = _scale(pl.normal, 0.003)  # just in front of the panel
        for origin, end in frame.rays:
            along = _sub(end, origin)
            side = _unit(_cross(along, origin)) or _unit(_cross(along, (0.0, 1.0, 0.0))) or (1.0, 0.0, 0.0)
            start = _sub(origin, _scale(side, RAY_WIDTH_M / 2))
            self._quad(start, along, _scale(side, RAY_WIDTH_M), RAY)
        if frame.cursor is not None:
            c = frame.cursor
            half_r, half_u = _scale(pl.right, CURSOR_M / 2), _scale(pl.up, CURSOR_M / 2)
            corner = (c[0] - half_r[0] + half_u[0] + lift[0], c[1] - half_r[1] + half_u[1] + lift[1],
                      c[2] - half_r[2] + half_u[2] + lift[2])  # fmt: skip
            self._quad(corner, _scale(pl.right, CURSOR_M), _scale(pl.up, -CURSOR_M), CURSOR)
        GL.glDisable(GL.GL_BLEND)

    def _quad(self, origin: Vec, axis_u: Vec, axis_v: Vec, solid: tuple | None) -> None:
        p = self.program
        GL.glUniform3f(p.loc("u_origin"), *origin)
        GL.glUniform3f(p.loc("u_axis_u"), *axis_u)
        GL.glUniform3f(p.loc("u_axis_v"), *axis_v)
        GL.glUniform4f(p.loc("u_solid"), *(solid if solid is not None else (0.0, 0.0, 0.0, -1.0)))
        GL.glDrawArrays(GL.GL_TRIANGLE_STRIP, 0, 4)

    def _texture(self, frame) -> int:
        tex = self._textures.get(frame.key)
        if tex is not None:
            return tex
        tex = rgba_texture(frame.image)
        self._textures[frame.key] = tex
        while len(self._textures) > 2:  # this question and the one before
            _, old = self._textures.popitem(last=False)
            GL.glDeleteTextures([old])
        return tex
