"""Gathering session summaries from facilitator stores (and Parquet exchange folders) into the store."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from content_manifest.model import Area, Film, ManifestError
from facilitator.store import FacilitatorStore, StoreError

from .definition import Programme
from .store import ProgrammeStore
from .summary import summarise_session


@dataclass
class Collected:
    sessions: int = 0
    answers: int = 0
    skipped: list[str] = field(default_factory=list)


MANIFEST_NAME = "manifest.yaml"  # the library manifest looked for beside programme.yaml


@dataclass
class FilmFacts:
    """What collecting needs of the library: each film's front heading and areas of interest, by film id."""

    headings: dict[str, float] = field(default_factory=dict)
    areas: dict[str, list[Area]] = field(default_factory=dict)


def film_facts(library: Path | None) -> FilmFacts:
    """The library manifest's front headings (gaze is placed on the picture with them) and areas of interest
    (none without a library). The film files need not be on this laptop."""
    if library is None:
        return FilmFacts()
    from content_manifest import load_library

    return facts_of(load_library(library, check_files=False).films)


def facts_of(films: dict[str, Film]) -> FilmFacts:
    """The facts of a loaded library's films (``Library.films``)."""
    return FilmFacts(
        {fid: f.front_heading for fid, f in films.items()},
        {fid: list(f.areas) for fid, f in films.items() if f.areas},
    )


def library_beside(programme_path: str | Path | None) -> Path | None:
    """The library manifest (``manifest.yaml``) beside a programme.yaml, if there is one."""
    beside = Path(programme_path).with_name(MANIFEST_NAME) if programme_path else None
    return beside if beside is not None and beside.is_file() else None


def collect_store(
    target: ProgrammeStore,
    source: Path,
    programme: Programme,
    *,
    site: str,
    cohort: str | None = None,
    films: FilmFacts | None = None,
    include_text: bool = False,
    batch: int = 500,
) -> Collected:
    """Summarise every facilitated session of a facilitator store into ``target`` (again: replaced).
    ``films``: the library's facts; by default those of the manifest beside programme.yaml, if it loads."""
    if not source.is_file():
        raise StoreError(f"{source}: no facilitator store here")
    store = FacilitatorStore(source)
    if films is None:
        try:
            films = film_facts(library_beside(programme.path))
        except (ManifestError, OSError):
            films = FilmFacts()  # an unreadable library: no areas measured (`programme collect` says why)
    done = Collected()
    rows: dict[str, list[tuple]] = {}
    try:
        for info in store.sessions(facilitated_only=True):
            summary = summarise_session(
                store.events(info["id"]),
                store.poses(info["id"]),
                programme,
                site=site,
                cohort=cohort,
                front_headings=films.headings,
                areas=films.areas,
                include_text=include_text,
            )
            if summary is None:
                continue
            done.skipped.extend(summary.skipped)
            done.answers += len(summary.rows["answers"])
            for name, r in summary.rows.items():
                rows.setdefault(name, []).extend(r)
            if len(rows["sessions"]) >= batch:
                done.sessions += target.put(rows)
                rows = {}
        if rows:
            done.sessions += target.put(rows)
    finally:
        store.close()
    target.put_programme(programme, films.areas)
    return done
