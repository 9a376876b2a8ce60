"""The playback loop: one backend, one renderer, one media engine (through the controller), the same for every
backend (docs/architecture.md). The render thread only picks a frame, uploads it when it changed and draws."""

from __future__ import annotations

import logging
import os
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from player.backends.base import Backend
from player.cadence import Cadence
from player.control import RUNTIME_NOTICES, SEEK_STEP_S, CommandError, Controller

log = logging.getLogger(__name__)

STALL_S = 10.0  # media time not moving while playing for this long is a failure, never a hang
# BackendEvent kinds (player/backends/base.py) and what handle() does with each: "exit" ends the loop, "key"
# pauses/seeks, these go to the controller, and IGNORED_KINDS are dropped on purpose.
VIEWER_KINDS = ("recentre", "break_request", "focus_lost", "headset_off", "focus_gained", "select")
IGNORED_KINDS = ("look",)  # the desktop's mouse look: the frame's views carry the orientation already


TIMING_SAMPLES = 100_000  # the most recent display frames the upload/render percentiles cover


@dataclass
class PlayOptions:
    snapshot_at: list[float] = field(default_factory=list)
    out_dir: Path | None = None
    duration: float | None = None  # stop after this many media seconds (None: at the end of the film)
    exit_on_end: bool = True
    autoplay: bool = True
    frame_hook: Callable[[PlaybackLoop, object], None] | None = None  # called after each presented frame
    on_open: Callable[[Backend], None] | None = None  # called once the backend is open (what it is using)


@dataclass
class PlayResult:
    display_frames: int = 0
    uploads: int = 0
    upload_errors: int = 0
    # Timing samples for the report's percentiles, bounded so a long film cannot grow them without limit.
    upload_ms: deque[float] = field(default_factory=lambda: deque(maxlen=TIMING_SAMPLES))
    render_ms: deque[float] = field(default_factory=lambda: deque(maxlen=TIMING_SAMPLES))
    snapshots: list[str] = field(default_factory=list)
    missing_snapshots: list[float] = field(default_factory=list)
    events: deque[tuple[str, dict]] = field(default_factory=lambda: deque(maxlen=1000))
    end_state: str = ""
    last_media_t: float = 0.0
    last_frame_pts: float | None = None
    stopped_by: str = ""  # end, duration, viewer, backend, error, stall, terminated, operator
    played: bool = False  # the film was asked to move at some point (playing, seeking or buffering)
    stop_detail: str = ""  # terminated/operator: the signal
    errors: list[str] = field(default_factory=list)
    cadence: Cadence = field(default_factory=Cadence)  # judder: display frames per picture while playing


class PlaybackLoop:
    def __init__(
        self, backend: Backend, controller: Controller, options: PlayOptions | None = None, server=None
    ) -> None:
        self.backend = backend
        self.controller = controller
        self.options = options or PlayOptions()
        self.server = server
        self.result = PlayResult()
        self.renderer = None
        self._pending = sorted(self.options.snapshot_at)
        self.upload_mode = ""
        self.gl_renderer = ""
        self.backend_report: dict = {}  # backend.frame_report() at the end (layer, display rate)
        self.stop_requested: str | None = None
        self.stop_detail = ""

    def request_stop(self, reason: str = "terminated", detail: str = "") -> None:
        """End the loop at the next display frame (from a signal handler or another thread). ``reason``:
        ``terminated`` (SIGTERM, the console closed) or ``operator`` (Ctrl-C); ``detail`` names the signal."""
        self.stop_detail = detail
        self.stop_requested = reason

    def record_event(self, kind: str, data: dict) -> None:
        """An event sink for the loop's own verdict (transport errors); keeps the most recent events."""
        self.result.events.append((kind, data))
        if kind == "transport.error":
            self.result.errors.append(f"{kind}: {data.get('reason', '')} {data.get('message', '')}".strip())

    # -- input ------------------------------------------------------------------------------------------
    def handle(self, event) -> bool:
        """One backend event; False when the loop should end."""
        c = self.controller
        kind, data = event.kind, event.data
        try:
            if kind == "exit":
                self.result.stopped_by = "viewer"
                return False
            if kind == "key":
                key = data.get("key")
                if key == "space":
                    c.toggle_pause()
                elif key in ("left", "right", "up", "down"):
                    step = {"left": -SEEK_STEP_S, "right": SEEK_STEP_S, "down": -30.0, "up": 30.0}[key]
                    c.seek_relative(step)
            elif kind in VIEWER_KINDS:
                c.viewer_event(kind, data)
                # the first focus after wait_for_headset starts the film (a user-presence focus_gained
                # before the session itself is FOCUSED does not: the backend says whether it is focused)
                if kind == "focus_gained" and self.backend.focused:
                    c.start_when_focused()
            elif kind in RUNTIME_NOTICES:
                c.runtime_notice(kind, data)
            elif kind in IGNORED_KINDS:
                pass
            else:
                log.debug("backend event %s ignored (not known to this player)", kind)
        except CommandError as exc:
            log.info("%s ignored: %s", kind, exc.message)
        return True

    # -- the loop ---------------------------------------------------------------------------------------
    def _upload(self, renderer, frame) -> None:
        """Put ``frame`` into the renderer's textures; a malformed picture is counted and skipped (playback
        goes on, and it is not tried again)."""
        res = self.result
        try:
            renderer.upload(frame)
        except ValueError as exc:
            res.upload_errors += 1
            if res.upload_errors == 1:
                res.errors.append(f"upload: {exc}")
            log.warning("frame not shown: %s", exc)
        else:
            res.upload_ms.append(renderer.last_upload_ms)
            res.uploads += 1

    def run(self) -> PlayResult:
        from player.render import Renderer

        backend, c, opts, res = self.backend, self.controller, self.options, self.result
        backend.open()
        try:
            if opts.on_open is not None:
                opts.on_open(backend)
            film = c.film
            self.renderer = renderer = Renderer(
                film.projection, film.stereo, film.front_heading, eye_order=film.eye_order
            )
            generation = c.film_generation
            from OpenGL import GL

            self.gl_renderer = (GL.glGetString(GL.GL_RENDERER) or b"").decode(errors="replace")
            draw_film = backend.draw_film  # OpenXR equirect layers: converted once per video frame
            update_views = backend.update_views  # scripted heads follow the picture
            cadence = res.cadence
            last_frame = uploaded = None  # the picture shown last; the one in the renderer's textures
            last_display, period = None, 0.0  # the last display time and the display period seen
            last_progress = (time.monotonic(), -1.0)
            if opts.autoplay and c.welfare != "stop" and not c.lobby:  # the lobby waits for a session
                if backend.starts_when_focused:
                    c.wait_for_headset(backend.name)  # the first focus_gained plays
                else:
                    c.engine.play()
            while True:
                if self.stop_requested is not None:
                    res.stopped_by, res.stop_detail = self.stop_requested, self.stop_detail
                    break
                backend.aim_wanted = c.questionnaire_shown  # controllers' rays only while it shows
                info = backend.begin_frame()
                if info is None:
                    # a window closed by the viewer says so (finish_reason); anything else is unexpected
                    res.stopped_by = res.stopped_by or backend.finish_reason or "backend"
                    break
                if not all(self.handle(e) for e in backend.poll_events()):
                    break
                if info.rays is not None:
                    c.point(info.rays)  # the headset questionnaire: what each controller points at
                if c.film_generation != generation:
                    c.collect_retired()
                    film, generation = c.film, c.film_generation
                    renderer.set_film(film.projection, film.stereo, film.front_heading, film.eye_order)
                    renderer.clear_frame()
                    last_frame = uploaded = None
                engine = c.engine
                if last_display is not None and info.display_time > last_display:
                    period = min(info.display_time - last_display, 0.05)
                last_display = info.display_time
                frame = engine.frame_for(info.display_time)
                state = str(getattr(engine.state, "value", engine.state))
                cadence.frame(
                    frame is not None and frame is not last_frame,
                    state == "playing" and engine.rate == 1.0,
                )
                if frame is not None:
                    if frame is not uploaded:  # usually uploaded after the last display frame's submit
                        self._upload(renderer, frame)
                        uploaded = frame
                    last_frame = frame
                media_t = engine.media_time(info.display_time)
                update_views(info, last_frame.pts if last_frame is not None else media_t)
                c.tick(media_t)
                overlay = c.overlay_state()
                start = time.perf_counter()
                if info.should_render and not draw_film(renderer, overlay):
                    renderer.draw_eyes(info.views, info.targets, overlay)
                if self._pending and last_frame is not None and info.should_render:
                    snap0 = time.perf_counter()
                    self._snapshots(last_frame.pts)  # read back before end_frame presents the images
                    start += time.perf_counter() - snap0
                backend.end_frame(info)
                res.render_ms.append((time.perf_counter() - start) * 1000.0)
                res.display_frames += 1
                # Off the frame's critical path (xrWaitFrame would block now anyway): the picture of the next
                # display frame goes into the textures while this one is composited.
                if period > 0.0 and last_frame is not None:
                    upcoming = engine.next_frame(info.display_time + period)
                    if upcoming is not None and upcoming is not uploaded:
                        self._upload(renderer, upcoming)
                        uploaded = upcoming
                if info.should_render:  # a new subtitle's or the stop message's picture, made before it shows
                    renderer.prepare_overlays(c.upcoming_overlays())
                orientation = info.views[0].orientation if info.views else (0.0, 0.0, 0.0, 1.0)
                c.report_pose(orientation, media_t)
                if self.server is not None:
                    self.server.pose(orientation, media_t)
                res.last_media_t = media_t
                if last_frame is not None:
                    res.last_frame_pts = last_frame.pts
                if opts.frame_hook is not None:
                    opts.frame_hook(self, info)
                state = str(getattr(engine.state, "value", engine.state))  # after the tick
                if state == "error" and self.server is None:
                    res.stopped_by = "error"
                    break  # a listening player keeps going: the controller ended the film (film.failed)
                if state == "ended" and opts.exit_on_end:
                    res.stopped_by = "end"
                    break
                if opts.duration is not None and media_t >= opts.duration:
                    res.stopped_by = "duration"
                    break
                now = time.monotonic()
                moving = state in ("playing", "seeking", "buffering")
                res.played = res.played or moving
                if moving and media_t != last_progress[1]:
                    last_progress = (now, media_t)
                elif moving and now - last_progress[0] > STALL_S:
                    res.errors.append(
                        f"stalled: media time stuck at {media_t:.3f} s for {STALL_S:g} s ({state})"
                    )
                    res.stopped_by = "stall"
                    break
                elif not moving:
                    last_progress = (now, media_t)
            self.upload_mode = renderer.upload_mode  # "auto" settles on a path during the first uploads
            res.end_state = str(getattr(c.engine.state, "value", c.engine.state))
            res.missing_snapshots = list(self._pending)
            self.backend_report = backend.frame_report()
        finally:
            if self.renderer is not None:
                self.renderer.close()
            backend.close()
        return res

    def _snapshots(self, pts: float) -> None:
        """Save the eye images for every pending snapshot time ``pts`` has reached; a backend that cannot
        read them back leaves them pending (the report fails, naming why)."""
        problem = self.backend.snapshot_problem()
        if problem is not None or self.options.out_dir is None:
            if problem and not any(e.startswith("snapshots:") for e in self.result.errors):
                self.result.errors.append(f"snapshots: {problem}")
            return
        while self._pending and pts >= self._pending[0] - 1e-6:
            t = self._pending.pop(0)
            from PIL import Image

            out = Path(self.options.out_dir)
            out.mkdir(parents=True, exist_ok=True)
            for eye, name in enumerate(("left", "right")[: self.backend.eyes]):
                image: np.ndarray = self.backend.read_eye(eye)
                path = out / f"snap-{t:.3f}-{name}.png"
                partial = path.with_name(path.name + ".partial")
                Image.fromarray(image).save(partial, format="PNG")
                os.replace(partial, path)  # readers never see a half-written picture
                self.result.snapshots.append(str(path))


def percentiles(values: Sequence[float], *ps: float) -> dict[str, float | None]:
    if not values:
        return {f"p{p:g}": None for p in ps}
    arr = np.asarray(values, dtype=np.float64)
    return {f"p{p:g}": round(float(np.percentile(arr, p)), 3) for p in ps}


def build_report(
    *,
    film,
    backend_name: str,
    result: PlayResult,
    stats: dict,
    media_info,
    options: PlayOptions,
    gl_renderer: str = "",
    upload_mode: str = "",
    backend_report: dict | None = None,
) -> dict:
    """The --report JSON: counters, timings, per-stage notes and a pass/fail verdict with reasons."""
    from player.media.hwframes import frames_report

    reasons = list(result.errors)
    drift = [abs(d) for d in stats.get("av_drift_ms", [])]
    decode_errors = int(stats.get("decode_errors", 0))
    if decode_errors:
        reasons.append(f"{decode_errors} decode error(s)")
    if result.stopped_by == "stall":
        pass  # already in errors
    elif result.stopped_by in ("terminated", "operator"):
        pass  # stopped on purpose (Ctrl-C, SIGTERM, console closed): not a failure of the film
    elif options.duration is None and result.stopped_by not in ("end", "viewer"):
        reasons.append(
            f"playback did not reach the end of the film (stopped by {result.stopped_by or 'unknown'})"
        )
    elif options.duration is not None and result.stopped_by not in ("duration", "end", "viewer"):
        reasons.append(f"playback stopped before {options.duration:g} s (stopped by {result.stopped_by})")
    for t in result.missing_snapshots:
        reasons.append(f"snapshot at {t:.3f} s: no displayed frame reached that time")
    # A player stopped on purpose while it waited (a facilitated player's lobby, before any play) has shown no
    # picture because none was asked for; one that was asked to play and showed none has failed.
    waited_only = result.stopped_by in ("terminated", "operator") and not result.played
    if result.uploads == 0 and not waited_only:
        reasons.append("no video frame was ever displayed")
    drift_stats = percentiles(drift, 50, 99)
    drift_stats["max"] = round(max(drift), 3) if drift else None
    notes = {
        "decode": f"{stats.get('decoded', 0)} frames decoded, {decode_errors} errors, hwdec "
        f"{getattr(media_info, 'hwdec', 'none')}, {getattr(media_info, 'pix_fmt', '?')}, frames in "
        f"{'GPU memory' if frames_report(media_info)['frames'] == 'gpu' else 'host memory'}",
        "queue": f"peak {stats.get('queue_peak_bytes', 0) / 2**20:.1f} MiB of "
        f"{stats.get('queue_limit_bytes', 0) / 2**20:.0f} MiB",
        "upload": f"{result.uploads} uploads ({upload_mode or 'direct'})",
        "render": f"{result.display_frames} display frames on {gl_renderer or 'unknown GL renderer'}",
        "audio": f"output {getattr(media_info, 'audio_output', 'none')}",
    }
    via = f" ({result.stop_detail})" if result.stop_detail else ""
    before = " before the film was played" if waited_only else ""
    if result.stopped_by == "operator":
        notes["stop"] = f"stopped by the operator{via} at {result.last_media_t:.3f} s{before}"
    elif result.stopped_by == "terminated":
        notes["stop"] = f"terminated{via} at {result.last_media_t:.3f} s{before}"
    return {
        "film": film.id,
        "backend": backend_name,
        "frames": {
            "decoded": int(stats.get("decoded", 0)),
            "presented": int(stats.get("presented", 0)),
            "repeated": int(stats.get("repeated", 0)),
            "skipped": int(stats.get("skipped", 0)),
            "displayed": result.display_frames,
        },
        "decode_errors": decode_errors,
        "upload_errors": result.upload_errors,
        "av_drift_ms": drift_stats,
        "upload_ms": percentiles(result.upload_ms, 50, 99),
        "render_ms": percentiles(result.render_ms, 50, 99),
        "media_t_end": round(result.last_media_t, 3),
        "last_frame_pts": result.last_frame_pts,
        "duration": getattr(media_info, "duration", None),
        "stopped_by": result.stopped_by,
        **({"stop_detail": result.stop_detail} if result.stop_detail else {}),
        "snapshots": result.snapshots,
        "judder": result.cadence.report(),
        **({"output": backend_report} if backend_report else {}),
        "notes": notes,
        "result": "fail" if reasons else "pass",
        "reasons": reasons,
    }
