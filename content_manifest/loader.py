"""Reading a manifest: YAML with positions, every problem at once, then the `Library`."""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator, Mapping
from pathlib import Path

import yaml

from .areas import check_areas
from .files import check_name
from .kinds import INVALID, Context, Rec
from .model import (
    Audience,
    Chapter,
    ContentWarning,
    Film,
    Library,
    ManifestError,
    MediaInfo,
    Problem,
)
from .nodes import ALIAS_LIMIT_TEXT, Node, TooManyAliases, Unsupported, compose, fast_compose
from .onepass import read_checked
from .schema import LIBRARY, MANIFEST_VERSION
from .timecode import format_time

EPS = 1e-3
# picture width / height of each (projection, stereo) layout
ASPECTS = {
    ("equirect360", "mono"): 2.0,
    ("equirect360", "top-bottom"): 1.0,
    ("equirect360", "left-right"): 4.0,
    ("equirect180", "mono"): 1.0,
    ("equirect180", "top-bottom"): 0.5,
    ("equirect180", "left-right"): 2.0,
}
ASPECT_TOLERANCE = 0.02
_CONTROL_NAMES = {0: "NUL", 7: "BEL", 8: "BS", 0x1B: "ESC", 0x7F: "DEL"}


def compose_document(text: str, ctx: Context, empty: tuple[str, str] | None = None) -> Node | None:
    """Node tuples by PyYAML (any YAML), or None with a problem on a syntax error or an empty document."""
    try:
        root = compose(text)
    except yaml.reader.ReaderError as e:  # a control character: placed where it is, not at 1:1
        code = e.character if isinstance(e.character, int) else ord(e.character)
        at = text.find(chr(code))  # the first one is where the reader stopped (libyaml counts in bytes)
        at = e.position if at < 0 else at
        line = text.count("\n", 0, at) + 1
        col = at - (text.rfind("\n", 0, at) + 1) + 1
        name = _CONTROL_NAMES.get(code, "a control character")
        ctx.add(
            (line, col),
            "(document)",
            f"character U+{code:04X} ({name}) is not allowed in YAML",
            'printable text; remove it or write it as an escape in double quotes, e.g. "\\x01"',
        )
        return None
    except TooManyAliases as e:
        ctx.add(e.mark, "(document)", str(e), f"at most {ALIAS_LIMIT_TEXT} values once aliases are expanded")
        return None
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        pos = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        what = " ".join(x for x in (e.context, e.problem) if x)
        ctx.add(pos, "(document)", f"YAML syntax error: {what}", "valid YAML")
        return None
    except yaml.YAMLError as e:
        ctx.add((1, 1), "(document)", f"YAML error: {e}", "valid YAML")
        return None
    except RecursionError:
        ctx.add((1, 1), "(document)", "lists or mappings nested too deeply", "at most a few hundred levels")
        return None
    if root is None:
        what, expected = empty or ("the manifest is empty", "a mapping with manifest_version and films")
        ctx.add((1, 1), "(document)", what, expected)
    return root


def check_manifest(
    path: str | os.PathLike[str], *, check_files: bool = True
) -> tuple[Library | None, list[Problem]]:
    """Check a manifest; return the library (None if there are errors) and every problem, in file order.

    Raises OSError when the manifest itself cannot be read.
    """
    manifest = Path(path)
    stamp = _stamp(manifest)  # before reading: a change made meanwhile shows as a change
    data = manifest.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        ctx = Context(str(path))
        line = data[: e.start].count(b"\n") + 1
        ctx.add((line, 1), "(document)", "the file is not UTF-8 text", "a UTF-8 YAML file")
        return None, ctx.problems
    resolved = manifest.resolve()
    gc_was_enabled = gc.isenabled()
    gc.disable()  # a big manifest makes ~10^6 small objects, none cyclic: the collector would only slow it
    try:
        # the usual case first: a valid manifest in the plain block style, read in one pass without positions
        doc = read_checked(text, LIBRARY)
        if doc is not None:
            try:
                positions = _PositionsOnDemand(resolved, stamp)
                return _build(doc, resolved, _Strict(str(path)), check_files, positions), []
            except _NeedsCare:  # a problem found while building (a missing file, chapters out of order...)
                pass
        return _check_carefully(text, str(path), resolved, check_files)
    finally:
        if gc_was_enabled:
            gc.enable()


def _check_carefully(
    text: str, name: str, manifest: Path, check_files: bool
) -> tuple[Library | None, list[Problem]]:
    """Every problem with its position: nodes from the fast reader, or from PyYAML for anything unusual and
    every invalid manifest (its positions are the reference)."""
    try:
        root = fast_compose(text)
    except Unsupported:
        root = None
    if root is not None:
        ctx = Context(name)
        library = _check_root(root, manifest, ctx, check_files)
        if library is not None:
            return library, sorted(ctx.problems, key=lambda p: (p.line, p.col))
    ctx = Context(name)
    root = compose_document(text, ctx)
    library = None if root is None else _check_root(root, manifest, ctx, check_files)
    return library, sorted(ctx.problems, key=lambda p: (p.line, p.col))


class _NeedsCare(Exception):
    """A manifest read without positions has a problem: it must be read again, carefully."""


class _Strict(Context):
    """The context of a manifest read without positions: the first problem stops it (see `_NeedsCare`)."""

    def add(self, mark, path, message, expected="", warning=False):
        raise _NeedsCare


class _PositionsOnDemand(Mapping):
    """`Library.positions` of a manifest read without positions: found by reading it again, carefully, the
    first time they are asked for (only messages need them); none if the file has changed since."""

    def __init__(self, manifest: Path, stamp: tuple[int, int] | None):
        self._manifest = manifest
        self._stamp = stamp
        self._positions: Mapping[str, Mapping[str, tuple[int, int]]] | None = None

    def _get(self) -> Mapping[str, Mapping[str, tuple[int, int]]]:
        if self._positions is None:
            self._positions = {}
            try:
                unchanged = self._stamp is not None and _stamp(self._manifest) == self._stamp
                data = self._manifest.read_bytes() if unchanged else b""
            except OSError:
                unchanged = False
            if unchanged and len(data) == self._stamp[0]:  # type: ignore[index]
                library, _ = _check_carefully(data.decode("utf-8-sig"), "", self._manifest, False)
                if library is not None:
                    self._positions = library.positions
        return self._positions

    def __getitem__(self, film_id: str) -> Mapping[str, tuple[int, int]]:
        return self._get()[film_id]

    def __iter__(self) -> Iterator[str]:
        return iter(self._get())

    def __len__(self) -> int:
        return len(self._get())


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_size, st.st_mtime_ns)


def _check_root(root: Node, manifest: Path, ctx: Context, check_files: bool) -> Library | None:
    value = LIBRARY.check(root, "", ctx)
    if value is INVALID:
        return None
    library = _build(value, manifest, ctx, check_files)
    return None if any(p.severity == "error" for p in ctx.problems) else library


def load_library(path: str | os.PathLike[str], *, check_files: bool = True) -> Library:
    """Load and validate a manifest; raise ManifestError listing every problem if it is invalid.

    ``check_files=False`` skips the checks that touch the film and subtitle files (existence, WebVTT header).
    """
    library, problems = check_manifest(path, check_files=check_files)
    if library is None:
        raise ManifestError(problems)
    return library


def _build(
    doc: Rec,
    manifest: Path,
    ctx: Context,
    check_files: bool,
    positions: Mapping[str, Mapping[str, tuple[int, int]]] | None = None,
) -> Library:
    """The library from checked values, with the checks that span fields; ``positions`` are taken from the
    values' marks unless given."""
    version = doc.get("manifest_version")
    if version is not None and version != MANIFEST_VERSION:
        ctx.add(
            doc.at("manifest_version"),
            "manifest_version",
            f"unsupported version {version}",
            f"{MANIFEST_VERSION}; this Viewpoint reads version {MANIFEST_VERSION}",
        )
    folder = manifest.parent
    folder_name = str(folder)
    outside = bool(doc.get("allow_outside_folder", False))
    films: dict[str, Film] = {}
    first: dict[str, Rec] = {}
    marked: dict[str, dict[str, tuple[int, int]]] = {}
    for i, f in enumerate(doc.get("films", ())):
        # every check runs on every film, whatever else is wrong with it (a refused field hides nothing)
        film = _film(f, f"films[{i}]", folder, folder_name, ctx, check_files, outside)
        film_id = f.get("id")
        if film_id is not None and film_id in first:
            ctx.add(
                f.at("id"),
                f"films[{i}].id",
                f"duplicate film id {film_id!r}",
                f"a unique id; first used at line {first[film_id].at('id')[0]}",
            )
            continue
        if film_id is not None:
            first[film_id] = f
        if film is None:
            continue
        films[film.id] = film
        if positions is None:
            marked[film.id] = {"": f.mark, **{k: (n[3] + 1, n[4] + 1) for k, n in f.marks.items() if k in f}}
    warnings = [p for p in ctx.problems if p.severity == "warning"]
    version = doc.get("manifest_version", MANIFEST_VERSION)
    return Library(
        manifest, version, films, doc.get("title", ""), outside, warnings,
        marked if positions is None else positions,
    )  # fmt: skip


def _film(
    f: Rec, path: str, folder: Path, folder_name: str, ctx: Context, check_files: bool, outside: bool
) -> Film | None:
    """Check one film; the Film, or None when a required field is missing or refused (already reported:
    the film's other checks still run)."""
    duration = f.get("duration")
    file = f.get("file")
    if file is not None:
        check_name(file, "film", f.at("file"), f"{path}.file", ctx, folder_name, outside, check_files)
    subs = f.get("subtitles", {})
    for lang, sub in subs.items():
        where = f"{path}.subtitles.{lang}"
        check_name(sub, "subtitle", subs.at(lang), where, ctx, folder_name, outside, check_files)
    chapters = _chapters(f.get("chapters", ()), duration, f"{path}.chapters", ctx)
    warnings = []
    for j, w in enumerate(f.get("content_warnings", ())):
        where = f"{path}.content_warnings[{j}]"
        if "start" not in w or "end" not in w:
            continue
        if w["end"] <= w["start"]:
            ctx.add(
                w.at("end"),
                f"{where}.end",
                f"ends at {format_time(w['end'])}, not after its start {format_time(w['start'])}",
                "end later than start",
            )
        elif duration is not None and w["end"] > duration + EPS:
            ctx.add(
                w.at("end"),
                f"{where}.end",
                f"ends at {format_time(w['end'])}, after the film ends",
                f"at most the duration {format_time(duration)}",
            )
        if not w.get("tags") and "tags" in w:
            ctx.add(w.at("tags"), f"{where}.tags", "no tags", "at least one tag, e.g. violence")
        warnings.append(ContentWarning(w["start"], w["end"], list(w.get("tags", ())), w.get("note", "")))
    safe = f.get("safe_points", [])
    if duration is not None:
        for j, t in enumerate(safe):
            if t > duration + EPS:
                ctx.add(
                    safe.at(j),
                    f"{path}.safe_points[{j}]",
                    f"{format_time(t)} is after the film ends",
                    f"a time within the duration {format_time(duration)}",
                )
    areas = check_areas(f.get("areas", ()), duration, f"{path}.areas", ctx)
    media = None
    if "media" in f:
        media = MediaInfo(**f["media"])
        _check_aspect(f, media, path, ctx)
    audience = None
    if "audience" in f and "guidance" in f["audience"]:
        audience = Audience(f["audience"]["guidance"], f["audience"].get("min_age"))
    if any(k not in f for k in _REQUIRED):
        return None  # already reported as missing or invalid
    return Film(
        id=f["id"],
        title=f["title"],
        folder=folder,
        file=file,
        sha256=f["sha256"],
        projection=f["projection"],
        stereo=f.get("stereo", "mono"),
        eye_order=f.get("eye_order", "left-first"),
        front_heading=f.get("front_heading", 0.0),
        audio=f.get("audio", "stereo"),
        duration=duration,
        chapters=chapters,
        content_warnings=warnings,
        safe_points=sorted(safe),
        areas=areas,
        subtitle_files=dict(subs),
        audience=audience,
        description=f.get("description", ""),
        media=media,
    )


def _chapters(items: list, duration: float | None, path: str, ctx: Context) -> list[Chapter]:
    ok = [(j, c) for j, c in enumerate(items) if "id" in c and "start" in c and "title" in c]
    ids: dict[str, Rec] = {}
    for j, c in ok:
        if c["id"] in ids:
            ctx.add(
                c.at("id"),
                f"{path}[{j}].id",
                f"duplicate chapter id {c['id']!r}",
                f"a unique id within the film; first at line {ids[c['id']].at('id')[0]}",
            )
        else:
            ids[c["id"]] = c
        if duration is not None and c["start"] >= duration - EPS:
            ctx.add(
                c.at("start"),
                f"{path}[{j}].start",
                f"starts at {format_time(c['start'])}, at or after the film's end",
                f"a start before the duration {format_time(duration)}",
            )
    out: list[Chapter] = []
    for n, (j, c) in enumerate(ok):
        nxt = ok[n + 1][1] if n + 1 < len(ok) else None
        if nxt is not None and nxt["start"] <= c["start"]:
            k = ok[n + 1][0]
            ctx.add(
                nxt.at("start"),
                f"{path}[{k}].start",
                f"starts at {format_time(nxt['start'])}, not after chapter {c['id']!r} "
                f"({format_time(c['start'])})",
                "chapters in order of start, each starting later",
            )
        end = c.get("end")
        if end is not None:
            if end <= c["start"]:
                ctx.add(
                    c.at("end"),
                    f"{path}[{j}].end",
                    f"ends at {format_time(end)}, not after its start",
                    "end later than start",
                )
            elif nxt is not None and end > nxt["start"] + EPS and nxt["start"] > c["start"]:
                ctx.add(
                    c.at("end"),
                    f"{path}[{j}].end",
                    f"ends at {format_time(end)}, overlapping chapter {nxt['id']!r} "
                    f"(starts {format_time(nxt['start'])})",
                    "chapters that do not overlap",
                )
            elif duration is not None and end > duration + EPS:
                ctx.add(
                    c.at("end"),
                    f"{path}[{j}].end",
                    f"ends at {format_time(end)}, after the film ends",
                    f"at most the duration {format_time(duration)}",
                )
        else:
            end = nxt["start"] if nxt is not None else duration
        out.append(Chapter(c["id"], c["start"], c["title"], list(c.get("prompts", ())), end))
    return out


_REQUIRED = ("id", "title", "file", "sha256", "projection")


def _check_aspect(f: Rec, media: MediaInfo, path: str, ctx: Context) -> None:
    if media.width and media.height and "projection" in f:
        problem = aspect_problem(f["projection"], f.get("stereo", "mono"), media.width, media.height)
        if problem:
            mark = f.at("stereo") if "stereo" in f.marks and "stereo" in f else f.at("projection")
            ctx.add(mark, f"{path}.stereo", *problem)


def aspect_problem(projection: str, stereo: str, width: int, height: int) -> tuple[str, str] | None:
    """(message, expected) when a picture's aspect ratio contradicts its projection and stereo layout."""
    want = ASPECTS.get((projection, stereo))
    if want is None:
        return None
    got = width / height
    if abs(got - want) <= ASPECT_TOLERANCE * want:
        return None
    fits = [f"{p} {s}" for (p, s), a in ASPECTS.items() if abs(got - a) <= ASPECT_TOLERANCE * a]
    hint = f"; {width}x{height} fits {' or '.join(fits)}" if fits else ""
    return (
        f"{projection} {stereo} contradicts the picture's aspect ratio {width}x{height} ({got:.3g}:1)",
        f"a {want:g}:1 picture for {projection} {stereo}{hint}",
    )


class LibraryUnavailable(Exception):
    """A library a command needs cannot be used; the message names the file and what is wrong."""


def open_library(path: Path | str) -> Library:
    """`load_library` for command lines: every failure becomes one LibraryUnavailable saying what is wrong."""
    try:
        return load_library(path)
    except ManifestError as exc:
        raise LibraryUnavailable(f"{path}: invalid manifest:\n{exc}") from exc
    except OSError as exc:
        raise LibraryUnavailable(f"{path}: cannot read ({exc.strerror or exc})") from exc
