"""The headset questionnaire without a runtime: the command's checks, the ray-panel maths, the controller's
flow (answers as questionnaire.answered, a welfare stop wins) and the panel drawn with real GL on Mesa.
Under Monado with its controllers: tests/test_xr_questionnaire.py."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from player import protocol as P
from player.backends.base import EyeView
from player.control import CommandError, Controller
from player.render import OverlayState, Renderer
from player.render.panel_layout import intersect, layout, place
from player.render.projection import head_orientation, symmetric_fov
from tests.support import wait_for

LIKERT = {
    "instrument": "understanding",
    "item": "aware",
    "text": "I understand better what a child in this home goes through.",
    "kind": "likert",
    "labels": ["Strongly disagree", "Disagree", "Neither", "Agree", "Strongly agree"],
}
YES_NO = {"instrument": "post", "item": "recommend", "text": "Would you recommend it?", "kind": "yes_no"}


def check(args: dict) -> dict:
    return P.check_args(P.COMMANDS["questionnaire.show"].args, args)


@pytest.mark.parametrize(
    ("items", "fragment"),
    [
        ([], "args.items: expected a list of 1..64 items"),
        ([{**YES_NO, "kind": "text"}], "args.items[0].kind: free text is answered on the tablet"),
        ([{**LIKERT, "labels": ["a"] * 6}], "args.items[0].labels: a likert item takes 5 or 7 labels"),
        ([YES_NO, {**YES_NO, "colour": "red"}], "args.items[1].colour: unknown field"),
        ([{**YES_NO, "item": ""}], "args.items[0].item: expected an id"),
        ([{**YES_NO, "text": "x" * 501}], "args.items[0].text: expected text of 1..500"),
        ([{**YES_NO, "kind": "choice", "labels": ["only"]}], "args.items[0].labels: a choice item takes"),
    ],
)
def test_show_refuses_bad_items_naming_where(items, fragment):
    with pytest.raises(P.ProtocolError) as e:
        check({"phase": "post", "items": items})
    assert e.value.code == "bad_args" and fragment in e.value.message, e.value.message


def test_choices_answer_as_the_participant_view_does():
    assert P.COMMANDS["questionnaire.show"].lead_only and P.COMMANDS["questionnaire.show"].logged
    assert [v for _, v in P.questionnaire_choices(LIKERT)] == [1, 2, 3, 4, 5]
    assert [v for _, v in P.questionnaire_choices(YES_NO)] == ["yes", "no"]
    assert [v for _, v in P.questionnaire_choices({"kind": "scale_0_10"})] == list(range(11))
    ssq = {"kind": "ssq", "labels": ["None", "Slight", "Moderate", "Severe"]}
    assert [v for _, v in P.questionnaire_choices(ssq)] == [0, 1, 2, 3]
    assert [v for _, v in P.questionnaire_choices({"kind": "choice", "labels": ["A", "B"]})] == ["A", "B"]


def aim_at(placement, lay, choice: int, origin=(0.2, -0.35, -0.3)):
    """A ray from a hand at ``origin`` (head-centred) to the middle of a choice's box."""
    u0, v0, u1, v1 = lay.uv_box(choice)
    target = placement.point((u0 + u1) / 2, (v0 + v1) / 2)
    return origin, tuple(t - o for t, o in zip(target, origin))


@pytest.mark.parametrize("heading", [0.0, 90.0, -135.0])
def test_ray_meets_the_panel_where_aimed(heading):
    lay = layout(LIKERT)
    panel = place(heading, lay)
    for choice in range(5):
        origin, direction = aim_at(panel, lay, choice)
        u, v, dist = intersect(panel, origin, direction)
        assert lay.choice_at(u, v) == choice
        assert 0.5 < dist < 3.0
    # straight from the head at the centre: the middle of the panel
    u, v, _ = intersect(panel, (0.0, 0.0, 0.0), panel.centre)
    assert abs(u - 0.5) < 1e-9 and abs(v - 0.5) < 1e-9
    # pointing away, parallel, from behind, or beside the panel: no hit
    assert intersect(panel, (0.0, 0.0, 0.0), tuple(-c for c in panel.centre)) is None
    assert intersect(panel, (0.0, 0.0, 0.0), panel.right) is None
    behind = tuple(2.0 * c for c in panel.centre)
    assert intersect(panel, behind, tuple(-c for c in panel.centre)) is None
    wide = panel.point(1.4, 0.5)
    assert intersect(panel, (0.0, 0.0, 0.0), wide) is None


def test_long_and_wide_text_stays_on_the_panel():
    """Hostile but valid items: twelve 80-character options, a 500-character Chinese question; nothing is
    drawn into the panel's margins (text is shrunk to fit)."""
    from player.render.panel_layout import PAD, picture

    item = {"instrument": "i", "item": "q", "kind": "choice", "text": "这是一个很长的问题" * 55,
            "labels": [(f"{i} " + "an option that goes on and on " * 3)[:80] for i in range(12)]}  # fmt: skip
    assert check({"phase": "pre", "items": [item]})
    image = picture(item, 0, 1)
    assert image.shape[1] == 900 and image.shape[0] == layout(item).height
    margins = np.concatenate([image[:, 4 : PAD - 8], image[:, 900 - PAD + 8 : 896]], axis=1)
    assert margins[..., 0].max() < 60, "text drawn into the margins"


def drawn(c: Controller) -> None:
    """Wait until the shown item's picture is drawn (off the render thread)."""
    wait_for(lambda: c.status().get("questionnaire", {}).get("drawn"), timeout=20.0)


def point_at(c: Controller, choice: int, hand: str = "right") -> None:
    drawn(c)
    shown = c._shown
    c.point({hand: aim_at(shown.placement, shown.layout, choice)})


def test_answers_are_the_tablets_event_from_the_headset(controller):
    c = controller
    c.enter_lobby()
    with pytest.raises(CommandError) as e:  # no consented session: no panel
        c.dispatch("questionnaire.show", {"phase": "post", "items": [LIKERT]})
    assert e.value.code == P.E_NO_CONSENT
    c.open_session(pose_capture=False)
    c.report_pose(head_orientation(90.0), 0.0)  # the viewer looks right: the panel hangs there
    assert c.dispatch("questionnaire.show", {"phase": "post", "items": [LIKERT, YES_NO]})["heading"] == 90.0
    assert c.status()["questionnaire"]["index"] == 0
    drawn(c)
    assert c.overlay_state().panel is not None
    assert not c.select("right"), "no ray yet: the trigger does nothing"
    point_at(c, 3)
    assert c.status()["questionnaire"]["pointing"] == {"right": 3}
    frame = c.overlay_state().panel
    assert frame.highlight == c._shown.layout.uv_box(3) and frame.cursor is not None
    c.viewer_event("recentre", {"source": "viewer"})  # ignored while the panel shows
    assert "viewer.recentre" not in [k for k, _ in c.events]
    c.viewer_event("select", {"source": "viewer", "hand": "right"})
    point_at(c, 1, hand="left")
    c.viewer_event("select", {"source": "viewer", "hand": "left"})
    answers = [d for k, d in c.events if k == "questionnaire.answered"]
    assert answers == [
        {"instrument": "understanding", "item": "aware", "phase": "post", "value": 4, "by": "headset",
         "source": "headset"},
        {"instrument": "post", "item": "recommend", "phase": "post", "value": "no", "by": "headset",
         "source": "headset"},
    ]  # fmt: skip
    closed = [d for k, d in c.events if k == "questionnaire.closed"]
    assert closed == [{"phase": "post", "reason": "answered", "answered": 2, "items": 2}]
    assert "questionnaire" not in c.status() and c.overlay_state().panel is None
    assert all(k in P.EVENTS for k, _ in c.events)


def test_welfare_stop_wins_over_the_panel(controller):
    c = controller
    c.dispatch("questionnaire.show", {"phase": "pre", "items": [YES_NO]})
    point_at(c, 0)
    assert c.overlay_state().panel.alpha == 1.0  # a frame drawn with the panel: what the stop fades from
    done = threading.Event()
    with c._panel_lock:  # the render thread in the middle of the panel: STOP must not wait for it
        t = threading.Thread(target=lambda: (c.dispatch("welfare", {"action": "stop"}), done.set()))
        t.start()
        assert done.wait(10.0), "welfare stop waited on the questionnaire panel"
    t.join()
    assert c.status()["questionnaire"]["hidden"]
    fading = [c.overlay_state(now=c.welfare_at + dt).panel for dt in (0.0, 0.4, 0.8)]
    assert fading[0].alpha > fading[1].alpha > 0.0 and fading[2] is None, "a fade, not a cut"
    assert not c.select("right"), "no answer under the calm scene"
    c.dispatch("welfare", {"action": "resume"})
    assert c.select("right")
    assert [d["value"] for k, d in c.events if k == "questionnaire.answered"] == ["yes"]


def test_cancel_and_session_end_take_the_panel_away(controller):
    c = controller
    assert c.dispatch("questionnaire.cancel", {}) == {"cancelled": False}
    c.dispatch("questionnaire.show", {"phase": "pre", "items": [YES_NO, LIKERT]})
    c.dispatch("questionnaire.show", {"phase": "post", "items": [YES_NO]})
    assert c.dispatch("questionnaire.cancel", {}) == {"cancelled": True}
    closed = [d["reason"] for k, d in c.events if k == "questionnaire.closed"]
    assert closed == ["replaced", "cancelled"]
    c.dispatch("questionnaire.show", {"phase": "post", "items": [YES_NO]})
    c.enter_lobby()
    assert "questionnaire" not in c.status() and not c.select("right")


# -- the panel drawn with real GL on Mesa (EGL surfaceless) -------------------------------------------------

EYE = 256


@pytest.fixture(scope="module")
def gl():
    from player.render.egl import EGLContext

    ctx = EGLContext()
    yield ctx
    ctx.close()


def pixel_of(point, view: EyeView) -> tuple[int, int]:
    from player.render.panel import view_projection

    tan = [np.tan(a) for a in view.fov]
    clip = view_projection(view.orientation, tan) @ np.array([*point, 1.0])
    x, y = clip[0] / clip[3], clip[1] / clip[3]
    return round((x + 1) / 2 * EYE), round((1 - y) / 2 * EYE)  # column, row from the top


def test_panel_highlight_ray_and_cursor_drawn_on_mesa(gl, controller):
    from player.render.targets import OffscreenTarget

    c = controller
    c.report_pose(head_orientation(30.0), 0.0)
    c.dispatch("questionnaire.show", {"phase": "post", "items": [LIKERT]})
    point_at(c, 2)
    frame = c.overlay_state().panel
    view = EyeView(head_orientation(30.0, -6.0), symmetric_fov(100.0, EYE, EYE))
    target = OffscreenTarget(EYE, EYE)
    renderer = Renderer()
    try:
        renderer.draw_eye(0, view, target.target, OverlayState(panel=frame))
        with_panel = target.read_rgb().astype(int)
        renderer.draw_eye(0, view, target.target, OverlayState())
        without = target.read_rgb().astype(int)
    finally:
        renderer.close()
        target.delete()
    lay, pl = c._shown.layout, c._shown.placement

    def at(u: float, v: float, image: np.ndarray) -> np.ndarray:
        col, row = pixel_of(pl.point(u, v), view)
        return image[row - 1 : row + 2, col - 1 : col + 2].reshape(-1, 3).mean(axis=0)

    # the highlighted choice is amber, another choice its plain slate; the panel hides the calm scene
    u0, v0, _, v1 = lay.uv_box(2)
    lit = at(u0 + 0.05, (v0 + v1) / 2, with_panel)
    assert lit[0] > lit[2] + 60, f"highlight not amber: {lit}"
    u0, v0, _, v1 = lay.uv_box(4)
    plain = at(u0 + 0.05, (v0 + v1) / 2, with_panel)
    assert abs(plain[2] - plain[0]) < 40 and plain[2] > 40, f"choice box not slate: {plain}"
    assert np.abs(at(0.5, 0.5, with_panel) - at(0.5, 0.5, without)).max() > 20
    # each eye sees the near panel from its own place: the right eye sees it further left (depth)
    row = pixel_of(pl.point(0.5, (v0 + v1) / 2), view)[1]
    edges = []
    for offset in ((-0.032, 0.0, 0.0), (0.032, 0.0, 0.0)):
        eye = EyeView(view.orientation, view.fov, offset)
        target, renderer = OffscreenTarget(EYE, EYE), Renderer()
        try:
            renderer.draw_eye(0, eye, target.target, OverlayState(panel=frame))
            line = target.read_rgb().astype(int)[row]
        finally:
            renderer.close()
            target.delete()
        slate = np.flatnonzero(np.abs(line - np.array([52, 60, 76])).max(axis=1) <= 6)
        edges.append(int(slate[0]))
    assert edges[0] - edges[1] >= 3, f"no disparity between the eyes: left edge at {edges}"
    # the ray: the light blue line from the hand to the cursor, half way along
    origin, end = frame.rays[0]
    mid = tuple((a + b) / 2 for a, b in zip(origin, end))
    col, row = pixel_of(mid, view)
    patch = with_panel[row - 2 : row + 3, col - 2 : col + 3].reshape(-1, 3)
    assert (patch[:, 2] > 150).any() and (patch[:, 2] > patch[:, 0] + 40).any(), patch
