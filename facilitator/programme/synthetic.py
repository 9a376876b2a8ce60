"""Generated sessions, as a player would have logged them, for the demo and for trying a programme report
without real participants: session start (participant code, site, cohort), answers before and after the film,
chapters, welfare events, head poses, session end. Every value comes from ``random.Random(seed)``."""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from .definition import Programme
from .instruments import Instrument, Item
from .summary import ANSWER_EVENT

CHAPTERS = (("arrival", 0.0), ("argument", 20.0), ("after", 40.0))
FILM_S = 60.0


def yaw_pitch_quaternion(heading: float, pitch: float) -> tuple[float, float, float, float]:
    """The head orientation (x, y, z, w; +Y up, -Z forward) that looks at a film heading and pitch."""
    a, b = math.radians(-heading) / 2.0, math.radians(pitch) / 2.0
    qy = (0.0, math.sin(a), 0.0, math.cos(a))
    qx = (math.sin(b), 0.0, 0.0, math.cos(b))
    x1, y1, z1, w1 = qy
    x2, y2, z2, w2 = qx
    return (
        w1 * x2 + x1 * w2 + y1 * z2 - z1 * y2,
        w1 * y2 - x1 * z2 + y1 * w2 + z1 * x2,
        w1 * z2 + x1 * y2 - y1 * x2 + z1 * w2,
        w1 * w2 - x1 * x2 - y1 * y2 - z1 * z2,
    )


def _answer(rng: random.Random, item: Item, phase: str, lift: float) -> Any:
    """A plausible answer; after the film (``lift`` > 0) understanding items tend higher."""
    if item.kind == "ssq":
        return min(3, max(0, int(rng.random() * (1.6 if phase == "post" else 1.3))))
    if item.kind == "likert":
        top = item.points or 5
        return max(1, min(top, round(rng.gauss(top * 0.55 + lift * top * 0.3, top * 0.15))))
    if item.kind == "scale_0_10":
        return max(0, min(10, round(rng.gauss(5.0 + lift * 2.0, 1.8))))
    if item.kind == "yes_no":
        return "yes" if rng.random() < 0.45 + 0.35 * lift else "no"
    if item.kind == "choice":
        return rng.choice(item.labels)
    return rng.choice(("It felt real.", "Hard to watch.", "Useful for my practice."))


def session_events(
    rng: random.Random,
    programme: Programme,
    *,
    session: str,
    participant: str,
    film: str,
    site: str,
    cohort: str | None,
    start: datetime,
) -> tuple[list[dict], list[tuple[float, ...]]]:
    """One facilitated session's events (seq from 1) and its pose samples (mono, media_t, x, y, z, w)."""
    events: list[dict] = []
    clock = [0.0]

    def emit(kind: str, data: dict, media_t: float | None = None, dt: float = 1.0) -> None:
        clock[0] += dt
        utc = (start + timedelta(seconds=clock[0])).isoformat().replace("+00:00", "Z")
        events.append({"session": session, "seq": len(events) + 1, "type": kind, "utc": utc,
                       "mono": 1000.0 + clock[0], "film": film if kind != "session.started" else None,
                       "media_t": media_t, "data": data})  # fmt: skip

    emit("session.started", {"participant": participant, "consent": {"pose_capture": True}, "site": site,
                             "cohort": cohort, "player": "demo-player"})  # fmt: skip
    asked = [i for i in programme.instruments.values() if not i.films or film in i.films]
    for inst, item in _items(asked, "pre"):
        emit(ANSWER_EVENT, {"instrument": inst.id, "item": item.id, "value": _answer(rng, item, "pre", 0.0),
                            "phase": "pre"}, dt=4.0)  # fmt: skip
    emit("transport.loaded", {"film": film}, 0.0)
    emit("transport.playing", {}, 0.0)
    play_mono = 1000.0 + clock[0]
    for cid, at in CHAPTERS:
        emit("chapter.entered", {"id": cid, "start": at, "title": cid.title(), "media_t": at}, at, dt=0.0)
    if rng.random() < 0.15:
        t = rng.uniform(20.0, 40.0)
        emit("welfare.changed", {"level": "stop", "previous": "none", "by": "console", "media_t": t}, t, 0.0)
        emit("welfare.changed", {"level": "none", "previous": "stop", "by": "console", "media_t": t}, t, 0.0)
    if rng.random() < 0.1:
        t = rng.uniform(0.0, FILM_S)
        emit("viewer.break_request", {"media_t": t}, t, 0.0)
    clock[0] += FILM_S
    emit("transport.ended", {}, FILM_S, dt=0.0)
    lift = rng.uniform(0.3, 1.0)
    for inst, item in _items(asked, "post"):
        emit(ANSWER_EVENT, {"instrument": inst.id, "item": item.id, "value": _answer(rng, item, "post", lift),
                            "phase": "post"}, dt=4.0)  # fmt: skip
    emit("session.ended", {"reason": "ended_by_facilitator"})
    return events, list(_poses(rng, play_mono))


def _items(instruments: list[Instrument], phase: str) -> Iterator[tuple[Instrument, Item]]:
    for inst in instruments:
        if phase in inst.when:
            for item in inst.items:
                yield inst, item


def _poses(rng: random.Random, play_mono: float) -> Iterator[tuple[float, ...]]:
    """Ten samples a second: looking about the front, drawn towards the argument at heading 60 mid-film."""
    heading, pitch = 0.0, 0.0
    for i in range(int(FILM_S * 10)):
        t = i / 10.0
        target = 60.0 if CHAPTERS[1][1] <= t < CHAPTERS[2][1] else 0.0
        heading += (target - heading) * 0.05 + rng.gauss(0.0, 3.0)
        pitch = max(-60.0, min(60.0, pitch * 0.9 + rng.gauss(0.0, 2.0)))
        yield (play_mono + t, t, *yaw_pitch_quaternion(heading, pitch))


def fill_store(store: Any, programme: Programme, sessions: int, seed: int = 1, film: str = "demo-film",
               sites: tuple[str, ...] = ("north", "south")) -> list[str]:  # fmt: skip
    """Add ``sessions`` generated sessions to a FacilitatorStore (its own add/add_pose); returns their ids."""
    rng = random.Random(seed)
    base = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    ids = []
    for n in range(sessions):
        sid = f"s-demo-{seed:02d}-{n:04d}"
        events, poses = session_events(
            rng, programme, session=sid, participant=f"P-{seed:02d}{n:03d}", film=film,
            site=sites[n % len(sites)], cohort=f"cohort-{1 + n % 2}",
            start=base + timedelta(days=n, hours=n % 5),
        )  # fmt: skip
        for ev in events:
            store.add("demo-player", ev)
        for i, (mono, media_t, *q) in enumerate(poses):
            sample = {"session": sid, "pseq": i + 1, "mono": mono, "media_t": media_t, "data": {"q": q}}
            store.add_pose("demo-player", sample)
        ids.append(sid)
    store.flush()
    return ids
