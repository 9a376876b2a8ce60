"""Run the player's OpenXR path against a real runtime and report what happened (used by tests/test_xr*.py).

Runs inside the xr root (scripts/xr-root.sh run ...). It plays a film from a library with the OpenXR backend,
the real renderer and media engine, through the playback loop described in docs/architecture.md, while a
scenario drives the runtime: Monado's remote driver turns the head and presses controller buttons (real input
reaching the player through OpenXR actions), the facilitator path sends commands, and with the XCB compositor
the Xvfb screen (what the headset shows) is sampled. Writes a JSON report.

usage: python scripts/xr/xr_session.py --library DIR/manifest.yaml --film ID --report OUT.json
           [--layer auto|projection|equirect] [--graphics auto|egl|glx] [--frames N] [--scenario NAME]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

SCENARIOS = ("basic", "input", "discs", "loss")
LOOKS = ((0.0, 0.0), (90.0, 0.0), (180.0, 0.0), (270.0, 0.0), (0.0, 80.0), (0.0, -80.0))  # (heading, pitch)


class Player:
    """The playback loop of docs/architecture.md around an OpenXRBackend (render thread = this thread)."""

    def __init__(self, args: argparse.Namespace) -> None:
        from content_manifest import load_library
        from player.backends.openxr import OpenXRBackend

        lib = load_library(args.library)
        self.film = lib.films[args.film]
        self.backend = OpenXRBackend(
            front_heading=self.film.front_heading,
            projection=self.film.projection,
            stereo=self.film.stereo,
            layer=args.layer,
            graphics=args.graphics,
            render_scale=args.render_scale,
        )
        self.events: list[dict] = []
        self.paused_by: list[str] = []
        self.lock = threading.Lock()
        self.commands: list[tuple[str, dict]] = []

    def open(self) -> None:
        from player.media.engine import MediaEngine
        from player.render import OverlayState, Renderer

        self.backend.open()
        self.engine = MediaEngine(self.film.path, hwdec="none", audio="null", on_event=self._on_media)
        self.info = self.engine.open()
        self.renderer = Renderer(self.film.projection, self.film.stereo, self.film.front_heading)
        self.overlay = OverlayState()
        self.engine.play()

    def _on_media(self, kind: str, data: dict) -> None:
        with self.lock:
            self.events.append({"source": "media", "kind": kind, "t": time.monotonic()})

    def command(self, cmd: str, **args: object) -> None:
        """The facilitator path: a command queued for the render loop, as the session thread would."""
        with self.lock:
            self.commands.append((cmd, dict(args)))

    def _apply(self, cmd: str, args: dict, source: str) -> None:
        if cmd == "pause":
            if self.engine.pause():
                self.paused_by.append(source)
        elif cmd == "play":
            self.engine.play()
        elif cmd == "recentre":
            self.backend.recentre()
        elif cmd == "stop":
            self.backend.request_exit()

    def handle(self, ev) -> None:
        with self.lock:
            self.events.append({"source": "backend", "kind": ev.kind, "data": ev.data, "t": time.monotonic()})
        if ev.kind in ("break_request", "focus_lost"):
            self._apply("pause", {}, f"{ev.kind}:{ev.data.get('source') or ev.data.get('reason')}")

    def frame(self) -> bool:
        b = self.backend
        info = b.begin_frame()
        if info is None:
            return False
        with self.lock:
            commands, self.commands = self.commands, []
        for cmd, args in commands:
            self._apply(cmd, args, "facilitator")
        frame = self.engine.frame_for(info.display_time)  # never blocks
        changed = frame is not None and frame is not self.renderer.frame
        if changed:
            self.renderer.upload(frame)
        if info.should_render and not b.draw_film(self.renderer, self.overlay):
            for eye, (view, target) in enumerate(zip(info.views, info.targets)):
                self.renderer.draw_eye(eye, view, target, self.overlay)
        b.end_frame(info)
        for ev in b.poll_events():
            self.handle(ev)
        return True

    def close(self) -> None:
        self.engine.close()
        self.backend.close()


def screen_colour(screen_path: str, eye: int) -> list[int]:
    """Median colour at the centre of one eye's half of Monado's window on the Xvfb screen."""
    import numpy as np
    from xwd import read_xwd

    img = read_xwd(screen_path)
    ys, xs = (img.max(axis=2) > 8).nonzero()
    if len(xs) == 0:
        return [0, 0, 0]
    x0, x1, y0, y1 = xs.min(), xs.max() + 1, ys.min(), ys.max() + 1
    half = (x1 - x0) // 2
    cx, cy = x0 + half * eye + half // 2, (y0 + y1) // 2
    patch = img[cy - 10 : cy + 10, cx - 10 : cx + 10].reshape(-1, 3)
    return [int(v) for v in np.median(patch, axis=0)]


def run(args: argparse.Namespace) -> dict:
    report: dict = {"ok": False, "scenario": args.scenario}
    player = Player(args)
    player.open()
    b = player.backend
    report["describe"] = b.describe()
    remote = None
    if args.scenario in ("input", "discs"):
        from monado_remote import MonadoRemote

        remote = MonadoRemote()
    steps: list = []
    script_log: list = []
    screen = os.environ.get("VIEWPOINT_XVFB_SCREEN")

    def wait_frames(n: int) -> None:
        target = b.stats.frames + n
        deadline = time.monotonic() + 30
        while b.stats.frames < target and time.monotonic() < deadline:
            time.sleep(0.01)

    def scenario() -> None:
        try:
            deadline = time.monotonic() + 30
            while not b.focused and time.monotonic() < deadline:
                time.sleep(0.02)
            if args.scenario == "input":
                remote.look(90.0)
                wait_frames(5)
                script_log.append({"step": "look90", "view0": b.stats.last_views[0][0]})
                remote.press("right", "b_click")  # "I need a break" on an Index controller
                wait_frames(5)
                script_log.append({"step": "break", "state": player.engine.state.name})
                player.engine.play()
                wait_frames(3)
                remote.press("left", "a_click")  # recentre
                wait_frames(5)
                script_log.append({"step": "recentre", "view0": b.stats.last_views[0][0]})
                player.command("pause")  # facilitator path
                wait_frames(5)
                script_log.append({"step": "facilitator_pause", "state": player.engine.state.name})
                player.command("play")
                wait_frames(3)
            elif args.scenario == "discs":
                for heading, pitch in LOOKS:
                    remote.look(heading, pitch)
                    wait_frames(args.settle_frames)
                    left, right = screen_colour(screen, 0), screen_colour(screen, 1)
                    script_log.append(
                        {"step": "look", "heading": heading, "pitch": pitch, "left": left, "right": right}
                    )
            wait_frames(max(0, args.frames - b.stats.frames))
        except Exception:
            script_log.append({"step": "error", "traceback": traceback.format_exc()})
        finally:
            player.command("stop")

    thread = threading.Thread(target=scenario, daemon=True)
    thread.start()
    t0 = time.monotonic()
    while player.frame():
        if time.monotonic() - t0 > args.timeout:
            report["timeout"] = True
            player.backend.request_exit()
            break
    thread.join(5)
    stats = b.stats
    report.update(
        states=stats.states,
        frames=stats.frames,
        frames_with_layers=stats.frames_with_layers,
        layer_submissions=stats.layer_submissions,
        equirect_updates=stats.equirect_updates,
        distinct_orientations=stats.distinct_orientations,
        first_views=stats.first_views,
        last_views=stats.last_views,
        cpu_ms=stats.cpu_ms,
        wall_ms=stats.wall_ms,
        events=player.events,
        paused_by=player.paused_by,
        script=script_log,
        engine_stats=player.engine.stats(),
        seconds=time.monotonic() - t0,
        steps=steps,
    )
    player.close()
    report["ok"] = True
    return report


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--library", required=True)
    ap.add_argument("--film", default="calibration-mono")
    ap.add_argument("--report", required=True)
    ap.add_argument("--layer", default="auto")
    ap.add_argument("--graphics", default="auto")
    ap.add_argument("--frames", type=int, default=120)
    ap.add_argument("--render-scale", type=float, default=1.0)
    ap.add_argument("--settle-frames", type=int, default=12)
    ap.add_argument("--scenario", choices=SCENARIOS, default="basic")
    ap.add_argument("--timeout", type=float, default=90.0)
    args = ap.parse_args(argv)
    try:
        report = run(args)
    except Exception as exc:
        report = {"ok": False, "error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()}
    Path(args.report).write_text(json.dumps(report, indent=1, default=str))
    return 0 if report.get("ok") else 1


if __name__ == "__main__":
    sys.exit(main())
