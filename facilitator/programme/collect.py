"""Gathering session summaries from facilitator stores (and Parquet exchange folders) into the store."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from facilitator.store import FacilitatorStore, StoreError

from .definition import Programme
from .store import ProgrammeStore
from .summary import summarise_session


@dataclass
class Collected:
    sessions: int = 0
    answers: int = 0
    skipped: list[str] = field(default_factory=list)


def front_headings(library: Path | None) -> dict[str, float]:
    """Each film's front heading from the library manifest (gaze is placed on the picture with it)."""
    if library is None:
        return {}
    from content_manifest import load_library

    return {fid: film.front_heading for fid, film in load_library(library).films.items()}


def collect_store(
    target: ProgrammeStore,
    source: Path,
    programme: Programme,
    *,
    site: str,
    cohort: str | None = None,
    headings: dict[str, float] | None = None,
    include_text: bool = False,
    batch: int = 500,
) -> Collected:
    """Summarise every facilitated session of a facilitator store into ``target`` (again: replaced)."""
    if not source.is_file():
        raise StoreError(f"{source}: no facilitator store here")
    store = FacilitatorStore(source)
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
                front_headings=headings,
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
    target.put_programme(programme)
    return done
