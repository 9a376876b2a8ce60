"""Benchmark: load and validate a 10,000-film manifest (no media) against plain `yaml.load` (CSafeLoader).

Prints wall and CPU times and their ratios, measured in the same run (the machine may be shared: compare the
CPU column and the ratios). Goal: load + validate under 1 s of CPU. Also times the careful path alone (what
an invalid manifest costs: every node with its position, every problem found) and a library whose films each
have their own chapter titles, prompts and notes (the loader reads each distinct line once). Takes about 40 s.
Run: .venv/bin/python bench/manifest_load.py [--films N] [--repeat R] [--reference-repeat R]
"""

from __future__ import annotations

import argparse
import gc
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import yaml

from content_manifest import load_library, loader
from content_manifest.onepass import read_checked
from content_manifest.schema import LIBRARY

FILM = """  - id: film-{i:05d}
    title: "Perspective film {i}: at the school gate"
    description: "A parent's view of a tense pick-up, part {i}."
    file: films/film-{i:05d}.mp4
    sha256: {sha}
    projection: equirect360
    stereo: {stereo}
    front_heading: {heading}
    audio: stereo
    duration: "12:{sec:02d}.500"
    subtitles:
      en: subs/film-{i:05d}.en.vtt
      cy: subs/film-{i:05d}.cy.vtt
    audience:
      min_age: 16
      guidance: "For practitioners and parents in family-support work."
    chapters:
      - id: arrival
        start: "00:00.000"
        title: Arrival
        prompts: ["What do you notice first?", "How does the child seem?"]
      - id: argument
        start: "03:10.250"
        title: The argument
        prompts: ["What might the child be feeling?"]
      - id: after
        start: "08:45.000"
        title: Afterwards
        prompts: []
    content_warnings:
      - start: "03:20.000"
        end: "04:05.500"
        tags: [raised-voices, violence]
        note: "A door is slammed and an adult shouts."
    safe_points: [0, "03:00.000", "05:00.000"]
    media:
      codec: h264
      width: 3840
      height: {height}
      fps: 30
      pix_fmt: yuv420p
      audio_codec: aac
      audio_channels: 2
      size: 123456789
"""


def unique_text(film: str) -> str:
    """The film template with its own chapter titles, prompts and notes (3x the distinct lines)."""
    for old, new in (
        ("title: Arrival", "title: Arrival {i}"),
        ("title: Afterwards", "title: Afterwards {i}"),
        ('"What do you notice first?"', '"What do you notice first, {i}?"'),
        ('"What might the child be feeling?"', '"What might the child be feeling at {i}?"'),
        ('"A door is slammed and an adult shouts."', '"A door is slammed and an adult shouts ({i})."'),
        ("size: 123456789", "size: 1234{i}"),
    ):
        assert old in film
        film = film.replace(old, new)
    return film


def make_manifest(path: Path, films: int, unique: bool = False) -> None:
    """A manifest of ``films`` films; ``unique`` gives each its own chapter titles, prompts and notes."""
    film = unique_text(FILM) if unique else FILM
    parts = ["manifest_version: 1\ntitle: Benchmark library\nfilms:\n"]
    for i in range(films):
        stereo = "top-bottom" if i % 3 == 0 else "mono"
        height = 3840 if stereo == "top-bottom" else 1920
        sha = f"{i:064x}"
        parts.append(film.format(i=i, sha=sha, stereo=stereo, heading=i % 360, sec=i % 60, height=height))
    path.write_text("".join(parts), encoding="utf-8")


def best_of(rounds: dict[str, int], fns: dict[str, Callable[[], object]]) -> dict[str, tuple[float, float]]:
    """Best wall and best CPU (process) time of each function over its number of rounds.

    The functions take turns within each round, so a change in the machine's load hits them alike.
    """
    best: dict[str, tuple[float, float]] = {name: (float("inf"), float("inf")) for name in fns}
    for r in range(max(rounds.values())):
        for name, fn in fns.items():
            if r >= rounds[name]:
                continue
            w, c = time.perf_counter(), time.process_time()
            fn()
            wall, cpu = time.perf_counter() - w, time.process_time() - c
            best[name] = (min(best[name][0], wall), min(best[name][1], cpu))
    return best


def _reference_loop() -> None:
    total = 0
    for i in range(10_000_000):
        total += i


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--films", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=5, help="rounds of load_library (best is kept)")
    ap.add_argument(
        "--reference-repeat", type=int, default=1, help="rounds of the slower yaml.load references"
    )
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "manifest.yaml"
        make_manifest(path, args.films)
        size = path.stat().st_size
        unique_path = Path(d) / "unique.yaml"
        make_manifest(unique_path, args.films, unique=True)
        lib = load_library(path, check_files=False)
        assert len(lib.films) == args.films
        text = path.read_text(encoding="utf-8")
        one_pass = read_checked(text, LIBRARY) is not None
        resolved = path.resolve()

        def careful() -> None:
            gc.disable()
            try:
                careful_lib, _ = loader._check_carefully(text, str(path), resolved, False)
            finally:
                gc.enable()
            assert careful_lib == lib

        def plain() -> None:
            with open(path, "rb") as f:
                yaml.load(f, Loader=yaml.CSafeLoader)

        def plain_no_gc() -> None:
            gc.disable()
            try:
                plain()
            finally:
                gc.enable()

        ref = args.reference_repeat
        times = best_of(
            {
                "ours": args.repeat,
                "unique": args.repeat,
                "careful": ref,
                "plain": ref,
                "plain_no_gc": ref,
                "reference": ref,
            },
            {
                "ours": lambda: load_library(path, check_files=False),
                "unique": lambda: load_library(unique_path, check_files=False),
                "careful": careful,
                "plain": plain,
                "plain_no_gc": plain_no_gc,
                "reference": _reference_loop,
            },
        )
        t_plain, t_plain_no_gc, t_ours, t_unique, t_careful, t_ref = (
            times[k] for k in ("plain", "plain_no_gc", "ours", "unique", "careful", "reference")
        )
    load = (
        f", load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
        if hasattr(os, "getloadavg")
        else ""
    )
    print(f"manifest: {args.films} films, {size / 1e6:.1f} MB{load}")
    print("                                        wall        cpu")
    print(f"yaml.load (CSafeLoader):           {t_plain[0]:8.3f} s {t_plain[1]:8.3f} s")
    print(f"yaml.load (CSafeLoader), no GC:    {t_plain_no_gc[0]:8.3f} s {t_plain_no_gc[1]:8.3f} s")
    print(f"load_library (parse + validate):   {t_ours[0]:8.3f} s {t_ours[1]:8.3f} s")
    print(f"  read in one pass:                {'yes' if one_pass else 'NO (careful path)'}")
    print(f"careful path (with positions):     {t_careful[0]:8.3f} s {t_careful[1]:8.3f} s")
    print(
        f"load_library, unique text per film:{t_unique[0]:8.3f} s {t_unique[1]:8.3f} s  (3x distinct lines)"
    )
    print(
        f"ratio load_library / yaml.load:    {t_ours[0] / t_plain[0]:8.2f}x  {t_ours[1] / t_plain[1]:8.2f}x"
    )
    r_wall, r_cpu = t_ours[0] / t_plain_no_gc[0], t_ours[1] / t_plain_no_gc[1]
    print(f"ratio load_library / no-GC load:   {r_wall:8.2f}x  {r_cpu:8.2f}x")
    ref_times = f"{t_ref[0]:8.3f} s {t_ref[1]:8.3f} s"
    print(f"reference: a 10^7-step Python loop {ref_times}  (how fast this machine is now)")
    if args.films >= 10_000:
        goal = "met" if t_ours[1] < 1.0 else "NOT met"
        print(f"goal (< 1 s CPU for 10,000 films): {goal}")
    else:
        print("goal (< 1 s CPU for 10,000 films): not judged (run with --films 10000)")


if __name__ == "__main__":
    main()
