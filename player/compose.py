"""The play command put together, in one place: which backend and why, the controller, the session server and
group sync when facilitated, the playback loop, the report.

Backends come from the registry (``player.backends.BACKENDS``); each is made from the same
``BackendOptions`` by its ``from_options``, so a new backend needs no change here. ``--backend auto`` (the
default) is the headset through the active OpenXR runtime; with no runtime it fails with the doctor's
message instead of playing into nothing (``--backend desktop`` or ``headless`` must be asked for).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from dataclasses import dataclass
from pathlib import Path

from player.backends import BACKENDS, Backend, BackendError, BackendOptions, backend_class
from player.media.hwframes import frames_line, frames_report
from player.protocol.participant import rule_beside
from player.protocol.private import private_replace

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2
SOFTWARE_GL = ("llvmpipe", "softpipe", "lavapipe", "swrast", "Microsoft Basic Render", "GDI Generic")

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BackendChoice:
    name: str
    reason: str


class NoHeadset(BackendError):
    """``--backend auto`` found no OpenXR runtime: the doctor's problem and fix."""

    def __init__(self, problem: str, fix: str) -> None:
        super().__init__(f"{problem} — {fix}")
        self.problem, self.fix = problem, fix


def choose_backend(requested: str | None) -> BackendChoice:
    """The backend for ``--backend requested`` and why; NoHeadset when auto finds no runtime."""
    if requested and requested != "auto":
        if requested not in BACKENDS:
            raise BackendError(f"--backend {requested!r}: expected auto or one of {', '.join(BACKENDS)}")
        return BackendChoice(requested, f"asked for with --backend {requested}")
    from player.backends.openxr.errors import RUNTIME_FIX
    from player.backends.openxr.runtime import runtime_available, runtime_manifest_path

    if runtime_available():
        return BackendChoice("openxr", f"an OpenXR runtime is active ({runtime_manifest_path()})")
    where = runtime_manifest_path()
    problem = (
        f"The OpenXR runtime manifest {where} does not exist."
        if where
        else "No OpenXR runtime is installed or active on this computer."
    )
    fix = (
        f"{RUNTIME_FIX} `viewpoint-player doctor` checks the set-up. To play without a headset, ask for it: "
        "--backend desktop (a window) or --backend headless (QA, no picture)."
    )
    raise NoHeadset(problem, fix)


def backend_options(args: argparse.Namespace, film, film_fps: float | None) -> BackendOptions:
    """The play command's options as every backend takes them."""
    return BackendOptions(
        eye_size=args.eye_size, fov=args.fov, display_rate=args.display_rate, eyes=args.eyes,
        layer=args.layer, graphics=args.graphics, render_scale=args.render_scale,
        projection=film.projection, stereo=film.stereo, front_heading=film.front_heading,
        film_fps=film_fps, snapshots=bool(args.snapshot_at),
    )  # fmt: skip


def scripted_orientation(script, controller, media_t: float | None = None):
    """The head pose a script asks for at a media time (default: now). Script headings are film headings
    (clockwise from the picture's centre column, as in the sample films), so the head turns by
    ``heading - front_heading + recentre``."""
    from player.render.projection import head_orientation, quat_multiply

    film = controller.film
    offset = (film.front_heading if film else 0.0) - controller.overlay.recentre_yaw
    q = script.orientation_at(controller.media_time() if media_t is None else media_t)
    return quat_multiply(head_orientation(-offset, 0.0, 0.0), q) if offset else q


def make_backend(args: argparse.Namespace, controller, name: str) -> Backend:
    """The named backend from the registry, with the head script when one is given (BackendError or
    HeadScriptError say why not)."""
    from player.headscript import HeadScript

    film = controller.film
    fps = getattr(controller.engine.info, "fps", None) or getattr(film, "fps", None)
    backend = backend_class(name).from_options(backend_options(args, film, fps))
    if args.head_script:
        problem = backend.head_script_problem()
        if problem:
            raise BackendError(f"--head-script: {problem}")
        script = HeadScript.load(args.head_script)
        backend.set_orientation_source(lambda media_t: scripted_orientation(script, controller, media_t))
    if args.snapshot_at:
        problem = backend.snapshot_problem()
        if problem:
            raise BackendError(f"--snapshot-at: {problem}")
    return backend


def say(message: str) -> None:
    print(f"viewpoint-player: {message}", file=sys.stderr, flush=True)


def announce_output(backend: Backend, render_scale: float) -> None:
    """Once the backend is open: what it is using (the OpenXR layer path and why, the refresh rate), and a
    note when OpenGL runs in software at full size."""
    d = backend.describe()
    if d.get("layer"):
        say(f"layer {d['layer']} ({d.get('layer_reason', '')})")
    refresh = d.get("refresh_rate") or {}
    if refresh.get("chosen"):
        say(f"display refresh rate {refresh['chosen']:g} Hz ({refresh['reason']})")
    elif refresh.get("reason"):
        say(f"display refresh rate unchanged: {refresh['reason']}")
    renderer = str(d.get("gl_renderer") or "")
    if render_scale >= 1.0 and any(s.lower() in renderer.lower() for s in SOFTWARE_GL):
        say(
            f"OpenGL runs in software ({renderer}): frames will be slow at the headset's full size; "
            "--render-scale 0.3 draws smaller eye images (or install the graphics driver)"
        )


def play(args: argparse.Namespace, stopper, pairing_notice, stop_reason) -> int:
    """The play command once its arguments are checked: returns the exit status."""
    from content_manifest import LibraryUnavailable, open_library
    from player.app import PlaybackLoop, PlayOptions, build_report
    from player.backends.openxr.errors import XrSetupError
    from player.control import CommandError, Controller
    from player.headscript import HeadScriptError

    try:
        library = open_library(args.manifest)
    except LibraryUnavailable as exc:
        return _fail(str(exc))
    try:
        choice = choose_backend(args.backend)
    except NoHeadset as exc:
        say(exc.problem)
        say(f"fix: {exc.fix}")
        return EXIT_FAIL
    except BackendError as exc:
        return _fail(str(exc))
    say(f"backend {choice.name} ({choice.reason})")
    if not args.listen:  # docs/protocol.md, "Session lifecycle"
        say("local preview: no session, no participant, nothing about a viewer is recorded")
    audio = args.audio or ("null" if choice.name == "headless" else "auto")
    controller = Controller(
        library,
        engine_options={"audio": audio, "audio_period": args.audio_period / 1000.0, "hwdec": args.hwdec},
        subtitle_language=getattr(args, "subtitles", "auto"),
    )
    server = loop = group_sync = advertiser = None
    sinks: list = []

    def emit(kind: str, data: dict) -> None:
        for sink in sinks:
            sink(kind, data)

    controller.set_sink(emit)
    try:
        if args.listen:  # before the film loads, so that the session log holds transport.loaded too
            from player.session.server import SessionServer
            from player.sync.service import GroupSyncService

            server = SessionServer(
                controller, endpoint=args.listen, keys_dir=args.keys, log_path=args.log,
                player_name=args.name or "viewpoint-player", retention_days=args.retention_days,
            )  # fmt: skip
            server.on_pairing_code = pairing_notice(server, controller)
            try:  # a programme's participant code rule (participant-codes.yaml beside the manifest)
                rule = rule_beside(Path(args.manifest))
            except ValueError as exc:
                return _fail(str(exc))
            server.sessions.participant_pattern = rule[0] if rule else None
            group_sync = GroupSyncService(controller).attach(server)
            # a viewer's hold or a welfare stop released: rejoin where the group is by now
            controller.add_resume_listener(group_sync.follower.catch_up)
            sinks.append(server.emit)
            try:
                server.start()
            except Exception as exc:  # SessionServerError: port in use, unreadable keys, log not writable
                return _fail(f"--listen {args.listen}: {exc}", EXIT_FAIL)
            if args.advertise:
                from player.sync.advertise import advertise_server

                advertiser = advertise_server(server, args.name or "viewpoint-player")
        try:
            controller.load(args.film)
        except CommandError as exc:  # the protocol names the field args.film; here it is --film
            return _fail("--film: " + exc.message.removeprefix("args.film: "))
        if args.speed != 1.0:
            controller.set_rate(args.speed)
        if args.hwdec != "none":  # the decoder and the frame path, with the reason for a fall-back
            say(frames_line(frames_report(controller.engine.info)))
        try:
            backend = make_backend(args, controller, choice.name)
        except XrSetupError as exc:
            return _fail(f"{exc.problem} {exc.fix}")
        except (HeadScriptError, BackendError, ValueError) as exc:
            return _fail(str(exc))
        options = PlayOptions(
            snapshot_at=args.snapshot_at, out_dir=args.out, duration=args.duration,
            exit_on_end=not args.listen,  # a facilitated player stays up after the film ends
            on_open=lambda b: announce_output(b, args.render_scale),
        )  # fmt: skip
        if args.wait:
            options.autoplay = options.exit_on_end = False
        if group_sync is not None:  # presented frames' times for the group's sync figures (docs/group.md)
            options.frame_hook = group_sync.frame_hook  # (LSL: the session log's events, player/sync/lsl.py)
        loop = PlaybackLoop(backend, controller, options, server=server)
        sinks.insert(0, loop.record_event)
        stopper.on_stop(lambda name: loop.request_stop(stop_reason(name), detail=name))
        try:
            result = loop.run()
        except Exception as exc:  # a backend that cannot open: say why (the doctor's words), no traceback
            log.debug("playback failed", exc_info=True)
            if isinstance(exc, XrSetupError):
                say(f"{choice.name}: {exc.problem}")
                say(f"fix: {exc.fix}")
            if args.report:
                failed = {"film": args.film, "backend": choice.name, "result": "fail",
                          "reasons": [f"playback failed: {exc}"]}  # fmt: skip
                _write_report(args.report, failed)
            return EXIT_FAIL if isinstance(exc, XrSetupError) else _fail(f"playback failed: {exc}", EXIT_FAIL)
        report = build_report(
            film=controller.film, backend_name=choice.name, result=result, stats=controller.engine.stats(),
            media_info=controller.engine.info, options=options, gl_renderer=loop.gl_renderer,
            upload_mode=loop.upload_mode,
            backend_report={"reason": choice.reason, **loop.backend_report,
                            "video": frames_report(controller.engine.info)},
        )  # fmt: skip
        # a local preview has no participant; with --listen the session log holds the sessions
        report["session"] = {"mode": "listening" if args.listen else "preview", "participant": None}
        if args.report:
            _write_report(args.report, report)
        if stopper.signal_name is not None:
            say(report["notes"].get("stop", "stopped"))
            return EXIT_OK  # stopped on purpose; the session log says so
        if report["result"] != "pass":
            for reason in report["reasons"]:
                say(f"FAIL: {reason}")
            return EXIT_FAIL
        return EXIT_OK
    finally:
        if advertiser is not None:
            advertiser.close()
        if group_sync is not None:
            group_sync.close()
        if server is not None:
            if stopper.signal_name is not None:
                server.stop("player_terminated", detail=stopper.signal_name)
            else:
                server.stop()
        controller.close()


def _write_report(path: Path, report: dict) -> None:
    """Written whole (temp file in the same folder, renamed into place)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with private_replace(path, "w", encoding="utf-8") as f:
        f.write(json.dumps(report, indent=2) + "\n")


def _fail(message: str, code: int = EXIT_USAGE) -> int:
    say(message)
    return code
