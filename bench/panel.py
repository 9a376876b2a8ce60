"""Headset questionnaire panel benchmark: the cost of drawing the panel (picture, highlight, ray, cursor) per
eye against the same eye without it (ratio, same run), and the time to rasterise one item's picture with
Pillow (done off the render thread, player/control/questionnaire.py).

usage: python bench/panel.py [--eye 1024] [--frames 200]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from player.render.glplatform import ensure_platform

ensure_platform()

from OpenGL import GL  # noqa: E402

from player.backends.base import EyeView  # noqa: E402
from player.control.questionnaire import PanelFrame  # noqa: E402
from player.render import OverlayState, Renderer  # noqa: E402
from player.render.egl import EGLContext  # noqa: E402
from player.render.panel_layout import layout, picture, place  # noqa: E402
from player.render.projection import head_orientation, symmetric_fov  # noqa: E402
from player.render.targets import OffscreenTarget  # noqa: E402

ITEM = {
    "instrument": "understanding",
    "item": "aware",
    "text": "I understand better what a child in this home goes through.",
    "kind": "likert",
    "labels": ["Strongly disagree", "Disagree", "Neither", "Agree", "Strongly agree"],
}


def per_eye_ms(renderer: Renderer, view: EyeView, target, overlay: OverlayState, frames: int) -> float:
    renderer.draw_eye(0, view, target.target, overlay)
    GL.glFinish()
    start = time.perf_counter()
    for _ in range(frames):
        renderer.draw_eye(0, view, target.target, overlay)
    GL.glFinish()
    return (time.perf_counter() - start) / frames * 1e3


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--eye", type=int, default=1024, help="eye image size in pixels (square)")
    ap.add_argument("--frames", type=int, default=200)
    args = ap.parse_args(argv)
    raster = []
    for i in range(10):
        start = time.perf_counter()
        image = picture(ITEM, i, 10)
        raster.append((time.perf_counter() - start) * 1e3)
    lay = layout(ITEM)
    placement = place(0.0, lay)
    hit = placement.point(0.5, 0.5)
    frame = PanelFrame(
        key=(1, 0), image=image, placement=placement, alpha=1.0, highlight=lay.uv_box(2),
        rays=(((0.2, -0.3, -0.3), hit),), cursor=hit,
    )  # fmt: skip
    ctx = EGLContext()
    try:
        target = OffscreenTarget(args.eye, args.eye)
        renderer = Renderer()
        view = EyeView(head_orientation(0.0), symmetric_fov(100.0, args.eye, args.eye))
        plain, panel = [], []
        for _ in range(3):  # interleaved rounds: the machine's load falls on both alike
            plain.append(per_eye_ms(renderer, view, target, OverlayState(), args.frames))
            panel.append(per_eye_ms(renderer, view, target, OverlayState(panel=frame), args.frames))
        renderer.close()
        target.delete()
        renderer_name = (GL.glGetString(GL.GL_RENDERER) or b"").decode()
    finally:
        ctx.close()
    p, q = statistics.median(plain), statistics.median(panel)
    print(f"GL: {renderer_name}; eye {args.eye}x{args.eye}, {args.frames} frames x 3 rounds")
    print(f"per eye without the panel: {p:.2f} ms; with it: {q:.2f} ms; ratio {q / p:.2f}")
    print(f"one item's picture (Pillow, off the render thread): median {statistics.median(raster):.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
