"""An invalid manifest, film by film: the films that check, and each other film's own errors (for `qa`, whose
verdict gives every film a case even when one film's entry is wrong)."""

from __future__ import annotations

import dataclasses
import os
import re
from pathlib import Path

from .kinds import INVALID, Context
from .loader import _build, check_manifest, compose_document
from .model import Library, Problem
from .schema import LIBRARY

_FILM_PATH = re.compile(r"films\[(\d+)\]")


@dataclasses.dataclass
class FilmByFilm:
    library: Library | None  # the films with no error of their own; None when the document is unusable
    film_errors: dict[str, list[Problem]]  # a film's id (or films[i] when it has none) -> its errors
    document_errors: list[Problem]  # errors that belong to no film (YAML syntax, manifest_version...)


def check_film_by_film(path: str | os.PathLike[str], *, check_files: bool = False) -> FilmByFilm:
    """`check_manifest`, with the errors of an invalid manifest sorted by film. Raises OSError when the
    manifest cannot be read."""
    library, problems = check_manifest(path, check_files=check_files)
    errors = [p for p in problems if p.severity == "error"]
    if library is not None:
        return FilmByFilm(library, {}, [])
    try:
        text = Path(path).read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        return FilmByFilm(None, {}, errors)
    scratch = Context(str(path))
    root = compose_document(text, scratch)
    value = INVALID if root is None else LIBRARY.check(root, "", scratch)
    if value is INVALID:
        return FilmByFilm(None, {}, errors)
    whole = _build(value, Path(path).resolve(), Context(str(path)), check_files)
    entries = value.get("films", [])
    names: dict[int, str] = {}
    for i, entry in enumerate(entries):
        film_id = entry.get("id") if isinstance(entry, dict) else None
        name = film_id if film_id and film_id not in names.values() else f"films[{i}]"
        names[i] = name
    film_errors: dict[str, list[Problem]] = {}
    document: list[Problem] = []
    for p in errors:
        m = _FILM_PATH.match(p.path)
        if m is None or int(m[1]) not in names:
            document.append(p)
        else:
            film_errors.setdefault(names[int(m[1])], []).append(p)
    good = {fid: film for fid, film in whole.films.items() if fid not in film_errors}
    return FilmByFilm(dataclasses.replace(whole, films=good), film_errors, document)
