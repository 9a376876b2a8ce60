"""Overlay decisions without GL: WebVTT cues, fades, text rasterisation, colour matrices, projection maths."""

from __future__ import annotations

import math

import numpy as np
import pytest

from player.render import colour, projection
from player.render.overlay import OverlayAnimator
from player.render.text import pause_icon, text_panel
from player.render.webvtt import CueTrack, WebVTTError, parse

VTT = """WEBVTT

NOTE a comment
that spans lines

1
00:00.500 --> 00:02.000 align:center
<i>Look</i> in front of you.

00:01:01.250 --> 00:01:03.000
Two
lines
"""


def test_webvtt_cues_and_text_at():
    cues = parse(VTT, "test.vtt")
    assert [(c.start, c.end) for c in cues] == [(0.5, 2.0), (61.25, 63.0)]
    track = CueTrack(cues)
    assert track.text_at(0.4) == ""
    assert track.text_at(1.0) == "Look in front of you."
    assert track.text_at(62.0) == "Two\nlines"
    assert track.text_at(63.0) == ""


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("hello\n", "test.vtt:1: a WebVTT file starts with 'WEBVTT'"),
        ("WEBVTT\n\n00:01.000 --> 00:00.500\nx\n", "test.vtt:3: cue ends (0.500) before it starts (1.000)"),
        ("WEBVTT\n\n1.5 --> 00:02.000\nx\n", "test.vtt:3: bad cue time '1.5'"),
    ],
)
def test_webvtt_errors_name_file_and_line(text, message):
    with pytest.raises(WebVTTError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse(text, "test.vtt")


def test_welfare_fades_never_cut():
    a = OverlayAnimator()
    a.state(0.0)  # a frame is drawn: what follows fades from it
    a.set_welfare("stop", now=10.0)
    values = [a.state(10.0 + dt).calm for dt in np.linspace(0, 1.0, 11)]
    assert values[0] == 0.0 and values[-1] == 1.0
    assert (np.diff(values) >= 0).all(), "monotonic fade"
    assert max(np.diff(values)) < 0.3, "no jump: a fade, not a cut"
    assert a.state(11.0).message and a.state(11.0).pause_alpha == 0.0
    a.set_welfare("none", now=20.0)
    assert 0.0 < a.state(20.5).calm < 1.0 and a.state(22.0).calm == 0.0
    with pytest.raises(ValueError, match="welfare level 'panic'"):
        a.set_welfare("panic")


def test_before_the_first_frame_a_change_takes_effect_at_once():
    """A listening player starts in the lobby's calm scene with its pairing code, not partway into a fade
    from a film the viewer never saw (the headset's first frame is the calm scene)."""
    a = OverlayAnimator()
    a.set_lobby(True, now=1.0)
    a.set_notice("Pairing code\n123-456", now=1.0)
    first = a.state(1.01)
    assert first.calm == 1.0 and first.message_alpha == 1.0 and first.message == "Pairing code\n123-456"
    a.set_lobby(False, now=2.0)  # a session began: from here on, fades
    assert 0.0 < a.state(2.5).calm < 1.0


def test_pause_and_subtitle_fades_and_recentre():
    a = OverlayAnimator()
    a.state(0.0)  # a frame is drawn: what follows fades from it
    a.set_paused(True, now=1.0)
    assert 0.0 < a.state(1.1).pause_alpha < 1.0 and a.state(2.0).pause_alpha == 1.0
    a.set_subtitle("Hello", now=5.0)
    a.set_subtitle("", now=6.0)
    fading = a.state(6.05)
    assert fading.subtitle == "Hello" and 0.0 < fading.subtitle_alpha < 1.0  # the old cue fades out
    assert a.state(7.0).subtitle == ""
    a.set_recentre(42.0)
    assert a.state(7.0).recentre_yaw == 42.0


def test_text_panel_is_premultiplied_and_wraps():
    short = text_panel("Hi")
    long = text_panel("A much longer subtitle line that has to wrap onto a second line to stay readable")
    assert long.shape[0] > short.shape[0] and long.shape[2] == 4
    assert (long[..., :3] <= long[..., 3:4]).all(), "premultiplied alpha"
    assert pause_icon().shape == (96, 96, 4)


@pytest.mark.parametrize("space", ["bt601", "bt709", "bt2020"])
def test_colour_matrices_map_black_white_and_primaries(space):
    m, o = colour.yuv_to_rgb(space, "limited", 8)
    assert np.allclose(m @ np.array([16, 128, 128]) + o, 0, atol=1e-6)
    assert np.allclose(m @ np.array([235, 128, 128]) + o, 1, atol=1e-6)
    m10, o10 = colour.yuv_to_rgb(space, "full", 10)
    assert np.allclose(m10 @ np.array([1023, 512, 512]) + o10, 1, atol=2e-3)
    kr, kb = colour.LUMA_COEFFICIENTS[space]
    red_y = 16 + 219 * kr  # pure red in limited range: Y = 16 + 219 Kr, Cr = 128 + 112
    rgb = m @ np.array([red_y, 128 - 112 * kr / (1 - kb), 240]) + o
    assert np.allclose(rgb, [1, 0, 0], atol=1e-6)
    with pytest.raises(ValueError, match="colorspace 'srgb'"):
        colour.yuv_to_rgb("srgb", "full", 8)


def test_head_orientation_conventions():
    assert projection.forward_heading_pitch(projection.head_orientation(90, 0)) == pytest.approx((90, 0))
    assert projection.forward_heading_pitch(projection.head_orientation(-30, 45)) == pytest.approx((-30, 45))
    # the film yaw moves what the viewer faces: front_heading 90 puts film heading 90 straight ahead
    d = projection.eye_to_film(projection.IDENTITY, 90.0) @ np.array([0.0, 0.0, -1.0])
    assert math.degrees(math.atan2(d[0], -d[2])) == pytest.approx(90.0)
    u, v, inside = projection.direction_to_equirect(d, "equirect360")
    assert (u, v, inside) == pytest.approx((0.75, 0.5, True))
    assert projection.direction_to_equirect(np.array([0, 0, 1.0]), "equirect180")[2] is False
