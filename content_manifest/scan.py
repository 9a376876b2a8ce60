"""`viewpoint-manifest scan DIR -o MANIFEST`: build or update a manifest from a folder of films.

Probed fields (sha256, duration, media, and projection/stereo where the file's spherical metadata says) are
updated; hand-written fields (titles, chapters, warnings, prompts, safe points, audience...) are kept.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .loader import ASPECT_TOLERANCE, ASPECTS, check_manifest
from .model import Problem
from .probe import Probe, ProbeError, probe, sha256_file
from .schema import MANIFEST_VERSION
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
        abspath = Path(os.path.normpath(path.resolve()))
        seen.add(abspath)
        rel = Path(os.path.relpath(abspath, base)).as_posix()
        try:
            info = probe(abspath)
        except ProbeError as e:
            report.messages.append(f"skipped {rel}: {e}")
            continue
        entry = by_file.get(abspath)
        if entry is None:
            entry = _new_entry(abspath, rel, used_ids)
            entries.append(entry)
            report.added += 1
        else:
            report.updated += 1
        _update(entry, info, rel, rehash, report)
    for p, e in by_file.items():
        if p not in seen and not p.is_file():
            report.missing += 1
            report.messages.append(f"kept {e.get('id')}: its file {e.get('file')} is missing")
    report.films = entries
    _write(output, doc)
    _, report.problems = check_manifest(output)
    report.messages.extend(str(p) for p in report.problems)
    return report


def _read_existing(output: Path) -> dict[str, Any]:
    if not output.exists():
        return {"manifest_version": MANIFEST_VERSION, "title": output.resolve().parent.name, "films": []}
    try:
        doc = yaml.load(
            output.read_text(encoding="utf-8-sig"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        )
    except yaml.YAMLError as e:
        raise ScanError(f"{output}: cannot update it, it is not valid YAML: {e}", invalid=True) from e
    if not isinstance(doc, dict) or not isinstance(doc.get("films", []), list):
        raise ScanError(f"{output}: cannot update it: expected a mapping with a films list", invalid=True)
    doc.setdefault("manifest_version", MANIFEST_VERSION)
    doc["films"] = doc.get("films") or []
    return doc


def _new_entry(path: Path, rel: str, used_ids: set) -> dict[str, Any]:
    base_id = slug(path.stem)
    film_id, n = base_id, 2
    while film_id in used_ids:
        film_id, n = f"{base_id}-{n}", n + 1
    used_ids.add(film_id)
    title = re.sub(r"[-_]+", " ", path.stem).strip().capitalize() or film_id
    return {"id": film_id, "title": title, "file": rel}


def _update(entry: dict[str, Any], info: Probe, rel: str, rehash: bool, report: ScanReport) -> None:
    old_file = entry.get("file")
    entry["file"] = rel if old_file is None else old_file
    if rehash or not entry.get("sha256"):
        entry["sha256"] = sha256_file(info.path, f"sha256 {rel}")
    sph = info.spherical
    guess = layout_from_aspect(info.width, info.height)
    if sph is not None and sph.projection:
        entry["projection"] = sph.projection
    elif "projection" not in entry:
        entry["projection"] = guess[0] if guess else "equirect360"
        report.messages.append(
            f"warning: {rel}: no spherical metadata; projection {entry['projection']} guessed from the "
            f"aspect ratio {info.width}x{info.height}: check it"
        )
    if sph is not None and sph.stereo:
        entry["stereo"] = sph.stereo
    elif "stereo" not in entry:
        stereo = "mono"
        if guess and guess[0] == entry["projection"]:
            stereo = guess[1]
        entry["stereo"] = stereo
        report.messages.append(
            f"warning: {rel}: no stereo metadata; stereo {stereo} guessed from the aspect ratio: check it"
        )
    entry.setdefault("front_heading", 0)
    if "audio" not in entry:
        if info.audio_channels == 4:
            entry["audio"] = "ambix-foa"
            report.messages.append(
                f"warning: {rel}: 4 audio channels taken as first-order ambisonics (AmbiX)"
            )
        else:
            entry["audio"] = _CHANNELS_TO_AUDIO.get(info.audio_channels or 2, "stereo")
    if info.duration is not None:
        entry["duration"] = format_time(info.duration)
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
    entry["media"] = {k: v for k, v in media.items() if v is not None}
    for key in ("chapters", "content_warnings", "safe_points"):
        entry.setdefault(key, [])


_ORDER = [
    "id",
    "title",
    "description",
    "file",
    "sha256",
    "projection",
    "stereo",
    "front_heading",
    "audio",
    "duration",
    "subtitles",
    "audience",
    "chapters",
    "content_warnings",
    "safe_points",
    "media",
]


def _write(output: Path, doc: dict[str, Any]) -> None:
    films = []
    for e in doc["films"]:
        if isinstance(e, dict):
            e = {k: e[k] for k in _ORDER if k in e} | {k: v for k, v in e.items() if k not in _ORDER}
        films.append(e)
    top = {"manifest_version": doc["manifest_version"]}
    top |= {k: v for k, v in doc.items() if k not in ("manifest_version", "films")}
    top["films"] = films
    text = "# Viewpoint film library (docs/manifest.md). Written by `viewpoint-manifest scan`; edit freely:\n"
    text += (
        "# re-running scan updates sha256, duration, media, projection/stereo and keeps everything else.\n"
    )
    text += yaml.dump(
        top,
        Dumper=getattr(yaml, "CSafeDumper", yaml.SafeDumper),
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=110,
    )
    output.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=output.name + ".", suffix=".tmp", dir=output.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
        os.chmod(name, 0o644)
        os.replace(name, output)
    finally:
        if os.path.exists(name):
            os.unlink(name)
