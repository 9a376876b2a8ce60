"""The checks of a manifest that touch the film and subtitle files it names: where they are, what they are,
and, for subtitles, every WebVTT cue."""

from __future__ import annotations

from pathlib import Path

from .kinds import Context
from .model import film_file, is_absolute_name
from .safefile import NotRegularFile, irregular, open_regular


def check_name(
    name: str,
    kind: str,
    mark: tuple[int, int],
    where: str,
    ctx: Context,
    folder_name: str,
    outside: bool,
    check_files: bool,
) -> None:
    """A file name of a ``kind`` ("film" or "subtitle"): relative, inside the library folder unless
    ``outside``, and (with ``check_files``) a regular file; subtitles parse."""
    if is_absolute_name(name):
        _absolute(name, mark, where, ctx)
    elif not outside and _leaves(name):
        _leaves_folder(name, mark, where, ctx)
    elif check_files and kind == "subtitle":
        _check_vtt(film_file(folder_name, name), name, mark, where, ctx)
    elif check_files:
        path = film_file(folder_name, name)
        what = _file_problem(path)
        if what:
            ctx.add(mark, where, f"the film file {name!r} {what}", f"a video file at {Path(path)}")


def _leaves(name: str) -> bool:
    """Whether a relative name climbs out of the manifest's folder ('../x', 'a/../../x')."""
    depth = 0
    for part in name.replace("\\", "/").split("/"):
        if part == "..":
            depth -= 1
            if depth < 0:
                return True
        elif part not in ("", "."):
            depth += 1
    return False


def _leaves_folder(file: str, mark: tuple[int, int], where: str, ctx: Context) -> None:
    ctx.add(
        mark, where, f"{file!r} leaves the library folder",
        "a path inside the manifest's folder, or `allow_outside_folder: true` at the top of the manifest",
    )  # fmt: skip


def _file_problem(path: str) -> str | None:
    """None for a regular file (or a link to one), else what is there instead, in words."""
    try:
        return irregular(path)
    except FileNotFoundError:
        return "does not exist"
    except OSError as e:
        return f"cannot be read ({e.strerror or e})"


def _absolute(file: str, mark: tuple[int, int], where: str, ctx: Context) -> None:
    ctx.add(mark, where, f"{file!r} is an absolute path", "a path relative to the manifest's folder")


def _check_vtt(p: str, sub: str, mark: tuple[int, int], where: str, ctx: Context) -> None:
    """The subtitle file exists, is a regular file and every cue parses (problems with their line)."""
    from .webvtt import MAX_BYTES, check_text

    try:
        with open_regular(p) as fh:
            data = fh.read(MAX_BYTES + 1)
    except FileNotFoundError:
        ctx.add(mark, where, f"the subtitle file {sub!r} does not exist", f"a WebVTT file at {Path(p)}")
        return
    except NotRegularFile:
        what = _file_problem(p) or "is not a regular file"
        ctx.add(mark, where, f"the subtitle file {sub!r} {what}", "a regular WebVTT file")
        return
    except OSError as e:
        ctx.add(mark, where, f"cannot read the subtitle file {sub!r}: {e.strerror}", "a readable WebVTT file")
        return
    for problem in check_text(data, sub):
        ctx.add(mark, where, problem.text, problem.expected, warning=problem.warning)
