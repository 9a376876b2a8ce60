"""The shader shows every pixel format of the supported list as PyAV converts it, and honours eye order."""

from __future__ import annotations

import numpy as np
import pytest

from content_manifest.formats import PIXEL_FORMATS
from content_manifest.sample import CYAN, RED
from player.backends.base import EyeView
from player.render import Renderer
from player.render.projection import head_orientation, symmetric_fov
from tests.render_helpers import away_from_chroma_edges, decode_frames, synthetic_frame


@pytest.fixture(scope="module")
def gl():
    from player.render.egl import EGLContext

    ctx = EGLContext()
    yield ctx
    ctx.close()


def _reference(av_frame) -> np.ndarray:
    if PIXEL_FORMATS[av_frame.format.name].depth > 8:  # swscale's rgb48 path is the exact one at 10/12 bits
        wide = av_frame.to_ndarray(format="rgb48le").astype(np.uint32)
        return ((wide * 255 + 32767) // 65535).astype(np.uint8)
    return av_frame.to_ndarray(format="rgb24")


@pytest.mark.parametrize(
    ("pix_fmt", "color_range"),
    [
        ("yuv422p", "limited"),
        ("yuvj422p", "full"),
        ("yuv444p", "limited"),
        ("yuvj444p", "full"),
        ("yuvj420p", "full"),
        ("yuv422p10le", "limited"),
        ("yuv444p10le", "full"),
        ("yuv420p12le", "limited"),
        ("yuv444p12le", "limited"),
        ("yuva444p10le", "limited"),  # ProRes 4444 with alpha: the alpha plane is not used
        ("yuva420p", "limited"),
    ],
)
def test_every_listed_format_converts_like_pyav(gl, pix_fmt, color_range):
    from player.render.targets import OffscreenTarget

    frame, av_frame = synthetic_frame(pix_fmt, "bt709", color_range, width=256, height=256)
    assert frame.color_range == color_range
    target = OffscreenTarget(frame.width, frame.height)
    renderer = Renderer("equirect360", "mono", 0.0)
    try:
        renderer.upload(frame)
        renderer.draw_equirect(target.target, 0)
        out = target.read_rgb().astype(np.int32)
    finally:
        target.delete()
        renderer.close()
    reference = _reference(av_frame)
    mask = away_from_chroma_edges(reference)
    mask[:, :2] = mask[:, -2:] = False  # the wrap blends the edge columns by design
    close = (np.abs(out - reference.astype(np.int32)).max(axis=2) <= 3)[mask]
    assert close.mean() >= 0.99, f"{pix_fmt}: only {close.mean():.2%} within 3/255"


def test_yuvj_is_full_range_whatever_the_stream_says(gl):
    from player.render import colour

    limited = colour.conversion_for("yuv420p", "bt709", "limited")
    forced = colour.conversion_for("yuvj420p", "bt709", "limited")
    full = colour.conversion_for("yuv420p", "bt709", "full")
    assert np.allclose(forced.matrix, full.matrix) and not np.allclose(forced.matrix, limited.matrix)


def test_right_eye_first_swaps_the_halves(gl, sample_library):
    """calibration-tb has the left eye (red ahead) on top and the right eye (cyan ahead) below; declared
    right-first, the left eye is the bottom half."""
    from player.render.targets import OffscreenTarget

    frame, _keep = decode_frames(sample_library.films["calibration-tb"].path, {15})[15]
    view = EyeView(head_orientation(0.0, 0.0), symmetric_fov(40.0, 32, 32))
    target = OffscreenTarget(32, 32)
    seen = {}
    for order in ("left-first", "right-first"):
        renderer = Renderer("equirect360", "top-bottom", 0.0, eye_order=order)
        renderer.upload(frame)
        for eye in (0, 1):
            renderer.draw_eye(eye, view, target.target)
            seen[order, eye] = tuple(target.read_rgb()[14:18, 14:18].reshape(-1, 3).mean(axis=0).round())
        renderer.close()
    target.delete()

    def near(got, want):
        return max(abs(g - w) for g, w in zip(got, want)) <= 24

    assert near(seen["left-first", 0], RED) and near(seen["left-first", 1], CYAN)
    assert near(seen["right-first", 0], CYAN) and near(seen["right-first", 1], RED)
