"""A film's areas of interest: the checks that span fields (the schema checks each value on its own).

Each problem is reported at its own line and column; the film's other checks still run.
"""

from __future__ import annotations

from .kinds import Context, Rec
from .model import Area
from .timecode import format_time

EPS = 1e-3
_REQUIRED = ("id", "start", "end", "heading", "pitch")


def check_areas(items: list[Rec], duration: float | None, path: str, ctx: Context) -> list[Area]:
    """The film's good areas; a problem for each duplicate id, end not after start, end after the film,
    pair that is not two values, empty box (from = to) and pitch from above to (only headings wrap)."""
    out: list[Area] = []
    first: dict[str, Rec] = {}
    for j, a in enumerate(items):
        where = f"{path}[{j}]"
        ok = all(k in a for k in _REQUIRED)
        if "id" in a:
            if a["id"] in first:
                ctx.add(
                    a.at("id"),
                    f"{where}.id",
                    f"duplicate area id {a['id']!r}",
                    f"a unique id within the film; first at line {first[a['id']].at('id')[0]}",
                )
                ok = False
            else:
                first[a["id"]] = a
        if "start" in a and "end" in a:
            ok = _check_times(a, duration, where, ctx) and ok
        for key in ("heading", "pitch"):
            pair = a.get(key)
            if pair is None:
                continue
            if len(pair) != 2:  # read with positions, the schema has said why; the one-pass reader has not
                if key not in a.marks:
                    ctx.add(a.at(key), f"{where}.{key}", f"{len(pair)} values where 2 belong", "[from, to]")
                ok = False
            elif pair[0] == pair[1]:
                ctx.add(a.at(key), f"{where}.{key}", f"from and to are both {pair[0]:g}: an empty box",
                        "[from, to] with from and to apart")  # fmt: skip
                ok = False
            elif key == "pitch" and pair[0] > pair[1]:
                ctx.add(a.at(key), f"{where}.pitch", f"from {pair[0]:g} is above to {pair[1]:g}",
                        "[lower, upper]; only headings wrap")  # fmt: skip
                ok = False
        if ok:
            h, p = a["heading"], a["pitch"]
            out.append(Area(a["id"], a["start"], a["end"], (h[0], h[1]), (p[0], p[1]), a.get("label", "")))
    return out


def _check_times(a: Rec, duration: float | None, where: str, ctx: Context) -> bool:
    start, end = a["start"], a["end"]
    if end <= start:
        ctx.add(
            a.at("end"),
            f"{where}.end",
            f"ends at {format_time(end)}, not after its start {format_time(start)}",
            "end later than start",
        )
        return False
    if duration is not None and end > duration + EPS:
        ctx.add(
            a.at("end"),
            f"{where}.end",
            f"ends at {format_time(end)}, after the film ends",
            f"at most the duration {format_time(duration)}",
        )
        return False
    return True
