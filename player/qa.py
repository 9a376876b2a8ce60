"""viewpoint-player qa: play every film headless, check it end to end, write JUnit XML for CI.

A whole verdict: every film named gets a test case whatever happens to the others, and the JUnit file is
written whenever qa ran (an unreadable manifest is one failed case). Per film: the file is there and a
regular file, its sha256 is the manifest's, its subtitles parse, its projection and stereo layout are what
the manifest says (its own spherical metadata, and its pictures: see `content_manifest.layout`), it decodes
to the end with no errors (fast mode, video only) and its duration matches. The calibration films also get
their golden checks (colours at the centre of each eye, frame numbers read back from the picture).
"""

from __future__ import annotations

import argparse
import json
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

DURATION_TOLERANCE_S = 0.1
COLOUR_TOLERANCE = 24
FRAME_CHECK_EVERY = 15  # frames between frame-number checks on the calibration films


@dataclass
class FilmVerdict:
    film: str
    seconds: float = 0.0
    failures: list[str] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # findings that do not fail the film
    notes: list[str] = field(default_factory=list)
    report: dict = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return not self.failures


def golden_views(film) -> list[tuple[int, float, float, tuple[int, int, int]]]:
    """(eye, heading, pitch, expected colour) for the sample calibration films; empty for other films."""
    from content_manifest import sample

    if film.id not in (sample.MONO_ID, sample.TB_ID, sample.FOA_ID):
        return []
    views = [(0, h, 0.0, c) for h, c in ((0.0, sample.RED), (90.0, sample.GREEN), (180.0, sample.BLUE),
                                         (270.0, sample.YELLOW))]  # fmt: skip
    views.append((0, 0.0, 89.0, sample.WHITE))
    if film.stereo != "mono":
        views.append((1, 0.0, 0.0, sample.CYAN))
    return views


def check_projection(renderer, film, size: int = 64) -> list[str]:
    """Render the golden views with the uploaded frame; the problems found (empty when right)."""
    from player.backends.base import EyeView
    from player.render.projection import head_orientation, symmetric_fov
    from player.render.targets import OffscreenTarget

    problems = []
    target = OffscreenTarget(size, size)
    try:
        for eye, heading, pitch, expected in golden_views(film):
            view = EyeView(
                head_orientation(heading - film.front_heading, pitch), symmetric_fov(40.0, size, size)
            )
            renderer.draw_eye(eye, view, target.target)
            c = size // 2
            got = target.read_rgb()[c - 2 : c + 2, c - 2 : c + 2].reshape(-1, 3).mean(axis=0)
            if np.abs(got - np.array(expected)).max() > COLOUR_TOLERANCE:
                eye_name = ("left", "right")[eye]
                problems.append(
                    f"projection: {eye_name} eye centre at heading {heading:g} pitch {pitch:g} is "
                    f"{tuple(int(v) for v in got.round())}, expected {expected}"
                )
    finally:
        target.delete()
    return problems


def check_frame_number(renderer, frame) -> str | None:
    """Convert the displayed picture (left eye) back to RGB and read its frame number; a problem or None."""
    from content_manifest.sample import read_frame_number
    from player.render.renderer import eye_region
    from player.render.targets import OffscreenTarget

    _, _, w, h = eye_region(renderer.stereo, 0)
    target = OffscreenTarget(round(frame.width * w), round(frame.height * h))
    try:
        renderer.draw_equirect(target.target, 0)
        shown = read_frame_number(target.read_rgb())
    finally:
        target.delete()
    if shown != frame.index:
        return f"frame numbers: the picture of frame {frame.index} (pts {frame.pts:.3f} s) reads {shown}"
    return None


def qa_film(library, film, eye_size: tuple[int, int], speed: float, backend: str = "headless") -> FilmVerdict:
    """Every check of one film; never raises (a film that breaks a check is a failed case)."""
    verdict = FilmVerdict(film.id)
    start = time.monotonic()
    try:
        if _file_checks(film, verdict):
            _layout_checks(film, verdict)
            _play(library, film, eye_size, speed, verdict, backend)
    except Exception as exc:  # a film that breaks the player is a failed test case, not a crash
        verdict.failures.append(f"{type(exc).__name__}: {exc}")
    finally:
        verdict.seconds = time.monotonic() - start
    return verdict


def _file_checks(film, verdict: FilmVerdict) -> bool:
    """The file is a regular file with the manifest's sha256, the subtitles parse; False when the film
    cannot be played at all (missing, or not a regular file)."""
    from content_manifest.probe import sha256_file
    from content_manifest.safefile import irregular
    from content_manifest.webvtt import check_text

    verdict.checks.append("file")
    try:
        reason = irregular(film.path)
    except FileNotFoundError:
        reason = "does not exist"
    if reason:
        verdict.failures.append(f"file: {film.file!r} {reason}")
        return False
    verdict.checks.append("sha256")
    digest = sha256_file(film.path, f"sha256 {film.file}")
    if digest != film.sha256.lower():
        verdict.failures.append(
            f"sha256: the file's sha256 is {digest}, the manifest's {film.sha256}: not the file the manifest "
            "was made for"
        )
    for lang, path in film.subtitles.items():
        verdict.checks.append(f"subtitles {lang}")
        try:
            reason = irregular(path)
            problems = check_text(path.read_bytes(), film.subtitle_files[lang]) if not reason else []
        except OSError as exc:
            reason = f"cannot be read ({exc.strerror or exc})"
        if reason:
            verdict.failures.append(f"subtitles.{lang}: {film.subtitle_files[lang]!r} {reason}")
        for p in problems:
            (verdict.warnings if p.warning else verdict.failures).append(f"subtitles.{lang}: {p.text}")
    return True


def _layout_checks(film, verdict: FilmVerdict) -> None:
    """The projection and stereo layout against the file's metadata and its pictures, whatever the film."""
    from content_manifest.layout import metadata_findings, picture_findings, sample_pictures
    from content_manifest.loader import aspect_problem
    from content_manifest.probe import ProbeError, probe

    verdict.checks.append("projection")
    try:
        info = probe(film.path)
    except ProbeError as exc:
        verdict.failures.append(f"file: {film.file!r}: {exc}")
        return
    findings = metadata_findings(film, info.spherical)
    aspect = aspect_problem(film.projection, film.stereo, info.width, info.height)
    if aspect:
        verdict.failures.append(f"stereo: {aspect[0]} ({aspect[1]})")
    if info.spherical is not None and info.spherical.unplayable:
        pictures = []  # not an equirect picture: its halves and edges say nothing
    else:
        pictures = sample_pictures(film.path)
        findings += picture_findings(film, pictures)
    for f in findings:
        text = f"{f.field}: {f.message}" + (f" ({f.expected})" if f.expected else "")
        (verdict.warnings if f.warning else verdict.failures).append(text)
    said = "no spherical metadata" if info.spherical is None else "spherical metadata read"
    verdict.notes.append(f"layout: {said}; {len(pictures)} picture(s) sampled for the picture checks")


def _backend(name: str, film, eye_size: tuple[int, int], fps: float | None):
    from player.backends import backend_class, create_backend
    from player.backends.base import BackendOptions

    if name == "headless":
        return create_backend("headless", eye_size=eye_size, fov=90.0, paced=False)
    options = BackendOptions(
        projection=film.projection, stereo=film.stereo, front_heading=film.front_heading, film_fps=fps
    )
    return backend_class(name).from_options(options)


def _play(
    library, film, eye_size: tuple[int, int], speed: float, verdict: FilmVerdict, backend_name: str
) -> None:
    from player.app import PlaybackLoop, PlayOptions, build_report
    from player.control import CommandError, Controller

    controller = Controller(
        library, engine_options={"audio": "none", "hwdec": "auto"}, subtitle_language=None
    )
    try:
        try:
            controller.load(film.id)
        except CommandError as exc:
            verdict.failures.append(exc.message)
            return
        if speed > 1.0:
            controller.set_rate(speed)
        backend = _backend(backend_name, film, eye_size, getattr(controller.engine.info, "fps", None))
        options = PlayOptions()
        golden_done: list[bool] = []

        numbered = bool(golden_views(film))  # the calibration films carry their frame number in the picture
        last_checked: list[int] = [-FRAME_CHECK_EVERY]

        def hook(loop: PlaybackLoop, info) -> None:
            frame = loop.renderer.frame if loop.renderer is not None else None
            if frame is None:
                return
            if not golden_done:
                golden_done.append(True)
                problems = check_projection(loop.renderer, film)
                if numbered:
                    verdict.checks.append("golden projection")
                    verdict.checks.append("frame numbers")
                verdict.failures.extend(problems)
            if numbered and frame.index - last_checked[0] >= FRAME_CHECK_EVERY:
                last_checked[0] = frame.index
                problem = check_frame_number(loop.renderer, frame)
                if problem:
                    verdict.failures.append(problem)

        options.frame_hook = hook
        loop = PlaybackLoop(backend, controller, options)
        controller.set_sink(loop.record_event)
        result = loop.run()
        stats = controller.engine.stats()
        info = controller.engine.info
        verdict.report = build_report(
            film=film, backend_name=backend_name, result=result, stats=stats, media_info=info,
            options=options, gl_renderer=getattr(loop, "gl_renderer", ""),
            upload_mode=getattr(loop, "upload_mode", ""), backend_report=loop.backend_report,
        )  # fmt: skip
        verdict.failures.extend(verdict.report["reasons"])
        verdict.checks.append("decodes to the end")
        expected = film.duration
        # In fast mode the display skips frames, so the decoder's count says how far the picture went.
        decoded_to = stats.get("decoded", 0) / info.fps if info.fps else 0.0
        if expected is not None:
            verdict.checks.append("duration")
            if info.duration is not None and abs(info.duration - expected) > DURATION_TOLERANCE_S:
                verdict.failures.append(
                    f"duration: container says {info.duration:.3f} s, manifest {expected:.3f} s"
                )
            if abs(decoded_to - expected) > DURATION_TOLERANCE_S + 1.0 / max(info.fps, 1.0):
                verdict.failures.append(
                    f"duration: {stats.get('decoded', 0)} frames at {info.fps:g} fps make "
                    f"{decoded_to:.3f} s, manifest says {expected:.3f} s"
                )
    finally:
        controller.close()


def junit_xml(verdicts: list[FilmVerdict], manifest: Path) -> ET.ElementTree:
    suite = ET.Element(
        "testsuite",
        name="viewpoint-qa",
        tests=str(len(verdicts)),
        failures=str(sum(not v.passed for v in verdicts)),
        errors="0",
        time=f"{sum(v.seconds for v in verdicts):.3f}",
    )
    props = ET.SubElement(suite, "properties")
    ET.SubElement(props, "property", name="manifest", value=str(manifest))
    for v in verdicts:
        case = ET.SubElement(
            suite, "testcase", classname="viewpoint.qa", name=v.film, time=f"{v.seconds:.3f}"
        )
        if v.failures:
            failure = ET.SubElement(case, "failure", message=v.failures[0], type="qa")
            failure.text = "\n".join(v.failures)
        out = ET.SubElement(case, "system-out")
        lines = [f"checks: {', '.join(v.checks)}", *v.notes]
        out.text = "\n".join(lines) + "\n" + json.dumps(v.report, indent=1)
        if v.warnings:
            err = ET.SubElement(case, "system-err")
            err.text = "\n".join(f"warning: {w}" for w in v.warnings)
    return ET.ElementTree(_wrap(suite))


def _wrap(suite: ET.Element) -> ET.Element:
    root = ET.Element(
        "testsuites", name="viewpoint", tests=suite.get("tests"), failures=suite.get("failures")
    )
    root.append(suite)
    return root


def run_qa(args: argparse.Namespace) -> int:
    """Exit 0 when every film passed, 1 when one failed, 2 when the manifest (or an argument) is unusable;
    the JUnit file is written in every case once the arguments are good."""
    import sys

    from content_manifest.partial import check_film_by_film
    from player.protocol.argtypes import output_problem

    if not 1.0 <= args.speed <= 8.0:
        print(f"viewpoint-player: --speed {args.speed:g}: expected 1..8", file=sys.stderr)
        return 2
    for option, path, folder in (("--junit", args.junit, False), ("--report-dir", args.report_dir, True)):
        problem = path is not None and output_problem(path, folder)
        if problem:
            print(f"viewpoint-player: {option}: {problem}", file=sys.stderr)
            return 2
    verdicts: list[FilmVerdict] = []
    ids: list[str] = []
    try:
        try:
            # the films' own files are checked film by film (a missing one fails its case, not the run), and
            # a film whose entry is wrong fails its own case while the others are tested
            checked = check_film_by_film(args.manifest, check_files=False)
        except OSError as exc:
            checked = None
            document = [f"{args.manifest}: cannot read ({exc.strerror or exc})"]
        else:
            document = [str(p) for p in checked.document_errors]
        if document or checked is None or checked.library is None:
            verdicts.append(FilmVerdict("manifest", failures=document or ["invalid manifest"]))
            head = f"viewpoint-player: {args.manifest}: invalid manifest:"
            print(head, *document, sep="\n", file=sys.stderr)
        if checked is None or checked.library is None:
            return 2
        library, wrong = checked.library, checked.film_errors
        ids = args.films or [*library.films, *wrong]
        for film_id in ids:
            film = library.films.get(film_id)
            if film_id in wrong:
                v = FilmVerdict(film_id, failures=[f"manifest: {p}" for p in wrong[film_id]])
            elif film is None:
                known = ", ".join([*library.films, *wrong]) or "none"
                missing = f"--films: no film {film_id!r} in the library (known: {known})"
                v = FilmVerdict(film_id, failures=[missing])
            else:
                v = qa_film(library, film, args.eye_size, args.speed, getattr(args, "backend", "headless"))
            verdicts.append(v)
            _say(v)
            if args.report_dir and v.report:
                _write_report(args.report_dir, film_id, v.report)
        if document:
            return 2
        return 0 if all(v.passed for v in verdicts) else 1
    finally:
        done = {v.film for v in verdicts}
        verdicts += [FilmVerdict(f, failures=["not run: qa was interrupted"]) for f in ids if f not in done]
        if args.junit:
            _write_junit(args.junit, verdicts, args.manifest)


def _say(v: FilmVerdict) -> None:
    status = "PASS" if v.passed else "FAIL"
    print(f"{status} {v.film} ({v.seconds:.1f} s){'' if v.passed else ': ' + '; '.join(v.failures)}")
    for w in v.warnings:
        print(f"  warning: {w}")


def _write_report(folder: Path, film_id: str, report: dict) -> None:
    import sys

    try:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{film_id}.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
    except OSError as exc:
        what = f"cannot write {film_id}.json ({exc.strerror or exc})"
        print(f"viewpoint-player: --report-dir: {what}", file=sys.stderr)


def _write_junit(path: Path, verdicts: list[FilmVerdict], manifest: Path) -> None:
    """The JUnit file, whole or not at all (a temporary file renamed over it)."""
    import os
    import tempfile

    path.parent.mkdir(parents=True, exist_ok=True)
    tree = junit_xml(verdicts, manifest)
    ET.indent(tree)
    fd, name = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            tree.write(f, encoding="utf-8", xml_declaration=True)
        os.chmod(name, 0o644)
        os.replace(name, path)
    finally:
        if os.path.exists(name):
            os.unlink(name)
