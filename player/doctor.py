"""`viewpoint-player doctor`: a pre-flight check for practitioners and QA.

Checks the active OpenXR runtime (name, version, manifest, extensions), the headset, which graphics binding
works (and the OpenGL renderer behind it), the audio output, and the films (present, hashes, decodable). Each
problem comes with its fix in plain words. Exit status: 0 when a session can run, 1 when something blocks it,
2 for bad usage.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path


@dataclass
class Check:
    area: str
    ok: bool
    summary: str
    fix: str = ""
    blocking: bool = True
    details: dict = field(default_factory=dict)


@dataclass
class Report:
    checks: list[Check] = field(default_factory=list)

    def add(self, check: Check) -> Check:
        self.checks.append(check)
        return check

    @property
    def blocked(self) -> bool:
        return any(not c.ok and c.blocking for c in self.checks)


def check_runtime(report: Report) -> list[str] | None:
    """The active runtime; returns its extensions, or None when there is none."""
    from player.backends.openxr.errors import XrSetupError
    from player.backends.openxr.runtime import (
        available_extensions,
        create_instance,
        runtime_library,
        runtime_manifest_path,
    )

    manifest = runtime_manifest_path()
    details = {"manifest": manifest, "library": runtime_library(manifest)}
    try:
        extensions = available_extensions()
        instance, _enabled, info = create_instance([], [])
    except XrSetupError as exc:
        report.add(Check("runtime", False, exc.problem, exc.fix, details=details))
        return None
    import xr

    details.update(name=info.name, version=info.version, extensions=extensions)
    report.add(
        Check(
            "runtime",
            True,
            f"{info.name} {info.version} (manifest: {manifest or 'default'})",
            details=details,
        )
    )
    try:
        from player.backends.openxr.runtime import get_hmd_system

        system = get_hmd_system(instance)
        props = xr.get_system_properties(instance, system)
        views = xr.enumerate_view_configuration_views(
            instance, system, xr.ViewConfigurationType.PRIMARY_STEREO
        )
        name = props.system_name.decode() if isinstance(props.system_name, bytes) else str(props.system_name)
        sizes = [(v.recommended_image_rect_width, v.recommended_image_rect_height) for v in views]
        report.add(Check("headset", True, f"{name}, eyes {sizes}", details={"name": name, "views": sizes}))
    except XrSetupError as exc:
        report.add(Check("headset", False, exc.problem, exc.fix))
    finally:
        xr.destroy_instance(instance)
    return extensions


def check_audio(report: Report) -> None:
    """The audio output the player will use, opened and played (player/doctor_audio.py)."""
    from player.doctor_audio import audio_check

    report.add(Check("audio", **audio_check()))


def check_decoding(report: Report) -> None:
    """Hardware decoding and the GPU path (player/media/hwframes.py)."""
    from player.media.hwframes import decode_check

    report.add(Check("decoding", **decode_check()))


def check_graphics(report: Report, extensions: list[str], requested: str) -> dict | None:
    """Open a real session with each candidate binding (or the requested one) and report which works."""
    from player.backends.openxr.backend import OpenXRBackend
    from player.backends.openxr.errors import XrSetupError
    from player.backends.openxr.runtime import EGL

    if requested != "auto":
        candidates = [requested]
    elif sys.platform == "win32":
        candidates = ["wgl"]
    else:
        candidates = (["glx"] if os.environ.get("DISPLAY") else []) + (["egl"] if EGL in extensions else [])
        if not candidates:
            candidates = ["glx"]
    working = []
    for name in candidates:
        backend = OpenXRBackend(graphics=name, reconnect=False)
        try:
            backend.open()
            d = backend.describe()
            working.append(d)
            report.add(
                Check(
                    "graphics",
                    True,
                    f"{name.upper()} works: {d['gl_renderer']}; layer {d['layer']}; "
                    f"swapchain {'sRGB' if d['srgb'] else 'linear'} {d['swapchain_format']}",
                    details=d,
                )
            )
        except XrSetupError as exc:
            report.add(Check("graphics", False, f"{name.upper()}: {exc.problem}", exc.fix, blocking=False))
        finally:
            try:
                backend.close()
            except Exception:
                pass
    if working:
        return working[0]
    if not working:
        report.add(
            Check(
                "graphics",
                False,
                "No graphics binding works with this runtime.",
                "Update the graphics driver."
                if sys.platform == "win32"
                else "Update the graphics driver; run from the desktop session (GLX) or use a runtime "
                "with XR_MNDX_egl_enable (Monado) for --graphics egl.",
            )
        )
    return None


def _sha256(path: Path) -> str:
    from content_manifest.safefile import sha256_regular

    return sha256_regular(path)  # a FIFO or a device swapped in meanwhile is refused, never read


def check_films(report: Report, library: Path) -> None:
    from content_manifest import ManifestError, load_library

    if library.is_dir():
        library = library / "manifest.yaml"
    try:
        lib = load_library(library)
    except ManifestError as exc:
        for p in exc.problems:
            report.add(
                Check(
                    "films",
                    False,
                    str(p),
                    "Fix the manifest line named above (`viewpoint-manifest check` explains each field).",
                    blocking=getattr(p, "severity", "error") == "error",
                )
            )
        return
    except OSError as exc:
        report.add(
            Check(
                "films",
                False,
                f"Cannot read the library {library}: {exc}",
                "Check the path given with --library.",
            )
        )
        return
    for film in lib.films.values():
        path = Path(film.path)
        if not path.is_file():
            report.add(
                Check(
                    "films",
                    False,
                    f"{film.id}: file {path} is missing.",
                    "Copy the film into the library folder, or fix `file:` in the manifest.",
                )
            )
            continue
        digest = _sha256(path)
        if film.sha256 and digest != film.sha256.lower():
            report.add(
                Check(
                    "films",
                    False,
                    f"{film.id}: {path.name} does not match its sha256 in the manifest "
                    "(a different or damaged copy).",
                    "Copy the film again from the original, or update `sha256:` if the film was "
                    "deliberately replaced.",
                    details={"sha256": digest},
                )
            )
            continue
        problem = _decode_problem(path)
        if problem:
            report.add(
                Check(
                    "films",
                    False,
                    f"{film.id}: {problem}",
                    "Re-encode the film as H.264 or HEVC (8 or 10 bit, 4:2:0, 4:2:2 or 4:4:4) in MP4.",
                    details={"sha256": digest},
                )
            )
        else:
            report.add(
                Check(
                    "films",
                    True,
                    f"{film.id}: {path.name} sha256 {digest[:12]}… decodes",
                    details={"sha256": digest},
                )
            )


def _decode_problem(path: Path) -> str | None:
    """None when the first video frame decodes in a pixel format the renderer takes, else what is wrong."""
    try:
        import av

        from content_manifest.formats import unsupported

        with av.open(str(path)) as container:
            if not container.streams.video:
                return "has no video stream"
            stream = container.streams.video[0]
            for frame in container.decode(stream):
                return unsupported(frame.format.name)
            return "has no decodable video frame"
    except Exception as exc:
        return f"does not decode ({type(exc).__name__}: {exc})"


def check_capabilities(report: Report, extensions: list[str], session: dict, library: Path | None) -> None:
    """The runtime's capability matrix (layers, refresh rates, user presence, controllers) and the layer path
    each film takes with ``--layer auto``."""
    from player.backends.openxr.capabilities import choose_layer, layer_paths

    films: dict[str, str] = {}
    if library is not None:
        try:
            from content_manifest import load_library

            lib = load_library(library / "manifest.yaml" if library.is_dir() else library)
            films = {f.id: f.projection for f in lib.films.values()}
        except Exception:  # the films check names the problem
            films = {}
    paths = layer_paths(extensions)
    refresh = session.get("refresh_rate") or {}
    matrix = {
        "layers": {k: ("yes" if why is None else f"no: {why}") for k, why in paths.items()},
        "refresh_rates": refresh.get("offered") or f"not chosen: {refresh.get('reason', 'unknown')}",
        "user_presence": bool(session.get("user_presence")),
        "controllers": session.get("profiles") or [],
        "films": {fid: choose_layer("auto", extensions, proj).layer for fid, proj in films.items()},
    }
    first = choose_layer("auto", extensions)
    report.add(Check("capabilities", True, f"360 films take the {first.layer} layer ({first.reason})",
                     details=matrix))  # fmt: skip


def render_text(report: Report) -> str:
    lines = []
    for c in report.checks:
        mark = "ok " if c.ok else ("XX " if c.blocking else "!! ")
        lines.append(f"{mark}[{c.area}] {c.summary}")
        if not c.ok and c.fix:
            lines.append(f"      fix: {c.fix}")
        if c.area == "runtime" and c.ok and c.details.get("extensions"):
            lines.append(f"      extensions: {' '.join(c.details['extensions'])}")
        if c.area == "decoding":
            lines.append(f"      {c.details['amd_intel']}")
        if c.area == "capabilities":
            m = c.details
            lines.append(f"      layers: {'; '.join(f'{k} {v}' for k, v in m['layers'].items())}")
            rates = m["refresh_rates"]
            rates = f"{', '.join(f'{r:g}' for r in rates)} Hz" if isinstance(rates, list) else rates
            lines.append(f"      refresh rates: {rates}")
            presence = "yes" if m["user_presence"] else "no (XR_EXT_user_presence)"
            lines.append(f"      user presence: {presence}")
            lines.append(f"      controller bindings accepted: {', '.join(m['controllers']) or 'none'}")
            for fid, layer in m["films"].items():
                lines.append(f"      film {fid}: {layer} layer")
    lines.append(
        "RESULT: a session cannot run until the XX problems are fixed."
        if report.blocked
        else "RESULT: ready for a session."
    )
    return "\n".join(lines)


def run(
    library: Path | None = None, graphics: str = "auto", films: bool = True, audio: bool = True
) -> Report:
    report = Report()
    extensions = check_runtime(report)
    if extensions is not None and not any(c.area == "headset" and not c.ok for c in report.checks):
        session = check_graphics(report, extensions, graphics)
        if session is not None:
            check_capabilities(report, extensions, session, library)
    if audio:
        check_audio(report)
    check_decoding(report)
    if films and library is not None:
        check_films(report, library)
    return report


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="viewpoint-player doctor", description="Pre-flight check for a session."
    )
    ap.add_argument("--library", type=Path, help="manifest.yaml (or its folder) of the films to check")
    ap.add_argument("--graphics", default="auto", choices=("auto", "egl", "glx", "wgl"))
    ap.add_argument("--no-audio", action="store_true", help="skip the audio output check")
    ap.add_argument("--json", action="store_true", help="print the report as JSON")
    return ap


def main(argv: list[str] | None = None) -> int:
    ap = build_parser()
    try:
        args = ap.parse_args(argv)
    except SystemExit as exc:
        return 2 if exc.code else 0
    os.environ.setdefault("XR_LOADER_DEBUG", "none")  # the loader's own stderr noise; we explain problems
    try:
        report = run(args.library, args.graphics, audio=not args.no_audio)
    except Exception as exc:  # the doctor must never end in a traceback
        report = Report(
            [
                Check(
                    "doctor",
                    False,
                    f"The check itself failed: {type(exc).__name__}: {exc}",
                    "Report this to the Viewpoint maintainers with the output above.",
                )
            ]
        )
    if args.json:
        print(
            json.dumps(
                {"blocked": report.blocked, "checks": [asdict(c) for c in report.checks]},
                indent=1,
                default=str,
            )
        )
    else:
        print(render_text(report))
    return 1 if report.blocked else 0


if __name__ == "__main__":
    sys.exit(main())
