"""Sessions with chosen answers, welfare events and gaze, written into a real facilitator store (its own
add and add_pose), for the programme tests; the tests work out the expected figures from the chosen values."""

from __future__ import annotations

import math
from pathlib import Path

from facilitator.store import FacilitatorStore

PROGRAMME_YAML = """\
programme_version: 1
title: Test programme
instruments:
  - id: understanding
    when: [pre, post]
    items:
      - id: impact
        text: I understand the impact on children.
        kind: likert
        points: 5
        labels: [SD, D, N, A, SA]
      - id: confidence
        text: How confident are you?
        kind: scale_0_10
  - id: after
    when: [post]
    items:
      - id: aware
        text: More aware of the impact on unborn babies.
        kind: yes_no
      - id: role
        text: Your role
        kind: choice
        options: [Police, Social work]
      - id: comments
        text: Anything else?
        kind: text
  - use: ssq
    when: [pre, post]
"""

LIBRARY_YAML = """\
manifest_version: 1
films:
  - id: film-a
    title: Film A
    file: film-a.mp4
    sha256: "%s"
    projection: equirect360
    duration: 30
    areas:
      - id: door
        label: the child behind the door
        start: 12
        end: 18
        heading: [40, 70]
        pitch: [-10, 20]
""" % ("0" * 64)


def quaternion(heading: float, pitch: float) -> list[float]:
    """x, y, z, w looking at a film heading (clockwise) and pitch (up), +Y up and -Z forward."""
    a, b = math.radians(-heading) / 2, math.radians(pitch) / 2
    # yaw about +Y, then pitch about +X
    return [
        math.cos(a) * math.sin(b),
        math.sin(a) * math.cos(b),
        -math.sin(a) * math.sin(b),
        math.cos(a) * math.cos(b),
    ]


def add_session(
    store: FacilitatorStore,
    sid: str,
    participant: str,
    *,
    answers: list[tuple[str, str, str, object]] = (),
    welfare: list[tuple[str, float]] = (),
    look: tuple[float, float] | None = None,
    day: int = 1,
    film: str = "film-a",
    ended: bool = True,
) -> None:
    """A session: started, pre answers, film with chapters intro (0 s) and scene (10 s), gaze at ``look``
    (heading, pitch) from 10 s to 20 s at 10 Hz, welfare events (kind, media_t), film end, post answers."""
    seq = 0
    utc = f"2026-11-{day:02d}T10:00:00Z"

    def ev(kind: str, data: dict, media_t: float | None = None, with_film: bool = True) -> None:
        nonlocal seq
        seq += 1
        store.add(
            "player-1",
            {
                "session": sid,
                "seq": seq,
                "type": kind,
                "utc": utc,
                "mono": 100.0 + seq,
                "film": film if with_film else None,
                "media_t": media_t,
                "data": data,
            },
        )

    ev("session.started", {"participant": participant, "consent": {"pose_capture": True}}, with_film=False)
    for inst, item, phase, value in answers:
        if phase == "pre":
            ev("questionnaire.answered", {"instrument": inst, "item": item, "value": value, "phase": phase})
    ev("transport.loaded", {}, 0.0)
    ev("transport.playing", {}, 0.0)
    ev("chapter.entered", {"id": "intro", "index": 0, "title": "Intro", "start": 0.0}, 0.0)
    ev("chapter.entered", {"id": "scene", "index": 1, "title": "Scene", "start": 10.0}, 10.0)
    for kind, t in welfare:
        if kind == "break":
            ev("viewer.break_request", {"media_t": t}, t)
        else:
            ev("welfare.changed", {"level": kind, "previous": "none", "by": "console", "media_t": t}, t)
    if ended:
        ev("transport.ended", {}, 30.0)
    for inst, item, phase, value in answers:
        if phase != "pre":
            ev("questionnaire.answered", {"instrument": inst, "item": item, "value": value, "phase": phase})
    if look is not None:
        q = quaternion(*look)
        for i in range(100):
            t = 10.0 + i / 10
            store.add_pose(
                "player-1", {"session": sid, "pseq": i + 1, "mono": 500.0 + t, "media_t": t, "data": {"q": q}}
            )
    ev("session.ended", {"reason": "ended_by_facilitator"}, with_film=False)
    store.flush()


def write_programme(folder: Path) -> Path:
    """programme.yaml, and beside it the library manifest that names film-a's area of interest."""
    path = folder / "programme.yaml"
    path.write_text(PROGRAMME_YAML, encoding="utf-8")
    (folder / "manifest.yaml").write_text(LIBRARY_YAML, encoding="utf-8")
    return path
