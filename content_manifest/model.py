"""The library's types: what `load_library` returns, and the problems it reports."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

PROJECTIONS = ("equirect360", "equirect180")
STEREO_LAYOUTS = ("mono", "top-bottom", "left-right")
AUDIO_LAYOUTS = ("stereo", "mono", "ambix-foa", "none")  # none: the film has no audio track
EYE_ORDERS = ("left-first", "right-first")  # which eye's picture is on top (top-bottom) or left (left-right)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a manifest, at a place in it."""

    file: str
    line: int
    col: int
    path: str
    message: str
    expected: str = ""
    severity: str = "error"  # "error" | "warning"

    def __str__(self) -> str:
        tail = f" ({self.expected})" if self.expected else ""
        kind = "warning: " if self.severity == "warning" else ""
        return f"{self.file}:{self.line}:{self.col}: {self.path}: {kind}{self.message}{tail}"


class ManifestError(Exception):
    """An invalid manifest; ``problems`` lists every error (and warning) found, in file order."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        errors = [p for p in self.problems if p.severity == "error"]
        super().__init__("\n".join(str(p) for p in errors) or "invalid manifest")


@dataclass(frozen=True)
class Chapter:
    id: str
    start: float
    title: str
    prompts: list[str] = field(default_factory=list)
    end: float | None = None  # the next chapter's start, or the film's duration (None when unknown)


@dataclass(frozen=True)
class ContentWarning:
    start: float
    end: float
    tags: list[str]
    note: str = ""


@dataclass(frozen=True)
class Area:
    """An area of interest: a box of film headings and pitches shown from ``start`` to ``end``.

    Headings are clockwise from the picture's front, -180..180; ``heading[0] > heading[1]`` is a box that
    wraps across 180 (behind the viewer at start); pitch is up-positive, ``pitch[0] < pitch[1]``.
    """

    id: str
    start: float
    end: float
    heading: tuple[float, float]
    pitch: tuple[float, float]
    label: str = ""

    @property
    def width(self) -> float:
        """Degrees of heading the box spans (360 for [-180, 180])."""
        a, b = self.heading
        return b - a if b > a else b - a + 360.0

    def contains(self, heading: float, pitch: float) -> bool:
        """Whether a film heading and pitch fall in the box (at any time; see ``start``/``end``)."""
        if not self.pitch[0] <= pitch <= self.pitch[1]:
            return False
        return (heading - self.heading[0]) % 360.0 <= self.width  # -180 and 180 are one heading


@dataclass(frozen=True)
class Audience:
    guidance: str = ""
    min_age: int | None = None


@dataclass(frozen=True)
class MediaInfo:
    """What a scan probed (the manifest's ``media`` block); None fields were not recorded."""

    codec: str | None = None
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    pix_fmt: str | None = None
    audio_codec: str | None = None
    audio_channels: int | None = None
    size: int | None = None


def is_absolute_name(name: str) -> bool:
    """Whether a file name in a manifest is absolute: a POSIX root, a UNC or Windows root, a drive letter."""
    return name[:1] in ("/", "\\") or name[1:2] == ":"


def film_file(folder: str, name: str) -> str:
    """Where a file named in a manifest lies: ``name`` (not absolute, see `is_absolute_name`) is relative to
    the manifest's ``folder``, with '/' or '\\' separating folders, so a manifest written on Windows works
    everywhere."""
    rel = name.replace("\\", "/")
    joined = os.path.join(folder, rel)
    return os.path.normpath(joined) if ".." in rel else joined


@dataclass(frozen=True)
class Film:
    """One film of a library. ``path`` and ``subtitles`` are made from the names in the manifest when first
    used (a library of thousands of films need not make thousands of paths to load)."""

    id: str
    title: str
    folder: Path  # the manifest's folder: ``file`` and the subtitle files are relative to it
    file: str
    sha256: str
    projection: str
    stereo: str = "mono"
    eye_order: str = "left-first"
    front_heading: float = 0.0
    audio: str = "stereo"
    duration: float | None = None
    chapters: list[Chapter] = field(default_factory=list)
    content_warnings: list[ContentWarning] = field(default_factory=list)
    safe_points: list[float] = field(default_factory=list)
    areas: list[Area] = field(default_factory=list)  # areas of interest, in the manifest's order
    subtitle_files: dict[str, str] = field(default_factory=dict)  # language -> file, as in the manifest
    audience: Audience | None = None
    description: str = ""
    media: MediaInfo | None = None

    @cached_property
    def path(self) -> Path:
        """The video file."""
        return self._file_path(self.file)

    @cached_property
    def subtitles(self) -> dict[str, Path]:
        """WebVTT files by language."""
        return {lang: self._file_path(name) for lang, name in self.subtitle_files.items()}

    def _file_path(self, name: str) -> Path:
        return Path(name if is_absolute_name(name) else film_file(str(self.folder), name))

    def chapter_at(self, t: float) -> Chapter | None:
        """The chapter playing at time ``t`` (None before the first chapter)."""
        current = None
        for c in self.chapters:
            if c.start <= t:
                current = c
            else:
                break
        return current

    def warnings_at(self, t: float) -> list[ContentWarning]:
        """The content warnings whose range contains ``t``."""
        return [w for w in self.content_warnings if w.start <= t < w.end]


@dataclass(frozen=True)
class Library:
    path: Path
    manifest_version: int
    films: dict[str, Film]
    title: str = ""
    allow_outside_folder: bool = False  # film and subtitle paths may leave the manifest's folder
    warnings: list[Problem] = field(default_factory=list)
    # film id -> field name -> (line, column) where it was written; "" -> the film's own mapping
    positions: Mapping[str, Mapping[str, tuple[int, int]]] = field(
        default_factory=dict, repr=False, compare=False
    )

    @property
    def folder(self) -> Path:
        return self.path.parent
