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
import signal
import sys
import threading
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

SCENARIOS = ("basic", "input", "held", "discs", "focus", "loss")
LOOKS = ((0.0, 0.0), (90.0, 0.0), (180.0, 0.0), (270.0, 0.0), (0.0, 80.0), (0.0, -80.0))  # (heading, pitch)


class Player:
    """The real player: Controller + PlaybackLoop (player.app) around an OpenXRBackend, as the CLI does."""

    def __init__(self, args: argparse.Namespace) -> None:
        from content_manifest import load_library
        from player.app import PlaybackLoop, PlayOptions
        from player.backends import create_backend
        from player.control import Controller

        library = load_library(args.library)
        self.controller = Controller(library, engine_options={"audio": "null", "hwdec": "none"})
        self.controller.load(args.film)
        film = self.controller.film
        self.backend = create_backend(
            "openxr",
            layer=args.layer,
            graphics=args.graphics,
            projection=film.projection,
            stereo=film.stereo,
            front_heading=film.front_heading,
            render_scale=args.render_scale,
        )
        self.events: list[dict] = []
        self.lock = threading.Lock()
        self.loop = PlaybackLoop(self.backend, self.controller, PlayOptions(exit_on_end=False))
        self.controller.set_sink(self._sink)

    def _sink(self, kind: str, data: dict) -> None:
        self.loop.record_event(kind, data)
        with self.lock:
            self.events.append({"kind": kind, "data": data, "t": time.monotonic()})

    def command(self, cmd: str, **args: object) -> dict:
        """The facilitator path: a protocol command as the session server hands it to the controller."""
        return self.controller.dispatch(cmd, dict(args))

    @property
    def state(self) -> str:
        engine = self.controller.engine
        return str(getattr(engine.state, "value", engine.state))


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


def screen_patch(screen_path: str, eye: int, radius: int = 40):
    """The square around the centre of one eye's half of Monado's window (for before/after comparisons)."""
    import numpy as np
    from xwd import read_xwd

    img = read_xwd(screen_path)
    ys, xs = (img.max(axis=2) > 8).nonzero()
    if len(xs) == 0:  # nothing drawn yet
        return np.zeros((2 * radius, 2 * radius, 3), dtype=np.uint8)
    x0, x1, y0, y1 = xs.min(), xs.max() + 1, ys.min(), ys.max() + 1
    half = (x1 - x0) // 2
    cx, cy = x0 + half * eye + half // 2, (y0 + y1) // 2
    return img[cy - radius : cy + radius, cx - radius : cx + radius].copy()


def white_px(patch) -> int:
    """Near-white pixels (the pause icon's bars; the red disc and grey grid have none)."""
    return int((patch.min(axis=2) > 200).sum())


def run(args: argparse.Namespace) -> dict:
    report: dict = {"ok": False, "scenario": args.scenario}
    player = Player(args)
    b = player.backend
    remote = None
    if args.scenario in ("input", "held", "discs"):
        from monado_remote import MonadoRemote

        remote = MonadoRemote()
    if args.scenario == "held":
        # the viewer already holds "I need a break" while the session starts and the controllers are bound
        remote.hold("right", "b_click", True)
    script_log: list = []
    screen = os.environ.get("VIEWPOINT_XVFB_SCREEN")

    def wait_frames(n: int) -> None:
        target = b.stats.frames + n
        deadline = time.monotonic() + 30
        while b.stats.frames < target and time.monotonic() < deadline:
            time.sleep(0.01)

    restarted: list = []

    def wait_until(predicate, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while not predicate() and time.monotonic() < deadline:
            time.sleep(0.02)
        return bool(predicate())

    def start_monado():
        import subprocess

        sock = Path(os.environ["XDG_RUNTIME_DIR"]) / "monado_comp_ipc"
        sock.unlink(missing_ok=True)
        log = open(Path(os.environ["XDG_RUNTIME_DIR"]) / "monado-service-2.log", "w")  # noqa: SIM115
        proc = subprocess.Popen(["monado-service"], stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        wait_until(sock.exists, 15)
        return proc

    def expected_colours(heading: float, pitch: float) -> tuple[tuple, tuple]:
        """What the headset should show at the centre of each eye (the sample film's conventions)."""
        from content_manifest.sample import BLACK, CYAN, DISCS, RED, WHITE

        if pitch > 45:
            return WHITE, WHITE
        if pitch < -45:
            return BLACK, BLACK
        film_heading = (heading + player.controller.film.front_heading) % 360.0
        left = next(c for h, c in DISCS if abs((film_heading - h + 180.0) % 360.0 - 180.0) < 1.0)
        right = CYAN if player.controller.film.stereo != "mono" and left == RED else left
        return left, right

    def settled_colours(heading: float, pitch: float, timeout_s: float = 8.0) -> tuple[list[int], list[int]]:
        """Both eyes' centre colours once the screen shows the expected picture (the compositor and the X
        server update it on their own clocks, later under load), or the last reading after timeout_s."""
        want = expected_colours(heading, pitch)
        deadline = time.monotonic() + timeout_s
        while True:
            now = (screen_colour(screen, 0), screen_colour(screen, 1))
            close = all(abs(a - b) <= 48 for got, exp in zip(now, want) for a, b in zip(got, exp))
            if close or time.monotonic() > deadline:
                return now
            time.sleep(0.1)

    def face(heading: float, pitch: float = 0.0) -> None:
        """Turn the remote head and wait until the player has rendered with that pose, then settle."""
        from monado_remote import yaw_pitch_quat

        want = yaw_pitch_quat(heading, pitch)
        remote.look(heading, pitch)

        def seen() -> bool:
            views = b.stats.last_views
            return bool(views) and abs(sum(a * c for a, c in zip(views[0][0], want))) > 0.9995

        wait_until(seen, 10)
        wait_frames(args.settle_frames)

    def scenario() -> None:
        try:
            deadline = time.monotonic() + 30
            while not b.focused and time.monotonic() < deadline:
                time.sleep(0.02)
            report["describe"] = b.describe()
            player.command("play")
            if args.scenario == "held":
                wait_until(lambda: "viewer.break_request" in [e["kind"] for e in player.events], 10)
                script_log.append({"step": "held", "state": player.state})
                remote.hold("right", "b_click", False)
            elif args.scenario == "input":
                face(90.0)
                script_log.append({"step": "look90", "view0": b.stats.last_views[0][0]})
                remote.press("right", "b_click")  # "I need a break" on an Index controller
                wait_until(lambda: player.state == "paused", 10)
                script_log.append({"step": "break", "state": player.state})
                player.command("play")
                wait_until(lambda: player.state == "playing", 10)
                remote.press("left", "a_click")  # recentre
                wait_until(lambda: abs(player.controller.overlay_state().recentre_yaw) > 1.0, 10)
                script_log.append(
                    {"step": "recentre", "overlay_yaw": player.controller.overlay_state().recentre_yaw}
                )
                player.command("pause")  # facilitator path
                wait_until(lambda: player.state == "paused", 10)
                script_log.append({"step": "facilitator_pause", "state": player.state})
                player.command("play")
                wait_until(lambda: player.state == "playing", 10)
                script_log.append({"step": "resumed", "state": player.state})
            elif args.scenario == "discs":
                # the facilitator pauses: the pause indicator (a head-locked overlay) must reach the screen
                face(0.0)
                settled_colours(0.0, 0.0, timeout_s=15.0)  # Monado's window is up and shows the film
                before = screen_patch(screen, 0)
                player.command("pause")
                wait_frames(args.settle_frames)
                deadline = time.monotonic() + 8.0
                after = screen_patch(screen, 0)
                while white_px(after) <= 20 and time.monotonic() < deadline:
                    time.sleep(0.1)
                    after = screen_patch(screen, 0)
                script_log.append(
                    {
                        "step": "paused_overlay",
                        "state": player.state,
                        "overlay_frames": b.stats.overlay_frames,
                        "white_before": white_px(before),
                        "white_after": white_px(after),
                    }
                )
                if args.keep_screen:
                    from PIL import Image
                    from xwd import read_xwd

                    Image.fromarray(read_xwd(screen)).save(args.keep_screen)
                player.command("play")
                for heading, pitch in LOOKS:
                    face(heading, pitch)
                    left, right = settled_colours(heading, pitch)
                    script_log.append(
                        {"step": "look", "heading": heading, "pitch": pitch, "left": left, "right": right}
                    )
                # the viewer recentres while facing heading 90: the film's front (red) is then there
                face(90.0)
                remote.press("left", "a_click")
                wait_frames(args.settle_frames)
                time.sleep(0.2)
                left, right = settled_colours(0.0, 0.0)  # the film's front is now where the viewer faces
                script_log.append({"step": "recentred", "heading": 90.0, "left": left, "right": right})
            elif args.scenario == "focus":
                # another OpenXR app takes the headset (as the system menu or a second app does): our session
                # leaves FOCUSED; the player must pause and raise the event, and stay paused afterwards
                import subprocess

                wait_frames(10)
                other = subprocess.Popen(
                    [sys.executable, str(Path(__file__).with_name("bare_loop.py")), "40"],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                lost = wait_until(lambda: not b.focused, 20)
                wait_until(lambda: player.state == "paused", 10)
                script_log.append({"step": "other_app", "focus_lost": lost, "state": player.state})
                other.wait(60)
                regained = wait_until(lambda: b.focused, 20)
                wait_frames(10)
                script_log.append({"step": "other_app_gone", "focused": regained, "state": player.state})
                player.command("play")  # the facilitator resumes
                wait_until(lambda: player.state == "playing", 10)
                script_log.append({"step": "resumed", "state": player.state})
            elif args.scenario == "loss":
                wait_frames(20)
                lost_at_frame = b.stats.frames
                os.kill(int(os.environ["VIEWPOINT_MONADO_PID"]), signal.SIGTERM)  # the runtime goes away
                wait_until(lambda: b.stats.losses >= 1, 15)
                script_log.append(
                    {
                        "step": "lost",
                        "losses": b.stats.losses,
                        "frames": b.stats.frames,
                        "frames_before": lost_at_frame,
                    }
                )
                time.sleep(1.0)
                restarted.append(start_monado())  # ... and comes back
                wait_until(lambda: b.stats.restores >= 1, 20)
                with_layers = b.stats.frames_with_layers
                wait_until(lambda: b.stats.frames_with_layers >= with_layers + 20, 20)
                script_log.append(
                    {
                        "step": "restored",
                        "restores": b.stats.restores,
                        "frames_with_layers_after": b.stats.frames_with_layers - with_layers,
                    }
                )
            wait_frames(max(0, args.frames - b.stats.frames))
        except Exception:
            script_log.append({"step": "error", "traceback": traceback.format_exc()})
        finally:
            b.request_exit()

    thread = threading.Thread(target=scenario, daemon=True)
    thread.start()
    t0 = time.monotonic()
    timer = threading.Timer(args.timeout, b.request_exit)
    timer.daemon = True
    timer.start()
    result = player.loop.run()  # opens the backend, plays, closes the backend
    timer.cancel()
    thread.join(5)
    for proc in restarted:
        proc.terminate()
        proc.wait(10)
    stats = b.stats
    report.update(
        states=stats.states,
        frames=stats.frames,
        frames_with_layers=stats.frames_with_layers,
        layer_submissions=stats.layer_submissions,
        equirect_updates=stats.equirect_updates,
        overlay_frames=getattr(stats, "overlay_frames", 0),
        distinct_orientations=stats.distinct_orientations,
        first_views=stats.first_views,
        last_views=stats.last_views,
        cpu_ms=stats.cpu_ms,
        backend_cpu_ms=stats.backend_cpu_ms,
        loop_cpu_ms=stats.loop_cpu_ms,
        display_lead_ms=stats.display_lead_ms,
        clock_exact=bool(b._clock and b._clock.exact) if hasattr(b, "_clock") else None,
        wall_ms=stats.wall_ms,
        events=player.events,
        script=script_log,
        engine_stats=player.controller.engine.stats(),
        loop={
            "display_frames": result.display_frames,
            "uploads": result.uploads,
            "stopped_by": result.stopped_by,
            "errors": result.errors,
            "end_state": result.end_state,
        },
        seconds=time.monotonic() - t0,
        losses=stats.losses,
        restores=stats.restores,
    )
    player.controller.close()
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
    ap.add_argument("--keep-screen", help="discs: save the last screen (PNG) here")
    args = ap.parse_args(argv)
    try:
        report = run(args)
    except Exception as exc:
        report = {"ok": False, "error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()}
    Path(args.report).write_text(json.dumps(report, indent=1, default=str))
    return 0 if report.get("ok") else 1


if __name__ == "__main__":
    sys.exit(main())
