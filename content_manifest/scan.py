"""`viewpoint-manifest scan DIR -o MANIFEST`: build or update a manifest from a folder of films.

Probed fields (sha256, duration, media, and projection/stereo where the file's spherical metadata says) are
updated; hand-written fields (titles, chapters, warnings, prompts, safe points, audience...) are kept, and so
are comments, key order and quoting: an existing manifest is read and written by ruamel.yaml's round-trip
mode. Text scan writes is quoted wherever a YAML 1.1 reader (PyYAML) would take it for something else.
"""

from __future__ import annotations

import copy
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError
from ruamel.yaml.scalarstring import DoubleQuotedScalarString

from .loader import ASPECT_TOLERANCE, ASPECTS, check_manifest
from .model import Problem
from .nodes import STR, resolve
from .probe import Probe, ProbeError, probe, sha256_file
from .schema import MANIFEST_VERSION
from .spherical import CONVERT_HINT
from .timecode import format_time

VIDEO_EXTENSIONS = {".mp4", ".m4v", ".mov", ".mkv", ".webm"}
_CHANNELS_TO_AUDIO = {1: "mono", 2: "stereo"}


class ScanError(Exception):
    def __init__(self, message: str, invalid: bool = False):
        super().__init__(message)
        self.invalid = invalid


@dataclass
class ScanReport:
    films: list[dict[str, Any]] = field(default_factory=list)
    added: int = 0
    updated: int = 0
    missing: int = 0
    messages: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def find_films(folder: Path) -> list[Path]:
    """Video files under ``folder`` (hidden folders and files skipped), in a stable order."""
    out = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        out.extend(
            Path(root, f)
            for f in sorted(files)
            if not f.startswith(".") and Path(f).suffix.lower() in VIDEO_EXTENSIONS
        )
    return out


def slug(text: str) -> str:
    s = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return s or "film"


def layout_from_aspect(width: int, height: int) -> tuple[str, str] | None:
    """(projection, stereo) that a picture's aspect ratio suggests; equirect360 preferred on ties."""
    got = width / height
    for (projection, stereo), want in ASPECTS.items():
        if abs(got - want) <= ASPECT_TOLERANCE * want:
            return projection, stereo
    return None


def scan_folder(
    folder: str | os.PathLike[str], output: str | os.PathLike[str], rehash: bool = True
) -> ScanReport:
    folder = Path(folder)
    output = Path(output)
    if not folder.is_dir():
        raise ScanError(f"{folder}: not a folder")
    report = ScanReport()
    doc = _read_existing(output)
    base = output.resolve().parent
    entries: list[dict[str, Any]] = doc["films"]
    by_file = {}
    for e in entries:
        if isinstance(e, dict) and isinstance(e.get("file"), str):
            by_file[Path(os.path.normpath(base / e["file"]))] = e
    used_ids = {e.get("id") for e in entries if isinstance(e, dict)}
    found = find_films(folder)
    seen: set[Path] = set()
    for path in found:
        try:
            abspath = Path(os.path.normpath(path.resolve(strict=True)))
        except (OSError, RuntimeError) as e:  # a dangling link, a loop of links, a file gone meanwhile
            what = "a link in a loop" if isinstance(e, RuntimeError) else (e.strerror or str(e)).lower()
            report.messages.append(f"skipped {path}: {what}")
            continue
        seen.add(abspath)
        rel = Path(os.path.relpath(abspath, base)).as_posix()
        try:
            info = probe(abspath)
        except ProbeError as e:
            report.messages.append(f"skipped {rel}: {e}")
            continue
        if info.spherical is not None and info.spherical.unplayable:
            report.messages.append(
                f"skipped {rel}: its spherical metadata says {info.spherical.unplayable}; Viewpoint plays "
                f"equirectangular 360 and 180 films only: {CONVERT_HINT}"
            )
            continue
        entry = by_file.get(abspath)
        if entry is None:
            tail = _take_tail_comment(entries)  # a comment at the end of the list stays at its end
            entry = _new_entry(abspath, rel, used_ids)
            entries.append(entry)
            report.added += 1
            _update(entry, info, rel, rehash, report)
            if tail is not None:
                _give_tail_comment(entry, tail)
        else:
            report.updated += 1
            _update(entry, info, rel, rehash, report)
    for p, e in by_file.items():
        if p not in seen and not p.is_file():
            report.missing += 1
            report.messages.append(f"kept {e.get('id')}: its file {e.get('file')} is missing")
    outside = any(isinstance(e, dict) and str(e.get("file", "")).startswith("../") for e in entries)
    if outside and doc.get("allow_outside_folder") is not True:
        doc.insert(min(2, len(doc)), "allow_outside_folder", True)
        report.messages.append(
            f"{output}: the films lie outside the manifest's folder: wrote allow_outside_folder: true"
        )
    report.films = entries
    _write(output, doc)
    _, report.problems = check_manifest(output)
    report.messages.extend(str(p) for p in report.problems)
    return report


HEADER = (
    "Viewpoint film library (docs/manifest.md). Written by `viewpoint-manifest scan`; edit freely:\n"
    "re-running scan updates sha256, duration, media, projection/stereo and keeps everything else."
)


def _round_trip() -> YAML:
    """ruamel.yaml in round-trip mode, writing the block style the loader reads fastest."""
    y = YAML()
    y.preserve_quotes = True
    y.indent(mapping=2, sequence=4, offset=2)
    y.width = 110
    return y


def _read_existing(output: Path) -> CommentedMap:
    if not output.exists():
        doc = CommentedMap()
        doc["manifest_version"] = MANIFEST_VERSION
        doc["title"] = _text(output.resolve().parent.name)
        doc["films"] = CommentedSeq()
        doc.yaml_set_start_comment(HEADER)
        return doc
    try:
        doc = _round_trip().load(output.read_text(encoding="utf-8-sig"))
    except UnicodeDecodeError:
        raise ScanError(f"{output}: cannot update it: it is not UTF-8 text", invalid=True) from None
    except RecursionError:
        raise ScanError(
            f"{output}: cannot update it: lists or mappings nested too deeply", invalid=True
        ) from None
    except YAMLError as e:
        raise ScanError(
            f"{output}: cannot update it, it is not valid YAML: {_yaml_problem(e)}", invalid=True
        ) from e
    if not isinstance(doc, CommentedMap) or not isinstance(doc.get("films", []), list):
        raise ScanError(f"{output}: cannot update it: expected a mapping with a films list", invalid=True)
    if "manifest_version" not in doc:
        doc.insert(0, "manifest_version", MANIFEST_VERSION)
    if not doc.get("films"):
        doc["films"] = CommentedSeq()
    return doc


def _yaml_problem(e: YAMLError) -> str:
    """ruamel's error in one line: where and what, without its advice and links."""
    mark = getattr(e, "problem_mark", None)
    problem = getattr(e, "problem", None) or str(e).strip().splitlines()[0]
    context = getattr(e, "context", None)
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
    return where + (f"{context}: {problem}" if context else problem)


def _text(value: str) -> str:
    """``value`` as scan writes it: double-quoted where PyYAML would read it as something other than text
    ("no", "00:06.000", "1e3"...)."""
    return DoubleQuotedScalarString(value) if resolve(value) != STR else value


def _put(entry: dict[str, Any], key: str, value: Any, order: list[str] | None = None) -> None:
    """Set a field; a new one goes where ``order`` (default `_ORDER`) puts it among the fields there."""
    order = _ORDER if order is None else order
    if key in entry or not isinstance(entry, CommentedMap) or key not in order:
        entry[key] = value
        return
    later = order[order.index(key) + 1 :]
    for i, k in enumerate(entry):
        if k in later:
            entry.insert(i, key, value)
            return
    # at the end: a comment after the last field belongs to what follows (the next film), so it moves down
    tail = _take_tail_comment(entry)
    entry[key] = value
    if tail is not None:
        _give_tail_comment(entry, tail)


def _take_tail_comment(node: Any) -> Any:
    """Remove and return the comment that follows the last scalar written in ``node`` (None if none)."""
    while isinstance(node, (CommentedMap, CommentedSeq)) and len(node):
        last, slot = _last(node)
        tokens = node.ca.items.get(last)
        value = node[last]
        if tokens and tokens[slot] is not None:  # after a scalar, or a one-line list or mapping
            comment = tokens[slot]
            eol, _, below = comment.value.partition("\n")
            if not below.strip():
                return None  # only a comment at the end of the line: it stays there
            moved = copy.copy(comment)
            moved.value = "\n" + below  # starts on a line of its own
            if eol.strip():  # the line's own comment stays; the lines below it move
                comment.value = eol + "\n"
            else:
                tokens[slot] = None
                if isinstance(value, (CommentedMap, CommentedSeq)) and value.ca.comment:
                    value.ca.comment[0] = None  # ruamel keeps it on a flow collection too
            return moved
        if not isinstance(value, (CommentedMap, CommentedSeq)) or not len(value):
            return None
        node = value
    return None


def _give_tail_comment(node: Any, comment: Any) -> None:
    """Put ``comment`` after the last scalar written in ``node``."""
    while True:
        last, slot = _last(node)
        if isinstance(node[last], (CommentedMap, CommentedSeq)) and len(node[last]):
            node = node[last]
            continue
        node.ca.items.setdefault(last, [None, None, None, None])[slot] = comment
        return


def _last(node: CommentedMap | CommentedSeq) -> tuple[Any, int]:
    """The last key (or index) of a mapping (or list), and the slot of the comment after it in ruamel."""
    if isinstance(node, CommentedMap):
        return next(reversed(node)), 2
    return len(node) - 1, 0


def _new_entry(path: Path, rel: str, used_ids: set) -> CommentedMap:
    base_id = slug(path.stem)
    film_id, n = base_id, 2
    while film_id in used_ids:
        film_id, n = f"{base_id}-{n}", n + 1
    used_ids.add(film_id)
    title = re.sub(r"[-_]+", " ", path.stem).strip().capitalize() or film_id
    entry = CommentedMap()
    entry["id"] = _text(film_id)
    entry["title"] = _text(title)
    entry["file"] = _text(rel)
    return entry


def _update(entry: dict[str, Any], info: Probe, rel: str, rehash: bool, report: ScanReport) -> None:
    if entry.get("file") is None:
        _put(entry, "file", _text(rel))
    if rehash or not entry.get("sha256"):
        _put(entry, "sha256", _text(sha256_file(info.path, f"sha256 {rel}")))
    sph = info.spherical
    guess = layout_from_aspect(info.width, info.height)
    if sph is not None and sph.projection:
        _put(entry, "projection", sph.projection)
    elif "projection" not in entry:
        _put(entry, "projection", guess[0] if guess else "equirect360")
        report.messages.append(
            f"warning: {rel}: no spherical metadata; projection {entry['projection']} guessed from the "
            f"aspect ratio {info.width}x{info.height}: check it"
        )
    if sph is not None and sph.stereo:
        _put(entry, "stereo", sph.stereo)
    elif "stereo" not in entry:
        stereo = "mono"
        if guess and guess[0] == entry["projection"]:
            stereo = guess[1]
        _put(entry, "stereo", stereo)
        report.messages.append(
            f"warning: {rel}: no stereo metadata; stereo {stereo} guessed from the aspect ratio: check it"
        )
    order = sph.eye_order if sph is not None and entry.get("stereo") != "mono" else None
    if order and (order != "left-first" or "eye_order" in entry):  # written where it matters
        _put(entry, "eye_order", order)
    if "front_heading" not in entry:
        _put(entry, "front_heading", 0)
    if "audio" not in entry:
        if info.audio_channels == 4:
            _put(entry, "audio", "ambix-foa")
            report.messages.append(
                f"warning: {rel}: 4 audio channels taken as first-order ambisonics (AmbiX)"
            )
        elif info.audio_channels is None:
            _put(entry, "audio", "none")
        else:
            _put(entry, "audio", _CHANNELS_TO_AUDIO.get(info.audio_channels, "stereo"))
    if info.duration is not None:
        _put(entry, "duration", _text(format_time(info.duration)))
    media = {
        "codec": info.codec,
        "width": info.width,
        "height": info.height,
        "fps": round(info.fps, 3) if info.fps else None,
        "pix_fmt": info.pix_fmt,
        "audio_codec": info.audio_codec,
        "audio_channels": info.audio_channels,
        "size": info.size,
    }
    probed = {k: _text(v) if isinstance(v, str) else v for k, v in media.items() if v is not None}
    old = entry.get("media")
    if isinstance(old, CommentedMap):  # updated in place, so that comments in and after it stay
        for k in [k for k in old if k not in probed]:
            del old[k]
        for k, v in probed.items():
            if k not in old or old[k] != v:  # an equal value keeps how it was written
                _put(old, k, v, list(media))
    else:
        fresh = CommentedMap()
        fresh.update(probed)
        _put(entry, "media", fresh)
    for key in ("chapters", "content_warnings", "safe_points"):
        if key not in entry:
            _put(entry, key, CommentedSeq())


_ORDER = [
    "id",
    "title",
    "description",
    "file",
    "sha256",
    "projection",
    "stereo",
    "eye_order",
    "front_heading",
    "audio",
    "duration",
    "subtitles",
    "audience",
    "chapters",
    "content_warnings",
    "safe_points",
    "areas",
    "media",
]


def _write(output: Path, doc: CommentedMap) -> None:
    """Write the manifest whole or not at all (a temporary file renamed over it)."""
    output.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=output.name + ".", suffix=".tmp", dir=output.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            _round_trip().dump(doc, f)
        os.chmod(name, 0o644)
        os.replace(name, output)
    finally:
        if os.path.exists(name):
            os.unlink(name)
