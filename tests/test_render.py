"""Renderer: golden colours on the calibration films, the 360 seam, YUV->RGB accuracy, layouts, overlays."""

from __future__ import annotations

import numpy as np
import pytest

from content_manifest.sample import BLUE, CYAN, GREEN, RED, WHITE, YELLOW
from player.backends.base import EyeView
from player.render import OverlayState, Renderer
from player.render.projection import head_orientation, symmetric_fov
from tests.render_helpers import away_from_chroma_edges, decode_frames, synthetic_frame

EYE = 128


@pytest.fixture(scope="module")
def gl():
    from player.render.egl import EGLContext

    ctx = EGLContext()
    yield ctx
    ctx.close()


@pytest.fixture(scope="module")
def eyes(gl):
    from player.render.targets import OffscreenTarget

    targets = [OffscreenTarget(EYE, EYE), OffscreenTarget(EYE, EYE)]
    yield targets
    for t in targets:
        t.delete()


@pytest.fixture(scope="module")
def mono_frame(sample_library):
    return decode_frames(sample_library.films["calibration-mono"].path, {15})[15]


@pytest.fixture(scope="module")
def tb_frame(sample_library):
    return decode_frames(sample_library.films["calibration-tb"].path, {15})[15]


def view(heading: float, pitch: float = 0.0, fov: float = 60.0) -> EyeView:
    return EyeView(head_orientation(heading, pitch), symmetric_fov(fov, EYE, EYE))


def centre(image: np.ndarray) -> np.ndarray:
    c = EYE // 2
    return image[c - 2 : c + 2, c - 2 : c + 2].reshape(-1, 3).mean(axis=0)


def assert_colour(pixel: np.ndarray, expected: tuple[int, int, int], what: str) -> None:
    assert np.abs(pixel - np.array(expected)).max() <= 12, f"{what}: got {pixel.round()}, expected {expected}"


@pytest.mark.parametrize(
    ("heading", "pitch", "expected"),
    [(0, 0, RED), (90, 0, GREEN), (180, 0, BLUE), (270, 0, YELLOW), (0, 89, WHITE), (-90, 0, YELLOW)],
)
def test_golden_colours_mono(gl, eyes, mono_frame, heading, pitch, expected):
    renderer = Renderer("equirect360", "mono", 0.0)
    renderer.upload(mono_frame[0])
    renderer.draw_eye(0, view(heading, pitch), eyes[0].target)
    assert_colour(centre(eyes[0].read_rgb()), expected, f"left eye centre at heading {heading} pitch {pitch}")
    renderer.close()


def test_golden_colours_top_bottom(gl, eyes, tb_frame):
    renderer = Renderer("equirect360", "top-bottom", 0.0)
    renderer.upload(tb_frame[0])
    for eye, target in enumerate(eyes):
        renderer.draw_eye(eye, view(0), target.target)
    assert_colour(centre(eyes[0].read_rgb()), RED, "top-bottom left eye at heading 0")
    assert_colour(centre(eyes[1].read_rgb()), CYAN, "top-bottom right eye at heading 0")
    renderer.draw_eye(1, view(90), eyes[1].target)
    assert_colour(centre(eyes[1].read_rgb()), GREEN, "top-bottom right eye at heading 90")
    renderer.close()


def test_front_heading_and_recentre(gl, eyes, mono_frame):
    renderer = Renderer("equirect360", "mono", 90.0)  # the film's heading 90 faces the viewer at start
    renderer.upload(mono_frame[0])
    renderer.draw_eye(0, view(0), eyes[0].target)
    assert_colour(centre(eyes[0].read_rgb()), GREEN, "front_heading 90, head forward")
    # The viewer turned to heading 90 and recentred: what they face now is the film's front_heading again.
    renderer.draw_eye(0, view(90), eyes[0].target, OverlayState(recentre_yaw=90.0))
    assert_colour(centre(eyes[0].read_rgb()), GREEN, "recentred at heading 90")
    renderer.draw_eye(0, view(180), eyes[0].target, OverlayState(recentre_yaw=90.0))
    assert_colour(centre(eyes[0].read_rgb()), BLUE, "recentred at 90, turned a further 90")
    renderer.close()


def test_no_seam_at_heading_180(gl, eyes, mono_frame):
    """The wrap of u runs through the blue disc at heading 180: its column must look like its neighbours."""
    renderer = Renderer("equirect360", "mono", 0.0)
    renderer.upload(mono_frame[0])
    for fov in (60.0, 150.0):  # magnified and minified
        renderer.draw_eye(0, view(180.0, 0.0, fov), eyes[0].target)
        image = eyes[0].read_rgb().astype(np.int32)
        # half the disc's radius on screen, so that the band lies well inside the disc
        r = max(2, int(0.5 * (EYE / 2) * np.tan(np.radians(20)) / np.tan(np.radians(fov / 2))))
        band = image[EYE // 2 - r : EYE // 2 + r, EYE // 2 - r : EYE // 2 + r]
        # Every column of the band inside the disc is the same blue: the largest step between adjacent
        # columns, and any column's distance from the band's median, stay small.
        steps = np.abs(np.diff(band, axis=1)).max()
        median = np.median(band.reshape(-1, 3), axis=0)
        assert steps <= 6, f"fov {fov}: a step of {steps} between adjacent columns at the seam"
        assert np.abs(band - median).max() <= 6, f"fov {fov}: a column differs from the disc colour"
    renderer.close()


def test_seam_matches_reference_sampling(gl, mono_frame):
    """Equirect output across the wrap equals the film's own edge columns (no darker or lighter line)."""
    from player.render.targets import OffscreenTarget

    frame = mono_frame[0]
    target = OffscreenTarget(frame.width, frame.height)
    renderer = Renderer("equirect360", "mono", 0.0)
    renderer.upload(frame)
    renderer.draw_equirect(target.target, 0)
    out = target.read_rgb().astype(np.int32)
    reference = mono_frame[1].to_ndarray(format="rgb24").astype(np.int32)
    rows = slice(frame.height // 2 - 10, frame.height // 2 + 10)
    for col in (0, 1, frame.width - 2, frame.width - 1):
        assert np.abs(out[rows, col] - reference[rows, col]).max() <= 4, f"column {col} at the seam"
    target.delete()
    renderer.close()


def pyav_reference_rgb(av_frame) -> np.ndarray:
    """PyAV's (swscale's) RGB conversion of a frame: rgb24, or rgb48 rounded to 8 bits for 10-bit sources.

    For 10-bit input swscale's rgb24 path is itself off by up to 3/255 in flat areas (measured against the
    exact matrices); its rgb48 path is exact, so that is the reference there.
    """
    if av_frame.format.name in ("yuv420p10le", "p010le"):
        wide = av_frame.to_ndarray(format="rgb48le").astype(np.uint32)
        return ((wide * 255 + 32767) // 65535).astype(np.uint8)
    return av_frame.to_ndarray(format="rgb24")


def _conversion_matches(frame, av_frame, mode: str = "auto") -> float:
    from player.render.targets import OffscreenTarget

    target = OffscreenTarget(frame.width, frame.height)
    renderer = Renderer("equirect360", "mono", 0.0, upload_mode=mode)
    renderer.upload(frame)
    renderer.draw_equirect(target.target, 0)
    out = target.read_rgb().astype(np.int32)
    reference = pyav_reference_rgb(av_frame)
    mask = away_from_chroma_edges(reference)
    mask[:, :2] = mask[:, -2:] = False  # the wrap blends the edge columns by design
    close = (np.abs(out - reference.astype(np.int32)).max(axis=2) <= 3)[mask]
    target.delete()
    renderer.close()
    assert mask.mean() > 0.5, "too few smooth pixels to judge"
    return float(close.mean())


def test_yuv_to_rgb_matches_pyav_on_calibration_film(gl, mono_frame):
    share = _conversion_matches(*mono_frame)
    assert share >= 0.99, f"only {share:.2%} of pixels within 3/255 of PyAV's rgb24"


@pytest.mark.parametrize(
    ("pix_fmt", "colorspace", "color_range"),
    [
        ("yuv420p", "bt709", "limited"),
        ("yuv420p", "bt601", "full"),
        ("yuv420p10le", "bt2020", "limited"),
        ("yuv420p10le", "bt709", "full"),
        ("nv12", "bt709", "limited"),
        ("p010le", "bt2020", "limited"),
    ],
)
def test_yuv_to_rgb_matches_pyav(gl, pix_fmt, colorspace, color_range):
    frame, av_frame = synthetic_frame(pix_fmt, colorspace, color_range)
    assert (frame.colorspace, frame.color_range) == (colorspace, color_range)
    share = _conversion_matches(frame, av_frame)
    assert share >= 0.99, f"{pix_fmt} {colorspace} {color_range}: only {share:.2%} within 3/255"


def test_pbo_upload_matches_direct(gl):
    frame, av_frame = synthetic_frame("yuv420p", "bt709", "limited")
    assert _conversion_matches(frame, av_frame, "pbo") >= 0.99


def test_row_padding_is_respected(gl):
    """A picture whose width is not a multiple of the decoder's alignment has padded rows."""
    frame, av_frame = synthetic_frame("yuv420p", "bt601", "limited", width=250, height=126)
    assert frame.line_sizes[0] > 250
    assert _conversion_matches(frame, av_frame) >= 0.99


def test_equirect180_and_side_by_side(gl, eyes):
    """A 180 SBS picture: left half red, right half cyan; behind the viewer is black."""
    import av

    from player.media.frames import VideoFrame

    rgb = np.zeros((128, 256, 3), np.uint8)
    rgb[:, :128] = RED
    rgb[:, 128:] = CYAN
    yuv = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p")
    renderer = Renderer("equirect180", "left-right", 0.0)
    renderer.upload(VideoFrame.from_av(yuv, pts=0.0, index=0))
    renderer.draw_eye(0, view(0), eyes[0].target)
    renderer.draw_eye(1, view(0), eyes[1].target)
    assert_colour(centre(eyes[0].read_rgb()), RED, "180 SBS left eye")
    assert_colour(centre(eyes[1].read_rgb()), CYAN, "180 SBS right eye")
    renderer.draw_eye(0, view(180), eyes[0].target)
    assert_colour(centre(eyes[0].read_rgb()), (0, 0, 0), "behind a 180 film")
    renderer.draw_eye(0, view(80, 0, 30), eyes[0].target)
    image = eyes[0].read_rgb()
    assert_colour(image[EYE // 2, 4].astype(float), RED, "inside the 180 edge")
    assert_colour(image[EYE // 2, EYE - 4].astype(float), (0, 0, 0), "outside the 180 edge")
    renderer.close()


def test_overlays_fade_in_and_welfare_scene(gl, eyes, mono_frame):
    renderer = Renderer("equirect360", "mono", 0.0)
    renderer.upload(mono_frame[0])
    wide = EyeView(head_orientation(0, 0), symmetric_fov(100.0, EYE, EYE))
    renderer.draw_eye(0, wide, eyes[0].target, OverlayState())
    plain = eyes[0].read_rgb().astype(np.int32)
    renderer.draw_eye(
        0, wide, eyes[0].target, OverlayState(subtitle="Where is the green disc?", subtitle_alpha=1)
    )
    with_subtitle = eyes[0].read_rgb().astype(np.int32)
    changed = np.abs(with_subtitle - plain).max(axis=2) > 30
    rows = np.nonzero(changed.any(axis=1))[0]
    assert changed.sum() > 50, "the subtitle did not appear"
    assert rows.min() > EYE // 2, "the subtitle belongs below the centre of view"
    renderer.draw_eye(
        0, wide, eyes[0].target, OverlayState(subtitle="Where is the green disc?", subtitle_alpha=0.5)
    )
    half = eyes[0].read_rgb().astype(np.int32)
    assert 0 < np.abs(half - plain)[changed].mean() < np.abs(with_subtitle - plain)[changed].mean()

    renderer.draw_eye(0, wide, eyes[0].target, OverlayState(pause_alpha=1.0, paused=True))
    assert (np.abs(eyes[0].read_rgb().astype(np.int32) - plain).max(axis=2) > 30).sum() > 20, "pause icon"

    renderer.draw_eye(0, wide, eyes[0].target, OverlayState(welfare="soften", soften=1.0))
    softened = eyes[0].read_rgb().astype(np.int32)
    assert softened.mean() < plain.mean() * 0.8, "soften dims the picture"

    stop = OverlayState(welfare="stop", soften=1.0, calm=1.0, message="Pausing here.", message_alpha=1.0)
    renderer.draw_eye(0, view(0, 0, 30.0), eyes[0].target, stop)  # narrow: the message is a few degrees tall
    calm = eyes[0].read_rgb()
    assert calm.reshape(-1, 3).mean(axis=0).max() < 60, "the welfare scene is dark"
    assert (calm.max(axis=2) > 150).sum() > 10, "the welfare message is shown"
    assert_colour(calm[8, 8].astype(float), (16, 20, 27), "calm scene, not the film")  # no red disc left
    renderer.close()


def test_srgb_target_shows_the_same_picture(gl, mono_frame):
    from player.render.targets import OffscreenTarget

    plain, srgb = OffscreenTarget(EYE, EYE), OffscreenTarget(EYE, EYE, srgb=True)
    renderer = Renderer("equirect360", "mono", 0.0)
    renderer.upload(mono_frame[0])
    renderer.draw_eye(0, view(30), plain.target)
    renderer.draw_eye(0, view(30), srgb.target)
    diff = np.abs(plain.read_rgb().astype(np.int32) - srgb.read_rgb().astype(np.int32))
    assert np.percentile(diff, 99) <= 3, "an sRGB swapchain must not wash the picture out or darken it"
    for t in (plain, srgb):
        t.delete()
    renderer.close()


def test_no_frame_yet_shows_the_calm_scene(gl, eyes):
    renderer = Renderer()
    renderer.draw_eye(0, view(0), eyes[0].target)
    assert eyes[0].read_rgb().mean() < 40
    renderer.close()


def test_bad_film_layout_is_refused():
    with pytest.raises(ValueError, match="stereo 'over-under'"):
        Renderer("equirect360", "over-under", 0.0)
    with pytest.raises(ValueError, match="projection 'cubemap'"):
        Renderer("cubemap", "mono", 0.0)


def test_side_by_side_360_wraps_inside_each_eye(gl, eyes):
    """Left-right stereo 360: the wrap of each eye blends that eye's own edge columns, not the other eye's."""
    import av

    from content_manifest.sample import eye_picture
    from player.media.frames import VideoFrame

    left, right = eye_picture(256), eye_picture(256, right_eye_cyan=True)
    right[(right == BLUE).all(axis=2)] = GREEN  # the eyes differ at the wrap: any bleed shows as a line
    picture = np.concatenate([left, right], axis=1)
    yuv = av.VideoFrame.from_ndarray(np.ascontiguousarray(picture), format="rgb24").reformat(format="yuv420p")
    renderer = Renderer("equirect360", "left-right", 0.0)
    renderer.upload(VideoFrame.from_av(yuv, pts=0.0, index=0))
    for eye, target in enumerate(eyes):
        renderer.draw_eye(eye, view(0), target.target)
    assert_colour(centre(eyes[0].read_rgb()), RED, "SBS 360 left eye front")
    assert_colour(centre(eyes[1].read_rgb()), CYAN, "SBS 360 right eye front")
    for eye, (target, colour) in enumerate(zip(eyes, (BLUE, GREEN))):
        renderer.draw_eye(eye, view(180), target.target)
        image = target.read_rgb().astype(np.int32)
        band = image[EYE // 2 - 8 : EYE // 2 + 8, EYE // 2 - 8 : EYE // 2 + 8]
        assert np.abs(band - np.array(colour)).max() <= 12, f"eye {eye}: the seam at heading 180 shows"
    renderer.close()


def test_auto_upload_settles_on_the_faster_path(gl):
    """On a GPU driver "auto" times both paths on the first uploads; every upload is right meanwhile."""
    from player.render.targets import OffscreenTarget

    frame, av_frame = synthetic_frame("yuv420p", "bt709", "limited", width=128, height=64)
    renderer = Renderer("equirect360", "mono", 0.0, upload_mode="direct")
    target = OffscreenTarget(frame.width, frame.height)
    renderer.upload(frame)
    renderer.planes.mode = "auto"  # as chosen on a hardware driver
    reference = pyav_reference_rgb(av_frame).astype(np.int32)
    for _ in range(2 * renderer.planes.TRIALS):
        renderer.upload(frame)
        renderer.draw_equirect(target.target, 0)
        inner = np.abs(target.read_rgb().astype(np.int32) - reference)[:, 2:-2]
        assert np.percentile(inner, 95) <= 3
    assert renderer.upload_mode in ("direct", "pbo")
    target.delete()
    renderer.close()


def test_asymmetric_field_of_view(gl, eyes, mono_frame):
    """OpenXR eyes have asymmetric fields of view: forward lands where tan(angle) = 0, not mid-image."""
    import math

    left, right, up, down = math.radians(-60), math.radians(20), math.radians(30), math.radians(-30)
    renderer = Renderer("equirect360", "mono", 0.0)
    renderer.upload(mono_frame[0])
    renderer.draw_eye(0, EyeView(head_orientation(0, 0), (left, right, up, down)), eyes[0].target)
    image = eyes[0].read_rgb().astype(float)
    tl, tr = math.tan(left), math.tan(right)
    x = int((0 - tl) / (tr - tl) * EYE)  # the column looking straight ahead
    assert_colour(image[EYE // 2, x], RED, "straight ahead in an asymmetric eye")
    # the disc (20 degrees radius) ends about 20 degrees left of forward: the centre column is grey there
    x_edge = int((math.tan(math.radians(-25)) - tl) / (tr - tl) * EYE)
    assert np.abs(image[EYE // 2, x_edge] - np.array(RED)).max() > 60
    renderer.close()
