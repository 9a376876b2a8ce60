"""viewpoint-player: play a film (headless, desktop window or headset), QA a library, or run the doctor."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from player.media.audio_output import PERIOD, PERIOD_RANGE
from player.protocol.argtypes import number, output_problem

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected WIDTHxHEIGHT, e.g. 256x256") from None
    if w <= 0 or h <= 0 or w > 16384 or h > 16384:
        raise argparse.ArgumentTypeError(f"{text!r}: width and height must be 1..16384")
    return w, h


def _endpoint(text: str) -> str:
    from player.protocol.endpoints import EndpointError, split_endpoint

    try:
        split_endpoint(text)
    except EndpointError as exc:
        raise argparse.ArgumentTypeError(f"{text!r}: {exc}") from None
    return text


def _subtitles(text: str) -> str:
    import re

    from content_manifest.schema import LANG

    if text in ("auto", "off") or re.fullmatch(LANG, text):
        return text
    raise argparse.ArgumentTypeError(f"{text!r}: expected a language tag such as en or pt-BR, auto or off")


def _times(text: str) -> list[float]:
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r}: expected seconds separated by commas, e.g. 0.5,2,4.25"
        ) from None
    if any(v < 0 for v in values):
        raise argparse.ArgumentTypeError(f"{text!r}: times must be >= 0")
    return values


def player_home(env: Mapping[str, str] | None = None, platform: str | None = None) -> Path:
    """Where a facilitated player keeps its keys and session log unless told (--keys, --log):
    ``VIEWPOINT_PLAYER_HOME``; on Windows ``%LOCALAPPDATA%\\Viewpoint\\player``; elsewhere
    ``$XDG_DATA_HOME/viewpoint/player`` (an absolute XDG_DATA_HOME only, as the XDG spec says) or
    ``~/.local/share/viewpoint/player``."""
    env = os.environ if env is None else env
    platform = sys.platform if platform is None else platform
    if env.get("VIEWPOINT_PLAYER_HOME"):
        return Path(env["VIEWPOINT_PLAYER_HOME"]).expanduser()
    if platform == "win32":
        local = env.get("LOCALAPPDATA")
        base = Path(local) if local else Path.home() / "AppData" / "Local"
        return base / "Viewpoint" / "player"
    data = env.get("XDG_DATA_HOME", "")
    base = Path(data) if data and Path(data).is_absolute() else Path.home() / ".local" / "share"
    return base / "viewpoint" / "player"


def default_keys_dir(env: Mapping[str, str] | None = None, platform: str | None = None) -> Path:
    return player_home(env, platform) / "keys"


def default_log_path(env: Mapping[str, str] | None = None, platform: str | None = None) -> Path:
    return player_home(env, platform) / "sessions.sqlite"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="viewpoint-player", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    sub = parser.add_subparsers(dest="command", required=True)

    play = sub.add_parser("play", help="play one film")
    play.add_argument("--manifest", required=True, type=Path, help="the library's manifest.yaml")
    play.add_argument("--film", required=True, help="film id from the manifest")
    play.add_argument(
        "--backend",
        choices=("auto", "openxr", "desktop", "headless"),
        default="auto",
        help="where the picture goes: auto (the default) is the headset through the active OpenXR runtime "
        "and fails with the doctor's message when there is none; desktop: a window; headless: none (QA)",
    )
    play.add_argument(
        "--head-script", type=Path, help="YAML keyframes {t, heading, pitch, roll} (headless/desktop)"
    )
    play.add_argument(
        "--eye-size",
        type=_size,
        default=None,
        help="eye size WxH (default: headless 256x256, desktop 640x640)",
    )
    play.add_argument(
        "--fov",
        type=number(10, 170, what="degrees"),
        default=90.0,
        help="horizontal field of view in degrees",
    )
    play.add_argument(
        "--display-rate",
        type=number(1, 1000, what="a rate in Hz"),
        default=60.0,
        help="simulated display rate in Hz (headless)",
    )
    play.add_argument(
        "--snapshot-at", type=_times, default=[], help="media times T1,T2,... to save eye images"
    )
    play.add_argument("--out", type=Path, help="folder for snapshots")
    play.add_argument("--report", type=Path, help="write a JSON report here")
    play.add_argument(
        "--duration", type=number(0, above=True, what="seconds"), help="stop after this many media seconds"
    )
    play.add_argument(
        "--speed",
        type=number(0, above=True, what="a speed"),
        default=1.0,
        help="0.5..2 with sound; up to 8 video only",
    )
    play.add_argument(
        "--audio",
        choices=("auto", "null", "none"),
        default=None,
        help="audio output (default: null for headless, auto otherwise)",
    )
    play.add_argument(
        "--audio-period",
        type=number(PERIOD_RANGE[0] * 1000, PERIOD_RANGE[1] * 1000, what="milliseconds"),
        default=PERIOD * 1000,
        metavar="MS",
        help="the audio output's period (device buffer): 10 ms by default; 20-40 ms wakes the player less "
        "often, for machines short of CPU (the clock stays exact: each block is stamped when it is heard)",
    )
    play.add_argument(
        "--hwdec", choices=("auto", "cuda", "d3d11va", "none"), default="auto",
        help="hardware decoding (docs/transport.md): cuda keeps NVIDIA frames on the GPU (the gpu extra)",
    )  # fmt: skip
    play.add_argument(
        "--subtitles",
        type=_subtitles,
        default="auto",
        metavar="LANG|auto|off",
        help="subtitle language shown (auto: the film's first; a film without it shows none)",
    )
    play.add_argument("--eyes", choices=("both", "left"), default="both", help="desktop: one eye or both")
    play.add_argument(
        "--listen", type=_endpoint, help="ZeroMQ endpoint for facilitators, e.g. tcp://0.0.0.0:5555"
    )
    try:
        home = "%LOCALAPPDATA%\\Viewpoint\\player" if sys.platform == "win32" else str(player_home())
    except RuntimeError:  # no home folder known
        home = "~/.local/share/viewpoint/player"
    home = home.replace("%", "%%")  # argparse formats help with %
    play.add_argument(
        "--keys", type=Path,
        help=f"CURVE key folder (with --listen; default {home}{os.sep}keys, or under $VIEWPOINT_PLAYER_HOME)",
    )  # fmt: skip
    play.add_argument(
        "--log", type=Path,
        help=f"session log SQLite file (with --listen; default {home}{os.sep}sessions.sqlite)",
    )  # fmt: skip
    play.add_argument("--name", default=None, help="player name shown to facilitators")
    play.add_argument(
        "--retention-days", type=number(1, 36500, what="days"), default=None,
        help="at start, purge sessions that ended more than DAYS ago, 1..36500 (the purge is logged)",
    )  # fmt: skip
    play.add_argument(
        "--wait", action="store_true",
        help="start paused and stay open at the end: a facilitator (or a group) drives playback",
    )  # fmt: skip
    play.add_argument(
        "--exit-with-parent", action="store_true",
        help="end as on SIGTERM when the program that started this player ends (POSIX: a rehearsal's or a "
        "bench's players do not outlive a crashed console)",
    )  # fmt: skip
    play.add_argument(
        "--advertise", action="store_true", help="announce this player on the network (mDNS, with --listen)"
    )
    play.add_argument(
        "--layer",
        choices=("auto", "projection", "equirect2", "equirect"),
        default="auto",
        help="openxr: how the film reaches the compositor; auto picks equirect2, then equirect (version 1), "
        "then projection, by what the runtime offers (docs/openxr.md)",
    )
    play.add_argument(
        "--render-scale",
        type=number(0.1, 2.0, what="a scale"),
        default=1.0,
        help="openxr: eye images at this times the runtime's recommended size, 0.1..2 (software OpenGL: 0.3)",
    )
    play.add_argument(
        "--graphics", choices=("auto", "egl", "glx", "wgl"), default="auto", help="openxr binding"
    )

    qa = sub.add_parser("qa", help="play every film headless and write a JUnit XML verdict")
    qa.add_argument("--manifest", required=True, type=Path)
    qa.add_argument("--films", nargs="*", help="film ids (default: all)")
    qa.add_argument("--junit", type=Path, help="JUnit XML output")
    qa.add_argument("--eye-size", type=_size, default=(128, 128))
    qa.add_argument(
        "--speed",
        type=number(0, above=True, what="a speed"),
        default=4.0,
        help="fast mode factor (video only), 1..8",
    )
    qa.add_argument("--report-dir", type=Path, help="also write one JSON report per film here")
    qa.add_argument(
        "--backend",
        choices=("headless", "openxr"),
        default="headless",
        help="headless (default), or openxr: the same checks through the active OpenXR runtime",
    )

    doctor = sub.add_parser("doctor", help="pre-flight check: OpenXR runtime, graphics, audio, films")
    doctor.add_argument("rest", nargs=argparse.REMAINDER)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "doctor":
        from player import doctor

        return int(doctor.main(argv[1:]) or 0)
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING, format="%(levelname)s %(message)s"
    )
    try:
        if args.command == "play":
            return cmd_play(args)
        if args.command == "qa":
            from player.qa import run_qa

            return run_qa(args)
    except KeyboardInterrupt:
        return EXIT_FAIL
    parser.error(f"unknown command {args.command!r}")
    return EXIT_USAGE


def _fail(message: str, code: int = EXIT_USAGE) -> int:
    print(f"viewpoint-player: {message}", file=sys.stderr)
    return code


def stop_signals() -> list[signal.Signals]:
    """Signals that mean "stop now, cleanly": Ctrl-C (SIGINT, everywhere: the operator's deliberate stop),
    SIGTERM (and SIGHUP: the terminal went away) on POSIX; on Windows SIGBREAK, which the C runtime raises
    for CTRL_BREAK and for the console window being closed."""
    names = ("SIGINT", "SIGTERM", "SIGBREAK") if sys.platform == "win32" else ("SIGINT", "SIGTERM", "SIGHUP")
    return [getattr(signal, n) for n in names if hasattr(signal, n)]


def stop_reason(signal_name: str) -> str:
    """The playback loop's ``stopped_by`` for a stop signal: Ctrl-C is the operator's; the rest terminate."""
    return "operator" if signal_name == "SIGINT" else "terminated"


class StopOnSignal:
    """While active, a stop signal asks the playback loop to end (the session then ends with a reason and
    the log is closed) instead of killing the process; a second signal exits at once, still through the
    ``finally`` clauses."""

    def __init__(self) -> None:
        self.signal_name: str | None = None
        self._on_stop: Callable[[str], None] | None = None
        self._previous: dict[int, object] = {}

    def __enter__(self) -> StopOnSignal:
        for sig in stop_signals():
            try:
                self._previous[sig] = signal.signal(sig, self._handle)
            except (ValueError, OSError):  # not the main thread (embedded use): leave the default
                pass
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, previous in self._previous.items():
            try:
                signal.signal(sig, previous)  # type: ignore[arg-type]
            except (ValueError, OSError, TypeError):
                pass

    def on_stop(self, callback: Callable[[str], None]) -> None:
        """``callback(signal_name)`` now if a signal already came, else when one comes."""
        self._on_stop = callback
        if self.signal_name is not None:
            callback(self.signal_name)

    def _handle(self, signum: int, frame: object) -> None:
        if self.signal_name is not None:
            raise SystemExit(EXIT_FAIL)  # asked twice: stop waiting for the loop
        self.signal_name = signal.Signals(signum).name
        if self._on_stop is not None:
            self._on_stop(self.signal_name)


def pairing_notice(server, controller, announce: bool = True) -> Callable[[str], None]:
    """The server's ``on_pairing_code``: print the code, and show it in the headset (a small head-locked
    message) while no facilitator is paired with this player; hidden once the first one pairs."""

    def show(code: str) -> None:
        if announce:
            endpoint = server.endpoints.command if server.endpoints else server.requested_endpoint
            print(
                f"viewpoint-player: pairing code {code} (on the laptop: viewpoint-facilitator pair "
                f"{endpoint} {code})",
                flush=True,
            )
        controller.overlay.set_notice("" if server.authorized_count else f"Pairing code\n{code}")

    return show


def watch_parent(period: float = 0.5) -> threading.Thread | None:
    """``--exit-with-parent``: when this process's parent ends (it is re-parented), send this process
    SIGTERM, so the playback loop ends through its usual stop path (session ended, log closed). POSIX only;
    None elsewhere. Thread ``viewpoint-parent-watch``: started here, daemon, reads ``os.getppid()`` only."""
    if sys.platform == "win32":
        return None
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent and parent != 1:
            time.sleep(period)
        os.kill(os.getpid(), signal.SIGTERM)

    t = threading.Thread(target=watch, name="viewpoint-parent-watch", daemon=True)
    t.start()
    return t


def cmd_play(args: argparse.Namespace) -> int:
    with StopOnSignal() as stopper:
        if args.exit_with_parent:
            watch_parent()
        return _play(args, stopper)


def _play(args: argparse.Namespace, stopper: StopOnSignal) -> int:
    """Check the arguments, then play (player/compose.py puts the parts together)."""
    if not 0.5 <= args.speed <= 8.0:
        return _fail(f"--speed {args.speed:g}: expected 0.5..8")
    if args.snapshot_at and args.out is None:
        return _fail("--snapshot-at needs --out DIR for the images")
    for option, path, folder in (("--report", args.report, False), ("--out", args.out, True)):
        problem = path is not None and output_problem(path, folder)
        if problem:
            return _fail(f"{option}: {problem}")
    if args.listen and (args.keys is None or args.log is None):
        try:
            args.keys = args.keys if args.keys is not None else default_keys_dir()
            args.log = args.log if args.log is not None else default_log_path()
        except RuntimeError as exc:  # Path.home(): no home directory known
            return _fail(
                f"--listen: no home folder for the keys and log ({exc}); give --keys DIR and --log FILE"
            )
        print(f"viewpoint-player: keys in {args.keys}, session log {args.log}", flush=True)
    from player.compose import play

    return play(args, stopper, pairing_notice, stop_reason)


if __name__ == "__main__":
    sys.exit(main())
