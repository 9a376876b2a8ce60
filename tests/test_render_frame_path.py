"""The renderer's display-frame path: both eyes in one call, GL state calls that keep the interpreter lock,
and overlay pictures made before they show (real GL on Mesa, EGL surfaceless)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from player.backends.base import EyeView, RenderTarget
from player.render import OverlayState, Renderer
from player.render.overlay import OverlayAnimator
from player.render.projection import head_orientation, symmetric_fov
from player.render.text import _premultiply
from player.render.webvtt import Cue, CueTrack
from tests.render_helpers import decode_frames

pytestmark = pytest.mark.timeout(120)
EYE = 96


@pytest.fixture(scope="module")
def gl():
    from player.render.egl import EGLContext

    ctx = EGLContext()
    yield ctx
    ctx.close()


def view(heading: float, pitch: float = 0.0) -> EyeView:
    return EyeView(head_orientation(heading, pitch), symmetric_fov(70.0, EYE, EYE))


OVERLAYS = OverlayState(
    paused=True, pause_alpha=1.0, subtitle="Look in front of you.", subtitle_alpha=1.0, recentre_yaw=20.0
)


@pytest.mark.parametrize("overlay", [OverlayState(), OVERLAYS], ids=["film only", "with overlays"])
@pytest.mark.parametrize("gap", [0, 8], ids=["side by side", "apart"])
def test_both_eyes_in_one_framebuffer_match_each_eye_drawn_alone(gl, sample_library, overlay, gap):
    """The second eye in the first eye's framebuffer keeps its binding, and after an overlay binds the
    film's textures again (an overlay's picture is on unit 0): each eye is what draw_eye alone draws."""
    from player.render.gl import GL
    from player.render.targets import OffscreenTarget, read_framebuffer

    frame = decode_frames(sample_library.films["calibration-tb"].path, {15})[15][0]
    views = [view(10.0, 5.0), view(100.0, -20.0)]  # different per eye: each eye's matrix and picture half
    views[1] = EyeView(views[1].orientation, symmetric_fov(60.0, EYE, EYE))  # and its own field of view
    renderer = Renderer("equirect360", "top-bottom", 0.0)
    renderer.upload(frame)
    shared = OffscreenTarget(2 * EYE + gap, EYE, srgb=True)
    targets = [RenderTarget(shared.framebuffer, EYE, EYE, True, x) for x in (0, EYE + gap)]
    try:
        renderer.draw_eyes(views, targets, overlay)
        together = [read_framebuffer(shared.framebuffer, EYE, EYE, t.x) for t in targets]
        GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, shared.framebuffer)
        GL.glClearColor(0.0, 0.0, 0.0, 1.0)
        GL.glClear(GL.GL_COLOR_BUFFER_BIT)
        for eye, target in enumerate(targets):  # each eye bound and drawn on its own
            renderer.draw_eye(eye, views[eye], target, overlay)
        for eye, target in enumerate(targets):
            alone = read_framebuffer(shared.framebuffer, EYE, EYE, target.x)
            diff = np.abs(together[eye].astype(int) - alone.astype(int))
            assert diff.max() == 0, f"eye {eye}: draw_eyes differs from draw_eye by {diff.max()} levels"
        assert np.abs(together[0].astype(int) - together[1].astype(int)).max() > 40, "the eyes differ"
    finally:
        renderer.close()
        shared.delete()


def test_held_gl_calls_keep_the_lock_and_their_errors_still_surface(gl):
    from OpenGL.error import GLError

    from player.render import glplatform
    from player.render.gl import GL
    from player.render.gl_held import HELD_CALLS, held_gl, holds_the_lock

    held = held_gl()
    for name in HELD_CALLS:
        assert holds_the_lock(getattr(held, name)), f"{name} releases the GIL"
    assert not holds_the_lock(GL.glDrawArrays), "a call that may wait in the driver still releases it"
    was = glplatform.gl_checks_enabled()
    try:
        glplatform.configure_gl_checks(True)
        held.glEnable(0x1234)  # not a capability: GL_INVALID_ENUM, not checked by the held call
        with pytest.raises(GLError):
            GL.glDisable(GL.GL_BLEND)  # the next checked call reports it
        GL.glDisable(GL.GL_BLEND)  # and it is cleared
    finally:
        glplatform.configure_gl_checks(was)


def test_overlay_pictures_are_made_before_they_show_one_per_frame(gl):
    renderer = Renderer()
    animator = OverlayAnimator(stop_message="Take a break.")
    try:
        upcoming = animator.upcoming("Next cue")
        assert animator.upcoming("Next cue") is upcoming, "the same list while nothing changes"
        made = [renderer.prepare_overlays(upcoming) for _ in range(4)]
        assert made == [1, 1, 1, 0], "at most one picture per call: stop message, pause icon, next cue"
        cached = set(renderer.overlays._cache)
        assert {"message:Take a break.", "icon:pause", "subtitle:Next cue"} <= cached
        animator.set_notice("Pairing code 123-456")
        assert renderer.prepare_overlays(animator.upcoming("Next cue")) == 1  # the notice
        for i in range(20):  # other pictures drawn since push the prepared ones out of the cache
            renderer.overlays.texture(f"subtitle:line {i}")
        assert renderer.prepare_overlays(animator.upcoming("Next cue")) == 1, "made again once dropped"
    finally:
        renderer.close()


def test_next_cue_text():
    track = CueTrack([Cue(0.5, 2.0, "One"), Cue(1.5, 3.0, "Two"), Cue(61.0, 62.0, "Three")])
    assert track.next_text(0.0) == "One"
    assert track.next_text(1.0) == "One\nTwo", "what shows when the next cue starts"
    assert track.next_text(2.5) == "Three"
    assert track.next_text(61.5) == ""


def test_text_pictures_are_premultiplied_as_in_floats():
    rng = np.random.default_rng(7)
    rgba = rng.integers(0, 256, size=(40, 60, 4), dtype=np.uint8)
    got = _premultiply(Image.fromarray(rgba, "RGBA"))
    f = rgba.astype(np.float32) / 255.0
    f[..., :3] *= f[..., 3:4]
    expected = (f * 255.0 + 0.5).astype(np.uint8)
    assert got.shape == rgba.shape and got.flags["C_CONTIGUOUS"]
    assert np.abs(got.astype(int) - expected.astype(int)).max() <= 1
