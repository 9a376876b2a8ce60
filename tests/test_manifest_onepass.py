"""The one-pass reader accepts only what the careful path accepts, with the same library, and steps aside
for everything else: damaged manifests are read by both ways and the answers compared."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from content_manifest import loader
from content_manifest.onepass import read_checked
from content_manifest.sample import manifest_text
from content_manifest.schema import LIBRARY
from tests.test_manifest_errors import SHA, VALID
from tests.test_manifest_yaml import _bench_module

SAMPLE_FILES = ("calibration-mono.mp4", "calibration-tb.mp4", "calibration-foa.mp4")


def sample_text() -> str:
    return manifest_text({f: "ab" * 32 for f in SAMPLE_FILES}, dict.fromkeys(SAMPLE_FILES, 1000))


def bench_text(films: int = 3) -> str:
    bench = _bench_module()
    return "manifest_version: 1\nfilms:\n" + "".join(
        bench.FILM.format(i=i, sha="ab" * 32, stereo="mono", heading=i, sec=i, height=1920)
        for i in range(films)
    )


def both_ways(text: str) -> bool:
    """Check ``text`` as the loader does and only carefully; assert the answers are the same. True when the
    one-pass reader's library was the answer."""
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "manifest.yaml"
        path.write_text(text, encoding="utf-8")
        library, problems = loader.check_manifest(path, check_files=False)
        careful, careful_problems = loader._check_carefully(text, str(path), path.resolve(), False)
        assert problems == careful_problems
        assert library == careful
        if library is None:
            return False
        assert library.films == careful.films
        for film_id, film in library.films.items():
            assert film.path == careful.films[film_id].path
            assert film.subtitles == careful.films[film_id].subtitles
        one_pass = not isinstance(careful.positions, loader._PositionsOnDemand) and isinstance(
            library.positions, loader._PositionsOnDemand
        )
        if one_pass:  # positions found on demand are the careful path's
            assert {k: dict(v) for k, v in library.positions.items()} == careful.positions
        return one_pass


def test_the_usual_manifests_are_read_in_one_pass_identically():
    for text in (VALID.format(sha=SHA), sample_text(), bench_text()):
        assert read_checked(text, LIBRARY) is not None
        assert both_ways(text)


def test_unusual_but_valid_manifests_step_aside_and_still_load():
    valid = VALID.format(sha=SHA)
    for text in (
        valid + "    media: {}\n",  # an empty mapping for a record
        valid.replace('prompts: ["What do you notice?"]', "prompts: ~"),  # null for an empty list
        valid.replace("  - id: school-gate\n", "  -\n    id: school-gate\n"),  # the item after its dash
        valid.replace("title: Test library", "title: |\n  Test\n  library"),  # a block scalar
        valid.replace("note: Shouting.", "note: &n Shouting."),  # an anchor
    ):
        assert read_checked(text, LIBRARY) is None
        assert not both_ways(text)
        library, problems = loader._check_carefully(text, "m", Path("m").resolve(), False)
        assert library is not None and not problems, problems


def test_variations_the_one_pass_reader_handles():
    valid = VALID.format(sha=SHA)
    for text in (
        valid.replace("films:\n  - ", "films:\n- ").replace(
            "\n    ", "\n  "
        ),  # a list at its key's indentation
        valid.replace('safe_points: [0, "00:40.000"]', 'safe_points:\n      - 0\n      - "00:40.000"'),
        valid.replace("title: Test library", "title: Test library  # comment\n\n# a comment line"),
        valid[: valid.index("    chapters:")]
        + "    chapters: []\n"
        + valid[valid.index("    content_warnings:") :],
        valid.replace("    subtitles:\n      en: film.en.vtt\n", "    subtitles: {}\n"),
        valid.replace("      en: film.en.vtt", "      en: film.en.vtt\n      pt-BR: sub/film.pt.vtt"),
        valid.replace('duration: "01:00.000"', "duration: 60"),
        valid.replace("tags: [raised-voices]", "tags: [raised-voices, violence]"),
    ):
        assert both_ways(text), text


def test_problems_found_after_reading_go_the_careful_way():
    valid = VALID.format(sha=SHA)
    for text in (
        valid.replace('start: "00:20.000"', 'start: "00:00.000"'),  # chapters out of order
        valid.replace('end: "00:30.000"', 'end: "01:30.000"'),  # a warning after the film's end
        valid + valid[valid.index("  - id: school-gate") :],  # a repeated film id
        valid.replace("manifest_version: 1", "manifest_version: 2"),
        valid.replace("file: film.mp4", "file: /films/film.mp4"),
    ):
        assert read_checked(text, LIBRARY) is not None  # well formed: the reader itself accepts it
        assert not both_ways(text)


def test_positions_are_none_when_the_file_changed_after_loading(tmp_path):
    path = tmp_path / "manifest.yaml"
    path.write_text(sample_text(), encoding="utf-8")
    library = loader.load_library(path, check_files=False)
    path.write_text(sample_text().replace("calibration-mono", "calibration-one"), encoding="utf-8")
    assert dict(library.positions) == {}
    fresh = loader.load_library(path, check_files=False)
    assert fresh.positions["calibration-one"]["id"] == (6, 9)


VALUES = [
    "~",
    "",
    "[]",
    "{}",
    "[a, b]",
    "0x10",
    "yes",
    "'  '",
    "-1",
    "1e3",
    "01:61.000",
    "1:30",
    "99999",
    "'x'",
    "two words",
    "ab" * 32,
    "en",
]


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(["valid", "sample", "bench"]),
    st.lists(
        st.tuples(
            st.sampled_from(["value", "dup", "drop", "indent", "dedent", "swap", "key"]),
            st.floats(0, 1, exclude_max=True),
            st.sampled_from(VALUES),
        ),
        min_size=1,
        max_size=3,
    ),
)
def test_damaged_manifests_get_the_careful_answer(base, edits):
    text = {"valid": VALID.format(sha=SHA), "sample": sample_text(), "bench": bench_text(2)}[base]
    lines = text.split("\n")
    for op, where, value in edits:
        i = int(where * (len(lines) - 1))
        line = lines[i]
        if op == "value" and ": " in line:
            lines[i] = line[: line.index(": ") + 2] + value
        elif op == "key" and ":" in line:
            stripped = line.lstrip(" -")
            lines[i] = (
                line[: len(line) - len(stripped)] + value.strip("'[]{}~ ") + stripped[stripped.index(":") :]
            )
        elif op == "dup":
            lines.insert(i, line)
        elif op == "drop":
            del lines[i]
        elif op == "indent":
            lines[i] = "  " + line
        elif op == "dedent":
            lines[i] = line.removeprefix("  ")
        elif op == "swap" and i + 1 < len(lines):
            lines[i], lines[i + 1] = lines[i + 1], line
    both_ways("\n".join(lines))


def test_the_bench_manifest_is_read_in_one_pass():
    """The benchmark measures the path real manifests take."""
    text = bench_text(50)
    assert read_checked(text, LIBRARY) is not None
    assert both_ways(text)
    assert os.path.exists(Path(__file__).parent.parent / "bench" / "manifest_load.py")
