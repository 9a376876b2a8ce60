"""A session's pseudonymous summary for the programme store: session facts, answers, welfare events,
per-chapter attention as a coarse grid, area-of-interest dwell (facilitator.report.aoi, with the areas of
the film's manifest). Never raw pose streams, nothing of where a viewer looked without pose consent;
free-text answers only if asked.

Rows are plain tuples in the column order of `tables.TABLES`.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

from content_manifest.model import Area
from facilitator.report.aoi import session_dwell
from facilitator.report.heatmap import dwell_grid
from facilitator.report.model import parse_utc, summarise

from .definition import Programme
from .instruments import PHASES

ANSWER_EVENT = "questionnaire.answered"
GRID = (24, 12)  # attention cells: 15 degrees of heading by 15 of pitch
MAX_GAP_S = 0.5  # a pose sample counts until the next one, at most this long (as in the session report)
WHOLE_FILM = ""  # the chapter of a film without chapters


@dataclass
class Summary:
    """The rows of one session, table by table; ``skipped`` says which answers were refused and why."""

    rows: dict[str, list[tuple]] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)


def naive_utc(text: str | None) -> datetime | None:
    t = parse_utc(text)
    if t is None:
        return None
    return t.astimezone(UTC).replace(tzinfo=None) if t.tzinfo else t


def _chapter_marks(events: list[dict]) -> dict[str, list[tuple[float, str]]]:
    """Per film, the (start, chapter id) the player announced, by start."""
    marks: dict[str, dict[str, float]] = {}
    for ev in events:
        if ev.get("type") == "chapter.entered" and ev.get("film"):
            data = ev.get("data") or {}
            if isinstance(data.get("start"), (int, float)) and data.get("id"):
                marks.setdefault(str(ev["film"]), {})[str(data["id"])] = float(data["start"])
    return {film: sorted((s, c) for c, s in chapters.items()) for film, chapters in marks.items()}


def chapter_at(marks: list[tuple[float, str]], media_t: float | None) -> str:
    if not marks or media_t is None:
        return WHOLE_FILM
    i = bisect.bisect_right([s for s, _ in marks], media_t + 1e-6) - 1
    return marks[max(i, 0)][1]


def summarise_session(
    events: list[dict],
    poses: Iterable[tuple[float, ...]],
    programme: Programme,
    *,
    site: str,
    cohort: str | None,
    front_headings: dict[str, float] | None = None,
    areas: dict[str, list[Area]] | None = None,
    include_text: bool = False,
) -> Summary | None:
    """The summary rows of a facilitated session (None for a standby session or one without events).
    ``front_headings`` and ``areas`` are the library's, by film id (`collect.film_facts`)."""
    events = sorted(events, key=lambda e: e.get("seq") or 0)
    start = next((e for e in events if e.get("type") == "session.started"), None)
    data = (start or {}).get("data") or {}
    if not events or not data.get("participant"):
        return None
    film = next((str(e["film"]) for e in events if e.get("film")), None)
    front = (front_headings or {}).get(film or "", 0.0)
    s = summarise(events, list(poses), front_heading=front)
    sid = s.session_id
    out = Summary()
    out.rows["sessions"] = [
        (
            sid,
            str(data.get("site") or site),
            data.get("cohort") or cohort,
            str(s.participant),
            s.player or str(data.get("player") or ""),
            film,
            naive_utc((start or {}).get("utc")),
            naive_utc(next((e.get("utc") for e in events if e.get("type") == "session.ended"), None)),
            round(s.watched_s, 3),
            any(e.get("type") == "transport.ended" for e in events),
        )
    ]
    answers = _answers(sid, str(s.participant), events, programme, include_text, out.skipped)
    latest = {(r[3], r[4], r[5]): r for r in answers}
    out.rows["answers"] = list(latest.values())  # one per item and phase: the session's last word
    marks = _chapter_marks(events)
    out.rows["chapters"] = [(f, cid, start) for f, chapters in marks.items() for start, cid in chapters]
    out.rows["welfare"] = list(_welfare(sid, events, marks))
    grids = _attention([] if s.pose_refused else s.gaze, marks.get(film or "", []))
    out.rows["attention"] = [
        (sid, film, ch, cell, secs) for ch, cells in grids.items() for cell, secs in cells
    ]
    out.rows["aoi"] = [
        (sid, film, d.area.id, d.tracked_s, d.looked, d.seconds, d.first_look_s)
        for d in session_dwell(s, (areas or {}).get(film or "", []))
    ]
    return out


def _answers(
    sid: str,
    participant: str,
    events: list[dict],
    programme: Programme,
    include_text: bool,
    skipped: list[str],
) -> Iterator[tuple]:
    for ev in events:
        if ev.get("type") != ANSWER_EVENT:
            continue
        d = ev.get("data") or {}
        where = f"{sid} seq {ev.get('seq')}"
        inst = programme.instruments.get(str(d.get("instrument")))
        item = inst.by_id.get(str(d.get("item"))) if inst else None
        phase = d.get("phase")
        if item is None or inst is None:
            skipped.append(
                f"{where}: unknown item {d.get('instrument')}.{d.get('item')} (not in the programme)"
            )
            continue
        if phase not in PHASES:
            skipped.append(f"{where}: {inst.id}.{item.id}: phase {phase!r} (expected pre, post or follow_up)")
            continue
        try:
            number, text = item.read(d.get("value"))
        except ValueError as exc:
            skipped.append(f"{where}: {inst.id}.{item.id}: {exc}")
            continue
        if item.kind == "text" and not include_text:
            text = None  # free text stays on the laptop unless asked for (--include-text)
        seq = int(ev.get("seq") or 0)
        yield (sid, seq, participant, inst.id, item.id, phase, number, text, naive_utc(ev.get("utc")))


def _welfare(sid: str, events: list[dict], marks: dict[str, list[tuple[float, str]]]) -> Iterator[tuple]:
    for ev in events:
        kind, d = ev.get("type"), ev.get("data") or {}
        if kind == "welfare.changed" and d.get("level") in ("stop", "soften"):
            what = str(d["level"])
        elif kind == "viewer.break_request":
            what = "break"
        else:
            continue
        film = ev.get("film")
        t = ev.get("media_t", d.get("media_t"))
        t = float(t) if isinstance(t, (int, float)) else None
        chapter = chapter_at(marks.get(str(film), []), t)
        yield (sid, int(ev.get("seq") or 0), what, film, chapter, t)


def _attention(
    gaze: list[tuple[float, float, float]], marks: list[tuple[float, str]]
) -> dict[str, list[tuple[int, float]]]:
    """Per chapter, the non-empty grid cells (row * columns + column, seconds)."""
    by_chapter: dict[str, list[tuple[float, float, float]]] = {}
    pts = sorted(g for g in gaze if g[0] == g[0])  # samples without a media time (NaN) are not placed
    for g in pts:
        by_chapter.setdefault(chapter_at(marks, g[0]), []).append(g)
    grids: dict[str, list[tuple[int, float]]] = {}
    cols = GRID[0]
    for chapter, samples in by_chapter.items():
        grid = dwell_grid(samples, bins=GRID, max_gap=MAX_GAP_S)
        rows, cs = grid.nonzero()
        grids[chapter] = [(int(r) * cols + int(c), round(float(grid[r, c]), 3)) for r, c in zip(rows, cs)]
    return grids
