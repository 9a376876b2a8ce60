"""Areas of interest: whether, how long and how soon a viewer looked at each area the film's manifest names.

The one computation behind the session report and the programme store (docs/manifest.md, "Areas of
interest"). Gaze samples are (media_t, film heading, pitch) in the order they were recorded
(`Session.gaze`). Each sample holds until the next one, at most ``MAX_GAP_S`` (the last one
``LAST_HOLD_S``), in film time: a pause adds nothing, a seek does not stretch a sample across the skipped
part. A sample's hold counts only where it overlaps the area's time range, [start, end).
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from content_manifest.model import Area
from content_manifest.timecode import format_time
from facilitator.report.model import Session

MAX_GAP_S = 0.5  # as the heatmaps (heatmap.dwell_grid)
LAST_HOLD_S = 0.1

NOT_RECORDED = "not recorded"  # no pose consent, or no head-tracking samples in the session
NOT_REACHED = "not reached"  # tracked, but never while the area was shown (stopped before, skipped)


@dataclass(frozen=True)
class Dwell:
    """One area, one viewer. ``tracked_s`` is None when nothing was recorded; then so are the others."""

    area: Area
    tracked_s: float | None  # film seconds of the area's time range watched with head tracking
    seconds: float | None  # of those, seconds looking inside the area's box
    first_look_s: float | None  # from the area's start to the first moment inside the box (None: never)

    @property
    def looked(self) -> bool | None:
        """Whether the viewer looked at it; None when that cannot be said (not recorded, not reached)."""
        if not self.tracked_s:
            return None
        return bool(self.seconds)

    @property
    def status(self) -> str:
        if self.tracked_s is None:
            return NOT_RECORDED
        if not self.tracked_s:
            return NOT_REACHED
        return "looked" if self.seconds else "did not look"


def area_dwell(gaze: Iterable[tuple[float, float, float]], areas: Sequence[Area]) -> list[Dwell]:
    """Each area's dwell from gaze samples (media_t, heading, pitch) in recorded order; samples without a
    media time (NaN) are left out. An empty ``gaze`` measures nothing: every area is not recorded."""
    pts = [g for g in gaze if g[0] == g[0]]
    if not pts:
        return [Dwell(a, None, None, None) for a in areas]
    holds = []
    for i, (t, h, p) in enumerate(pts):
        hold = LAST_HOLD_S if i + 1 == len(pts) else min(max(pts[i + 1][0] - t, 0.0), MAX_GAP_S)
        holds.append((t, t + hold, h, p))
    out = []
    for a in areas:
        tracked = inside = 0.0
        first: float | None = None
        for t0, t1, h, p in holds:
            lo, hi = max(t0, a.start), min(t1, a.end)
            if hi <= lo:
                continue
            tracked += hi - lo
            if a.contains(h, p):
                inside += hi - lo
                first = lo - a.start if first is None else min(first, lo - a.start)
        out.append(Dwell(a, round(tracked, 3), round(inside, 3), None if first is None else round(first, 3)))
    return out


def session_dwell(session: Session, areas: Sequence[Area]) -> list[Dwell]:
    """`area_dwell` of a summarised session; not recorded when its consent refused pose capture."""
    return area_dwell(() if session.pose_refused else session.gaze, areas)


def dwell_rows(dwells: Sequence[Dwell]) -> list[dict]:
    """One plain mapping per area (the report's JSON form and its table)."""
    return [
        {
            "area": d.area.id,
            "label": d.area.label,
            "start": d.area.start,
            "end": d.area.end,
            "status": d.status,
            "looked": d.looked,
            "seconds": d.seconds,
            "first_look_s": d.first_look_s,
            "tracked_s": d.tracked_s,
        }
        for d in dwells
    ]


def areas_html(dwells: Sequence[Dwell]) -> str:
    """The session report's "Areas of interest" table."""
    if not dwells:
        return '<p class="empty">The film names no areas of interest.</p>'
    body = []
    for r in dwell_rows(dwells):
        name = html.escape(r["label"] or r["area"]) + (f" <small>({html.escape(r['area'])})</small>")
        shown = f"{format_time(r['start'])}–{format_time(r['end'])}"
        if r["looked"] is None:
            looked, secs, first = r["status"], "–", "–"
        else:
            looked = "yes" if r["looked"] else "no"
            secs = f"{r['seconds']:.1f} s of {r['tracked_s']:.1f} s watched"
            first = "–" if r["first_look_s"] is None else f"{r['first_look_s']:.1f} s after it appeared"
        body.append(
            f"<tr><td>{name}</td><td class=t>{shown}</td><td>{looked}</td><td class=t>{secs}</td>"
            f"<td class=t>{first}</td></tr>"
        )
    head = "<tr><th>Area</th><th>Shown</th><th>Looked</th><th>Time looking</th><th>First look</th></tr>"
    return f"<table class=aoi><thead>{head}</thead><tbody>{''.join(body)}</tbody></table>"
