"""viewpoint-player qa: play every film headless, check it end to end, write JUnit XML for CI.

Per film: it decodes to the end with no errors (fast mode, video only), its duration matches the manifest,
and, for the calibration films, the projection is right (golden colours at the centre of each eye).
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


def qa_film(library, film, eye_size: tuple[int, int], speed: float) -> FilmVerdict:
    from player.app import PlaybackLoop, PlayOptions, build_report
    from player.backends import create_backend
    from player.control import CommandError, Controller

    verdict = FilmVerdict(film.id)
    start = time.monotonic()
    controller = Controller(
        library, engine_options={"audio": "none", "hwdec": "auto"}, subtitle_language=None
    )
    try:
        try:
            controller.load(film.id)
        except CommandError as exc:
            verdict.failures.append(exc.message)
            return verdict
        if speed > 1.0:
            controller.set_rate(speed)
        backend = create_backend("headless", eye_size=eye_size, fov=90.0, paced=False)
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
                    verdict.checks.append("projection")
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
            film=film, backend_name="headless", result=result, stats=stats, media_info=info, options=options,
            gl_renderer=getattr(loop, "gl_renderer", ""), upload_mode=getattr(loop, "upload_mode", ""),
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
    except Exception as exc:  # a film that breaks the player is a failed test case, not a crash
        verdict.failures.append(f"{type(exc).__name__}: {exc}")
    finally:
        controller.close()
        verdict.seconds = time.monotonic() - start
    return verdict


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
        out.text = f"checks: {', '.join(v.checks)}\n" + json.dumps(v.report, indent=1)
    return ET.ElementTree(_wrap(suite))


def _wrap(suite: ET.Element) -> ET.Element:
    root = ET.Element(
        "testsuites", name="viewpoint", tests=suite.get("tests"), failures=suite.get("failures")
    )
    root.append(suite)
    return root


def run_qa(args: argparse.Namespace) -> int:
    import sys

    from content_manifest import LibraryUnavailable, open_library
    from player.protocol.argtypes import output_problem

    try:
        library = open_library(args.manifest)
    except LibraryUnavailable as exc:
        print(f"viewpoint-player: {exc}", file=sys.stderr)
        return 2
    ids = args.films or list(library.films)
    unknown = [f for f in ids if f not in library.films]
    if unknown:
        print(f"viewpoint-player: --films: unknown film(s) {', '.join(unknown)}", file=sys.stderr)
        return 2
    if not 1.0 <= args.speed <= 8.0:
        print(f"viewpoint-player: --speed {args.speed:g}: expected 1..8", file=sys.stderr)
        return 2
    for option, path, folder in (("--junit", args.junit, False), ("--report-dir", args.report_dir, True)):
        problem = path is not None and output_problem(path, folder)
        if problem:
            print(f"viewpoint-player: {option}: {problem}", file=sys.stderr)
            return 2
    verdicts = []
    for film_id in ids:
        v = qa_film(library, library.films[film_id], args.eye_size, args.speed)
        verdicts.append(v)
        status = "PASS" if v.passed else "FAIL"
        print(f"{status} {film_id} ({v.seconds:.1f} s){'' if v.passed else ': ' + '; '.join(v.failures)}")
        if args.report_dir:
            args.report_dir.mkdir(parents=True, exist_ok=True)
            (args.report_dir / f"{film_id}.json").write_text(json.dumps(v.report, indent=2), encoding="utf-8")
    if args.junit:
        args.junit.parent.mkdir(parents=True, exist_ok=True)
        tree = junit_xml(verdicts, args.manifest)
        ET.indent(tree)
        tree.write(args.junit, encoding="utf-8", xml_declaration=True)
    return 0 if all(v.passed for v in verdicts) else 1
