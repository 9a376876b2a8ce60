"""The renderer: the film's YUV planes on the GPU, drawn per pixel into whatever target a backend gives.

One fullscreen triangle per eye; the fragment shader turns the pixel's view ray into equirect coordinates,
samples the planes and converts YUV to RGB with the frame's colour matrix and range. Head-locked overlays
(subtitles, welfare message, pause indicator) are quads at infinity drawn on top with premultiplied alpha.
All methods must be called on the thread where the GL context is current.
"""

from __future__ import annotations

import ctypes
import math
import time

from player.media.frames import VideoFrame
from player.render import colour, projection
from player.render.gl import GL
from player.render.gl_held import held_gl
from player.render.head_locked import HeadLockedOverlays
from player.render.overlay import OverlayState
from player.render.planes import PlaneTextures
from player.render.program import Program
from player.render.views import EyeView, RenderTarget

PROJECTIONS = ("equirect360", "equirect180")
STEREO_LAYOUTS = ("mono", "top-bottom", "left-right")
EYE_ORDERS = ("left-first", "right-first")

# The film shader's #defines, in the order of `_film_setup`'s switches (see shaders/film.frag).
FILM_FLAGS = (
    "INTERLEAVED",
    "PROJECTION_180",
    "MODE_EQUIRECT",
    "WRAP_REGION",
    "HAS_FRAME",
    "EFFECTS",
    "LINEAR_OUT",
)
_IDENTITY = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0)
_NO_OVERLAY = OverlayState()


def _eye_to_film(yaw: tuple[float, ...], q: tuple[float, float, float, float]) -> tuple[float, ...]:
    """``yaw @ quat_to_matrix(q)`` row-major in plain floats (projection.eye_to_film without numpy
    temporaries: this runs per eye and display frame)."""
    x, y, z, w = q
    n = math.sqrt(x * x + y * y + z * z + w * w) or 1.0
    x, y, z, w = x / n, y / n, z / n, w / n
    r00, r01, r02 = 1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)
    r10, r11, r12 = 2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)
    r20, r21, r22 = 2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)
    a0, a1, a2, b0, b1, b2, c0, c1, c2 = yaw
    return (
        a0 * r00 + a1 * r10 + a2 * r20, a0 * r01 + a1 * r11 + a2 * r21, a0 * r02 + a1 * r12 + a2 * r22,
        b0 * r00 + b1 * r10 + b2 * r20, b0 * r01 + b1 * r11 + b2 * r21, b0 * r02 + b1 * r12 + b2 * r22,
        c0 * r00 + c1 * r10 + c2 * r20, c0 * r01 + c1 * r11 + c2 * r21, c0 * r02 + c1 * r12 + c2 * r22,
    )  # fmt: skip


def eye_region(
    stereo: str, eye_index: int, eye_order: str = "left-first"
) -> tuple[float, float, float, float]:
    """The eye's rectangle in the picture (s0, t0, width, height), t0 measured from the top row; a
    right-first film has the right eye's picture on top (or on the left)."""
    second = (eye_index % 2 == 1) != (eye_order == "right-first")
    if stereo == "top-bottom":
        return (0.0, 0.5 if second else 0.0, 1.0, 0.5)
    if stereo == "left-right":
        return (0.5 if second else 0.0, 0.0, 0.5, 1.0)
    return (0.0, 0.0, 1.0, 1.0)


class Renderer:
    """Draws one film for any number of eyes; see docs/renderer.md."""

    def __init__(
        self,
        projection: str = "equirect360",
        stereo: str = "mono",
        front_heading: float = 0.0,
        *,
        upload_mode: str = "auto",
        eye_order: str = "left-first",
    ) -> None:
        self.set_film(projection, stereo, front_heading, eye_order)
        self._upload_mode = upload_mode
        self._ready = False
        self.frame: VideoFrame | None = None
        self.last_upload_ms = 0.0
        self._conversion: colour.YuvConversion | None = None
        self._yaw: tuple[float, tuple[float, ...]] | None = None
        self._matrix = (ctypes.c_float * 9)()  # u_eye_to_film, row-major (uploaded transposed)
        self._panel = None  # the questionnaire panel's drawing, made on first use

    # -- set-up -----------------------------------------------------------------------------------------
    def set_film(
        self, projection: str, stereo: str, front_heading: float, eye_order: str = "left-first"
    ) -> None:
        if eye_order not in EYE_ORDERS:
            raise ValueError(f"eye_order {eye_order!r}: expected one of {', '.join(EYE_ORDERS)}")
        self.eye_order = eye_order
        if projection not in PROJECTIONS:
            raise ValueError(f"projection {projection!r}: expected one of {', '.join(PROJECTIONS)}")
        if stereo not in STEREO_LAYOUTS:
            raise ValueError(f"stereo {stereo!r}: expected one of {', '.join(STEREO_LAYOUTS)}")
        self.projection, self.stereo, self.front_heading = projection, stereo, float(front_heading)
        self._regions = (eye_region(stereo, 0, eye_order), eye_region(stereo, 1, eye_order))

    def _ensure_gl(self) -> None:
        if self._ready:
            return
        self._film_programs: dict[tuple[str, ...], Program] = {}
        self._programs_by_switches: dict[tuple[bool, ...], Program] = {}
        self.overlays = HeadLockedOverlays()
        self.vao = int(GL.glGenVertexArrays(1))
        self.planes = PlaneTextures(self._upload_mode)
        self._gl = held_gl()  # the state calls made per eye and display frame, keeping the GIL (gl_held.py)
        self._ready = True

    @property
    def upload_mode(self) -> str:
        self._ensure_gl()
        return self.planes.mode

    def close(self) -> None:
        if not self._ready:
            return
        self.planes.release()
        self.overlays.close()
        GL.glDeleteVertexArrays(1, [self.vao])
        for program in self._film_programs.values():
            program.delete()
        self._film_programs.clear()
        self._programs_by_switches.clear()
        if self._panel is not None:
            self._panel.close()
            self._panel = None
        self._ready = False

    # -- frames -----------------------------------------------------------------------------------------
    def upload(self, frame: VideoFrame) -> None:
        """Copy a new picture's planes into the textures (call only when the frame changed)."""
        self._ensure_gl()
        start = time.perf_counter()
        self.planes.upload(frame)
        if (
            self.frame is None
            or self._conversion is None
            or (frame.pix_fmt, frame.colorspace, frame.color_range)
            != (self.frame.pix_fmt, self.frame.colorspace, self.frame.color_range)
        ):
            self._conversion = colour.conversion_for(frame.pix_fmt, frame.colorspace, frame.color_range)
        self.frame = frame
        self.last_upload_ms = (time.perf_counter() - start) * 1000.0

    def clear_frame(self) -> None:
        """Forget the current picture (a new film is loading): the calm scene shows until the next upload."""
        self.frame = None

    # -- drawing ----------------------------------------------------------------------------------------
    def draw_eye(
        self, eye_index: int, view: EyeView, target: RenderTarget, overlay: OverlayState | None = None
    ) -> None:
        """Draw the film as seen by one eye into ``target``, then the head-locked overlays."""
        self.draw_eyes([view], [target], overlay, first_eye=eye_index)

    def draw_eyes(
        self,
        views: list[EyeView],
        targets: list[RenderTarget],
        overlay: OverlayState | None = None,
        first_eye: int = 0,
    ) -> None:
        """``draw_eye`` for every eye of one display frame, in order (eye ``first_eye`` first).

        What is the same for every eye is done once: the film's program, its planes and uniforms, and the
        framebuffer's binding and state while the next eye is drawn into the same one (one swapchain, the eyes
        side by side: only its viewport is set). Per eye: the view's matrix and field of view, and the draw.
        Nothing else touches GL state between the eyes while this call runs."""
        self._ensure_gl()
        overlay = overlay or _NO_OVERLAY
        gl = self._gl
        over = overlay.panel is not None or bool(overlay.shown())  # something is drawn over the film
        yaw = self._film_yaw_matrix(self.front_heading - overlay.recentre_yaw)
        previous, program = None, None
        for eye, (view, target) in enumerate(zip(views, targets), first_eye):
            same = (target.framebuffer, target.srgb) == previous
            if same:
                gl.glViewport(target.x, 0, target.width, target.height)
            else:
                self._bind_target(target)
            if program is None or not same or over:  # an overlay's or the panel's drawing changed the state
                program = self._film_setup(0, overlay, target.srgb)
            fov = view.fov
            tan = [math.tan(fov[0]), math.tan(fov[1]), math.tan(fov[2]), math.tan(fov[3])]  # l, r, u, d
            self._film_eye(
                program, eye, _eye_to_film(yaw, view.orientation), (tan[0], tan[1], tan[3], tan[2])
            )
            if over:
                self._draw_panel(view, tan, overlay, target.srgb)
                self.overlays.draw(tan, overlay, target.srgb)
            previous = (target.framebuffer, target.srgb)
        gl.glBindVertexArray(0)

    def draw_equirect(self, target: RenderTarget, eye: int = 0, overlay: OverlayState | None = None) -> None:
        """Convert the current frame's picture for ``eye`` into an RGB equirect image filling ``target``.

        For compositor equirect layers: call once per video frame, not per display frame. Welfare softening
        and the calm scene apply; head-locked overlays do not (they belong to a projection or quad layer).
        """
        self._ensure_gl()
        overlay = overlay or OverlayState()
        self._bind_target(target)
        self._film_eye(self._film_setup(1, overlay, target.srgb), eye, _IDENTITY, (-1.0, 1.0, -1.0, 1.0))
        self._gl.glBindVertexArray(0)

    def draw_overlays(
        self, eye_index: int, view: EyeView, target: RenderTarget, overlay: OverlayState | None = None
    ) -> bool:
        """Only the head-locked overlays, on a cleared transparent ``target`` (premultiplied alpha): for a
        compositor layer over an OpenXR equirect layer. False, with the target untouched, when none shows."""
        overlay = overlay or OverlayState()
        if not overlay.shows_anything:
            return False
        self._ensure_gl()
        self._bind_target(target)
        GL.glClearColor(0.0, 0.0, 0.0, 0.0)
        GL.glClear(GL.GL_COLOR_BUFFER_BIT)
        tan = [math.tan(a) for a in view.fov]
        self._draw_panel(view, tan, overlay, target.srgb)
        self.overlays.draw(tan, overlay, target.srgb)
        self._gl.glBindVertexArray(0)
        return True

    def _film_yaw_matrix(self, film_yaw: float) -> tuple[float, ...]:
        """`projection.yaw_matrix` (row-major, 9 floats), remembered for the last yaw (it changes only with a
        recentre)."""
        if self._yaw is None or self._yaw[0] != film_yaw:
            self._yaw = (film_yaw, tuple(float(v) for v in projection.yaw_matrix(film_yaw).ravel()))
        return self._yaw[1]

    def _bind_target(self, target: RenderTarget) -> None:
        gl = self._gl
        GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, target.framebuffer)
        gl.glViewport(target.x, 0, target.width, target.height)
        gl.glDisable(GL.GL_DEPTH_TEST)
        gl.glDisable(GL.GL_CULL_FACE)
        gl.glDisable(GL.GL_SCISSOR_TEST)
        gl.glDisable(GL.GL_BLEND)
        if target.srgb:
            gl.glEnable(GL.GL_FRAMEBUFFER_SRGB)
        else:
            gl.glDisable(GL.GL_FRAMEBUFFER_SRGB)
        gl.glBindVertexArray(self.vao)  # the film's, the overlays' and the panel's draws use it

    def _film_setup(self, mode: int, overlay: OverlayState, srgb: bool) -> Program:
        """Make the film's program for this picture, mode and overlay current, with its planes and the
        uniforms every eye shares (`_film_eye` then draws each eye; `_bind_target` bound the vertex array)."""
        frame, conv = self.frame, self._conversion
        has_frame = frame is not None and conv is not None
        interleaved = has_frame and len(self.planes.specs) == 2
        p = self._film_program_for(
            (
                interleaved,
                self.projection == "equirect180",
                mode == 1,
                self.projection == "equirect360" and self.stereo == "left-right",  # eyes half the width
                has_frame,
                overlay.soften > 0.0 or overlay.calm > 0.0,
                srgb,
            )
        )
        gl = self._gl
        p.use()
        if has_frame:
            for unit, tex in enumerate(self.planes.textures):
                gl.glActiveTexture(GL.GL_TEXTURE0 + unit)
                gl.glBindTexture(GL.GL_TEXTURE_2D, tex)
            # The picture's uniforms change only with its format, size or colour: set them when those change
            # for this program, not per eye and display frame (a program keeps its uniforms' values).
            key = (self.planes.key, frame.colorspace, frame.color_range)  # what `conv` was made from
            if p.uniform_key != key:
                self._set_picture_uniforms(p, conv, interleaved)
                p.uniform_key = key
        # Values a program already holds are not sent again (a program keeps its uniforms' values).
        p.set1f("u_soften", float(overlay.soften))
        p.set1f("u_calm", float(overlay.calm))
        return p

    def _film_eye(
        self,
        p: Program,
        eye_index: int,
        matrix: tuple[float, ...],
        tan_ldru: tuple[float, float, float, float],
    ) -> None:
        """Draw one eye with ``p`` (made current by `_film_setup`): its part of the picture, its view."""
        p.set4f("u_region", self._regions[eye_index % 2])
        self._matrix[:] = matrix
        self._gl.glUniformMatrix3fv(p.loc("u_eye_to_film"), 1, GL.GL_TRUE, self._matrix)
        p.set4f("u_tan", tan_ldru)
        GL.glDrawArrays(GL.GL_TRIANGLES, 0, 3)

    def _set_picture_uniforms(self, p: Program, conv: colour.YuvConversion, interleaved: bool) -> None:
        specs = self.planes.specs
        GL.glUniform1i(p.loc("u_plane0"), 0)
        GL.glUniform1i(p.loc("u_plane1"), 1)
        GL.glUniform1i(p.loc("u_plane2"), 1 if interleaved else 2)
        GL.glUniform2f(p.loc("u_luma_size"), specs[0].width, specs[0].height)
        GL.glUniform2f(p.loc("u_chroma_size"), specs[1].width, specs[1].height)
        GL.glUniform1f(p.loc("u_scale"), conv.scale)
        GL.glUniformMatrix3fv(p.loc("u_yuv_matrix"), 1, GL.GL_TRUE, conv.matrix)
        GL.glUniform3f(p.loc("u_yuv_offset"), *(float(v) for v in conv.offset))

    def _film_program_for(self, switches: tuple[bool, ...]) -> Program:
        """`_film_program` for the on/off state of each of FILM_FLAGS (remembered per state)."""
        program = self._programs_by_switches.get(switches)
        if program is None:
            flags = tuple(name for name, on in zip(FILM_FLAGS, switches) if on)
            program = self._programs_by_switches[switches] = self._film_program(flags)
        return program

    def _film_program(self, flags: tuple[str, ...]) -> Program:
        """The film shader specialised for these flags (compiled once each; see shaders/film.frag)."""
        program = self._film_programs.get(flags)
        if program is None:
            program = self._film_programs[flags] = Program("fullscreen.vert", "film.frag", defines=flags)
        return program

    # -- overlays ---------------------------------------------------------------------------------------
    def _draw_panel(self, view: EyeView, tan: list[float], overlay: OverlayState, srgb: bool) -> bool:
        """The headset questionnaire's world-placed panel (player/render/panel.py), when one shows (True)."""
        if overlay.panel is None:
            return False
        if self._panel is None:
            from player.render.panel import PanelRenderer

            self._panel = PanelRenderer()
        self._panel.draw(view, tan, overlay.panel, srgb)
        return True

    def prepare_overlays(self, states: list[OverlayState], limit: int = 1) -> int:
        """``HeadLockedOverlays.prepare``: the pictures of what may show next, made off a frame's critical
        path (the playback loop calls it after a frame's submit with Controller.upcoming_overlays)."""
        self._ensure_gl()
        return self.overlays.prepare(states, limit)
