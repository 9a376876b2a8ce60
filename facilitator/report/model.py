"""What a session's events add up to: facts, timeline, annotations (after edits, deletes), prompts, gaze."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from facilitator.report.pose import film_heading_pitch, samples_from_event
from player import protocol as P

PROMPT_TAG = "prompt"


def parse_utc(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None


def is_pose(event: dict) -> bool:
    return str(event.get("type", "")).split(".")[0] == "pose"


STATES = {f"transport.{k}" for k in P.TRANSPORT_STATES}  # the fold's states; notices stay off the timeline
TIMELINE_PREFIXES = ("transport.", "welfare.", "viewer.", "session.", "chapter.", "content_warning.entered")
VIEWER_WELFARE = ("viewer.break_request", "viewer.focus_lost", "viewer.headset_off")


@dataclass
class Annotation:
    id: str
    media_t: float | None
    text: str
    tags: list[str]
    utc: str | None
    author: str | None = None
    edits: int = 0
    deleted: bool = False


@dataclass
class Session:
    """A session's events summarised for the report."""

    session_id: str = ""
    film: str | None = None
    participant: str | None = None
    facilitator: str | None = None
    player: str | None = None
    consent: dict = field(default_factory=dict)
    started_utc: datetime | None = None
    ended_utc: datetime | None = None
    first_utc: datetime | None = None
    last_utc: datetime | None = None
    watched_s: float = 0.0
    max_media_t: float = 0.0
    pauses: int = 0
    seeks: int = 0
    welfare: list[dict] = field(default_factory=list)
    timeline: list[dict] = field(default_factory=list)
    annotations: list[Annotation] = field(default_factory=list)
    gaze: list[tuple[float, float, float]] = field(default_factory=list)
    preflight: dict = field(default_factory=dict)
    recentres: list[tuple[float, float]] = field(default_factory=list)
    event_count: int = 0

    @property
    def duration_s(self) -> float | None:
        a = self.started_utc or self.first_utc
        b = self.ended_utc or self.last_utc
        return (b - a).total_seconds() if a and b else None

    @property
    def pose_refused(self) -> bool:
        """The session's consent refused pose capture: where the viewer looked is not shown, whatever came."""
        return bool(self.consent) and self.consent.get("pose_capture") is not True

    @property
    def notes(self) -> list[Annotation]:
        return [a for a in self.annotations if not a.deleted and PROMPT_TAG not in a.tags]

    @property
    def prompts_used(self) -> list[Annotation]:
        return [a for a in self.annotations if not a.deleted and PROMPT_TAG in a.tags]


def _annotation_id(event: dict, added: bool) -> str:
    """An annotation is named by the seq of the event that added it; edits and deletes name it in `ref`."""
    data = event.get("data") or {}
    if added:
        return str(event.get("seq"))
    return str(data.get("ref", data.get("annotation_id", "")))


def _is_added(etype: str) -> bool:
    return etype in ("annotation", "annotation.added", "annotation.created")


def gaze_from_poses(
    poses: list[tuple[float, ...]], front_heading: float, recentres: list[tuple[float, float]]
) -> list[tuple[float, float, float]]:
    """(media_t, film heading, pitch) from pose samples (mono, media_t, x, y, z, w), applying recentres."""
    out = []
    marks = sorted(recentres)
    i, yaw = 0, 0.0
    for sample in sorted(poses):
        mono, media_t, *q = sample
        while i < len(marks) and marks[i][0] <= mono:
            yaw = marks[i][1]
            i += 1
        h, p = film_heading_pitch(q, front_heading, yaw)
        out.append((float(media_t), h, p))
    return out


def summarise(events: list[dict], poses: list[tuple[float, ...]] = (), front_heading: float = 0.0) -> Session:
    """Fold a session's events (any order; sorted by seq) and pose samples into a `Session`."""
    s = Session()
    events = sorted(events, key=lambda e: (e.get("seq") is None, e.get("seq") or 0))
    playing_since: float | None = None
    by_id: dict[str, Annotation] = {}
    for ev in events:
        s.event_count += 1
        etype = str(ev.get("type", ""))
        data = ev.get("data") or {}
        utc = parse_utc(ev.get("utc"))
        mono = ev.get("mono")
        mt = ev.get("media_t")
        s.session_id = s.session_id or str(ev.get("session") or "")
        if ev.get("film"):
            s.film = ev["film"]
        if utc:
            s.first_utc = s.first_utc or utc
            s.last_utc = utc
        if isinstance(mt, (int, float)):
            s.max_media_t = max(s.max_media_t, float(mt))
        if is_pose(ev):
            s.gaze.extend(samples_from_event(ev))
            continue
        if etype.startswith("annotation."):
            aid = _annotation_id(ev, _is_added(etype))
            if _is_added(etype):
                at = data.get("media_t", data.get("at", mt))
                ann = Annotation(
                    id=aid,
                    media_t=float(at) if isinstance(at, (int, float)) else None,
                    text=str(data.get("text", "")),
                    tags=[str(t) for t in data.get("tags") or []],
                    utc=ev.get("utc"),
                    author=data.get("author"),
                )
                by_id[aid] = ann
                s.annotations.append(ann)
            elif etype.endswith((".edited", ".updated")) and aid in by_id:
                ann = by_id[aid]
                ann.text = str(data.get("text", ann.text))
                if "tags" in data:
                    ann.tags = [str(t) for t in data.get("tags") or []]
                if isinstance(data.get("media_t"), (int, float)):
                    ann.media_t = float(data["media_t"])
                ann.edits += 1
            elif etype.endswith(".deleted") and aid in by_id:
                by_id[aid].deleted = True
            continue
        if etype == "session.started":
            s.started_utc = utc
            s.participant = data.get("participant") or s.participant
            s.facilitator = data.get("facilitator") or s.facilitator
            s.consent = data.get("consent") or s.consent
            s.player = data.get("player") or s.player
        elif etype == "session.ended":
            s.ended_utc = utc
        elif etype in ("transport.loaded", "preflight", "session.preflight"):
            s.preflight = {**s.preflight, **data}
            s.player = data.get("player") or s.player
        if etype == "transport.playing":
            playing_since = mono if isinstance(mono, (int, float)) else None
        elif (
            etype.startswith(("transport.", "session.ended"))
            and playing_since is not None
            and isinstance(mono, (int, float))
        ):
            s.watched_s += max(0.0, mono - playing_since)
            playing_since = None
        if etype == "transport.paused":
            s.pauses += 1
        elif etype == "transport.seeking":
            s.seeks += 1
        if etype == "viewer.recentre" and isinstance(data.get("heading"), (int, float)):
            s.recentres.append((float(mono or 0.0), -float(data["heading"])))
        if etype.startswith("welfare.") or etype in VIEWER_WELFARE:
            s.welfare.append(ev)
        if etype.startswith(TIMELINE_PREFIXES) and not (
            etype.startswith("transport.") and etype not in STATES
        ):
            s.timeline.append(ev)
    if poses:
        s.gaze.extend(gaze_from_poses(list(poses), front_heading, s.recentres))
    if playing_since is not None and events:
        last_mono = events[-1].get("mono")
        if isinstance(last_mono, (int, float)):
            s.watched_s += max(0.0, last_mono - playing_since)
    return s
