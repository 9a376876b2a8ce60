"""`viewpoint-manifest scan`, `sample` and `schema`, and probing."""

from __future__ import annotations

import io
import json
import re
import shutil
from pathlib import Path

import pytest
import yaml

from content_manifest import load_library, sample
from content_manifest.cli import main
from content_manifest.loader import ASPECTS
from content_manifest.model import AUDIO_LAYOUTS, PROJECTIONS, STEREO_LAYOUTS
from content_manifest.probe import probe
from content_manifest.progress import Progress
from content_manifest.schema import FILM, json_schema
from content_manifest.spherical import inject_mp4


@pytest.fixture
def films(sample_manifest: Path, tmp_path: Path) -> Path:
    """A folder holding the sample films only (no manifest)."""
    d = tmp_path / "films"
    d.mkdir()
    for spec in sample.FILMS:
        shutil.copy(sample_manifest.parent / spec.file, d / spec.file)
    return d


def test_probe_reads_layout_from_spherical_metadata(sample_library):
    tb = probe(sample_library.films["calibration-tb"].path)
    assert (tb.codec, tb.width, tb.height, tb.fps, tb.pix_fmt) == ("h264", 512, 512, 30.0, "yuv420p")
    assert tb.duration == pytest.approx(6.0)
    assert (tb.audio_codec, tb.audio_channels) == ("aac", 2)
    assert tb.spherical is not None
    assert (tb.spherical.projection, tb.spherical.stereo) == ("equirect360", "top-bottom")
    foa = probe(sample_library.films["calibration-foa"].path)
    assert foa.audio_channels == 4


@pytest.mark.parametrize(("projection", "stereo"), [("equirect180", "left-right"), ("equirect360", "mono")])
def test_spherical_boxes_round_trip(sample_film_without_metadata, tmp_path, projection, stereo):
    film = tmp_path / "film.mp4"
    shutil.copy(sample_film_without_metadata, film)
    assert probe(film).spherical is None
    inject_mp4(film, projection, stereo)
    info = probe(film).spherical
    assert info is not None and (info.projection, info.stereo) == (projection, stereo)


def test_scan_builds_a_valid_manifest(films, capsys):
    out = films / "manifest.yaml"
    assert main(["scan", str(films), "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "3 film(s) (3 new, 0 updated" in printed
    lib = load_library(out)
    assert set(lib.films) == {"calibration-mono", "calibration-tb", "calibration-foa"}
    tb = lib.films["calibration-tb"]
    assert (tb.projection, tb.stereo, tb.audio) == ("equirect360", "top-bottom", "stereo")
    assert lib.films["calibration-foa"].audio == "ambix-foa"
    assert tb.duration == pytest.approx(6.0)
    assert tb.media is not None and (tb.media.width, tb.media.height) == (512, 512)
    assert main(["check", str(out), "--verify-media"]) == 0


def test_rescan_keeps_hand_written_fields_and_updates_probed_ones(films, capsys):
    out = films / "manifest.yaml"
    assert main(["scan", str(films), "-o", str(out)]) == 0
    doc = yaml.safe_load(out.read_text())
    tb = next(f for f in doc["films"] if f["id"] == "calibration-tb")
    tb["title"] = "Hand-written title"
    tb["chapters"] = [{"id": "one", "start": "00:01.000", "title": "One", "prompts": ["Why?"]}]
    tb["content_warnings"] = [{"start": 1, "end": 2, "tags": ["violence"], "note": "n"}]
    tb["safe_points"] = ["00:03.000"]
    tb["front_heading"] = 90
    tb["sha256"] = "f" * 64
    tb["duration"] = "00:09.000"
    out.write_text(yaml.safe_dump(doc, sort_keys=False))
    (films / "calibration-mono.mp4").unlink()
    capsys.readouterr()
    assert main(["scan", str(films), "-o", str(out)]) == 2  # the mono film's file is gone: kept, but invalid
    printed = capsys.readouterr().out
    assert "kept calibration-mono: its file calibration-mono.mp4 is missing" in printed
    assert "3 film(s) (0 new, 2 updated, 1 kept though missing)" in printed
    lib = load_library(out, check_files=False)
    film = lib.films["calibration-tb"]
    assert film.title == "Hand-written title" and film.front_heading == 90
    assert [c.prompts for c in film.chapters] == [["Why?"]]
    assert film.content_warnings[0].tags == ["violence"] and film.safe_points == [3.0]
    assert film.sha256 != "f" * 64 and film.duration == pytest.approx(6.0)


def test_rescan_keeps_comments_order_and_quoting_and_is_stable(films, capsys):
    out = films / "manifest.yaml"
    assert main(["scan", str(films), "-o", str(out)]) == 0
    first = out.read_text()
    assert main(["scan", str(films), "-o", str(out)]) == 0
    assert out.read_text() == first  # nothing changed: not a byte either
    text = first.replace(
        "  - id: calibration-tb\n    title: Calibration tb\n",
        "  # reviewed by the family-support team, 2026-11\n"
        "  - id: calibration-tb\n    title: 'No'  # a one-word title YAML 1.1 reads as false\n"
        '    description: "Left eye on top."\n',
    )
    text = text.replace("    stereo: top-bottom\n", "    stereo: top-bottom  # checked in the headset\n")
    text = text.replace('    duration: "00:06.000"\n', "", 1)  # scan puts it back, in its place
    out.write_text(text)
    capsys.readouterr()
    assert main(["scan", str(films), "-o", str(out)]) == 0
    after = out.read_text()
    assert after.count("# reviewed by the family-support team, 2026-11\n  - id: calibration-tb") == 1
    assert "    title: 'No'  # a one-word title YAML 1.1 reads as false\n" in after
    assert "    stereo: top-bottom  # checked in the headset\n" in after
    assert after == first.replace(
        "  - id: calibration-tb\n    title: Calibration tb\n",
        "  # reviewed by the family-support team, 2026-11\n"
        "  - id: calibration-tb\n    title: 'No'  # a one-word title YAML 1.1 reads as false\n"
        '    description: "Left eye on top."\n',
    ).replace("    stereo: top-bottom\n", "    stereo: top-bottom  # checked in the headset\n")
    from content_manifest.onepass import read_checked
    from content_manifest.schema import LIBRARY

    assert read_checked(after, LIBRARY) is not None  # what scan writes is read in one pass
    assert load_library(out).films["calibration-tb"].title == "No"


def test_a_comment_before_the_next_film_stays_before_it_when_fields_are_added(films, capsys):
    out = films / "manifest.yaml"
    out.write_text(
        "manifest_version: 1\nfilms:\n"
        "  - id: calibration-mono\n    title: Mono\n    file: calibration-mono.mp4\n"
        "    safe_points: [1]  # after the intro\n"
        "  # the next film is the stereo one\n"
        "  - id: calibration-tb\n    title: Top-bottom\n    file: calibration-tb.mp4\n"
        "    safe_points:\n      - 2\n"
        "  # the end\n"
    )
    assert main(["scan", str(films), "-o", str(out)]) == 0
    text = out.read_text()
    assert re.search(
        r"\n      size: \d+\n  # the next film is the stereo one\n  - id: calibration-tb\n", text
    )
    assert "      - 2\n    media:\n" in text
    assert re.search(r"\n  - id: calibration-foa\n(    .*\n)+  # the end\n$", text)  # added last
    assert "    safe_points: [1]  # after the intro\n    media:\n" in text
    assert load_library(out).films["calibration-mono"].safe_points == [1.0]


def test_scan_quotes_text_yaml_would_read_as_something_else(films, capsys):
    for name in ("calibration-mono.mp4", "calibration-foa.mp4"):
        (films / name).unlink()
    (films / "calibration-tb.mp4").rename(films / "no.mp4")
    out = films / "manifest.yaml"
    assert main(["scan", str(films), "-o", str(out)]) == 0
    text = out.read_text()
    assert '  - id: "no"\n    title: "No"\n    file: no.mp4\n' in text
    assert 'duration: "00:06.000"' in text
    assert load_library(out).films["no"].title == "No"


def test_scan_without_metadata_guesses_from_aspect_ratio_with_a_warning(
    films, sample_film_without_metadata, capsys
):
    shutil.copy(sample_film_without_metadata, films / "calibration-tb.mp4")
    (films / "notes.mp4").write_text("not a film")
    out = films / "lib.yaml"
    assert main(["scan", str(films), "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "skipped notes.mp4: not a video file PyAV can open" in printed
    assert "warning: calibration-tb.mp4: no spherical metadata; projection equirect360 guessed" in printed
    assert load_library(out).films["calibration-tb"].stereo == "top-bottom"


def test_scan_refuses_to_overwrite_a_broken_manifest(films, capsys):
    out = films / "manifest.yaml"
    out.write_text("films: [\n")
    assert main(["scan", str(films), "-o", str(out)]) == 2
    assert "not valid YAML" in capsys.readouterr().err
    assert out.read_text() == "films: [\n"


def test_sample_command_reuses_matching_films(sample_manifest, tmp_path, capsys):
    shutil.copytree(sample_manifest.parent, tmp_path / "lib")
    (tmp_path / "lib" / "manifest.yaml").unlink()
    stamps = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "lib").glob("*.mp4")}
    assert main(["sample", str(tmp_path / "lib")]) == 0
    assert stamps == {p.name: p.stat().st_mtime_ns for p in (tmp_path / "lib").glob("*.mp4")}
    manifest = Path(capsys.readouterr().out.strip())
    assert manifest == (tmp_path / "lib" / "manifest.yaml").resolve()
    assert main(["check", str(manifest)]) == 0


def test_schema_is_made_from_the_validator_definitions(tmp_path, capsys):
    assert main(["schema", "-o", str(tmp_path / "s.json")]) == 0
    schema = json.loads((tmp_path / "s.json").read_text())
    assert schema == json_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    film = schema["properties"]["films"]["items"]
    assert set(film["properties"]) == {f.name for f in FILM.fields}
    assert film["required"] == ["id", "title", "file", "sha256", "projection"]
    assert film["additionalProperties"] is False
    assert film["properties"]["projection"]["enum"] == list(PROJECTIONS)
    assert film["properties"]["stereo"]["enum"] == list(STEREO_LAYOUTS)
    assert film["properties"]["audio"]["enum"] == list(AUDIO_LAYOUTS)
    assert {p for p, _ in ASPECTS} == set(PROJECTIONS)
    time = film["properties"]["duration"]["anyOf"][1]["pattern"]
    for ok in ("12", "12.5", "01:30", "01:30.250", "1:02:03.5"):
        assert re.search(time, ok), ok
    for bad in ("1:75", "abc", "1:5", "-3"):
        assert not re.search(time, bad), bad


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_draws_on_a_terminal_only():
    tty = _Tty()
    with Progress("hash big.mp4", 100, stream=tty, delay=0.0) as bar:
        for _ in range(4):
            bar.update(25)
    assert "hash big.mp4 [" in tty.getvalue() and "100.0%" in tty.getvalue()
    plain = io.StringIO()
    with Progress("hash big.mp4", 100, stream=plain, delay=0.0) as bar:
        bar.update(100)
    assert plain.getvalue() == ""


def _schema_errors(schema: dict, value, path: str = "") -> list[str]:
    """A small JSON Schema checker for the keywords json_schema() uses (no jsonschema package needed)."""
    errs: list[str] = []
    if "anyOf" in schema:
        if all(_schema_errors(s, value, path) for s in schema["anyOf"]):
            errs.append(f"{path}: matches no alternative")
        return errs
    kind = schema.get("type")
    types = {"object": dict, "array": list, "string": str, "integer": int, "number": (int, float)}
    if kind and (not isinstance(value, types[kind]) or isinstance(value, bool)):
        return [f"{path}: not {kind}"]
    if "const" in schema and value != schema["const"]:
        errs.append(f"{path}: not {schema['const']}")
    if "enum" in schema and value not in schema["enum"]:
        errs.append(f"{path}: not in enum")
    if "pattern" in schema and not re.search(schema["pattern"], value):
        errs.append(f"{path}: pattern")
    if "minLength" in schema and len(value) < schema["minLength"]:
        errs.append(f"{path}: too short")
    if "minimum" in schema and value < schema["minimum"]:
        errs.append(f"{path}: below minimum")
    if "maximum" in schema and value > schema["maximum"]:
        errs.append(f"{path}: above maximum")
    if kind == "array":
        for i, item in enumerate(value):
            errs += _schema_errors(schema["items"], item, f"{path}[{i}]")
    if kind == "object":
        errs += [f"{path}.{k}: required" for k in schema.get("required", []) if k not in value]
        for k, v in value.items():
            if "propertyNames" in schema and not re.search(schema["propertyNames"]["pattern"], k):
                errs.append(f"{path}.{k}: bad name")
            sub = schema.get("properties", {}).get(k, schema.get("additionalProperties"))
            if sub is False:
                errs.append(f"{path}.{k}: not allowed")
            elif isinstance(sub, dict):
                errs += _schema_errors(sub, v, f"{path}.{k}")
    return errs


def test_schema_accepts_valid_manifests_and_rejects_invalid_ones(sample_manifest):
    from tests.test_manifest_errors import SHA, VALID

    schema = json_schema()
    for text in (sample_manifest.read_text(), VALID.format(sha=SHA)):
        assert _schema_errors(schema, yaml.safe_load(text)) == []
    bad = [
        VALID.format(sha=SHA).replace("front_heading: 0", "front_heading: north"),
        VALID.format(sha=SHA).replace("stereo: mono", "stereo: over-under"),
        VALID.format(sha=SHA).replace("    projection: equirect360\n", ""),
        VALID.format(sha=SHA).replace("audio: stereo", "audio: stereo\n    audoi: mono"),
        VALID.format(sha=SHA).replace('start: "00:20.000"', 'start: "1:75"'),
        VALID.format(sha=SHA).replace("en: film.en.vtt", "english: film.en.vtt"),
        VALID.format(sha=SHA).replace("manifest_version: 1", "manifest_version: 2"),
    ]
    for text in bad:
        assert _schema_errors(schema, yaml.safe_load(text)), text


def test_scan_subfolders_and_a_manifest_elsewhere(films, tmp_path, capsys):
    (films / "sub").mkdir()
    shutil.copy(films / "calibration-mono.mp4", films / "sub" / "Second Take.mp4")
    out = tmp_path / "lists" / "library.yaml"
    assert main(["scan", str(films), "-o", str(out)]) == 0
    lib = load_library(out)
    second = lib.films["second-take"]
    assert second.title == "Second take"
    assert second.path == (films / "sub" / "Second Take.mp4").resolve()
    assert yaml.safe_load(out.read_text())["films"][-1]["file"] == "../films/sub/Second Take.mp4"
    capsys.readouterr()
    assert main(["scan", str(films), "-o", str(out), "--no-hash"]) == 0
    assert "(0 new, 4 updated, 0 kept though missing)" in capsys.readouterr().out
