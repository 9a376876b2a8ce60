"""Session lifecycle: the lobby (standby) or the facilitated session events belong to; recovery; purges.

There is always exactly one current session. ``session.started`` is seq 1 of its session and names the
previous one (``previous``), so a subscriber can follow the chain; ``session.ended`` is its last event.
The player owns the lifecycle (``docs/protocol.md``, "Session lifecycle"): in the lobby (standby) the
controller shows the calm scene and refuses to play, and no pose is kept; a facilitated session (participant
code and consent) lets a lead play, with poses only if its consent says ``pose_capture: true``; ending it
stops the film and brings the calm scene back before ``session.ended`` is logged.
"""

from __future__ import annotations

import json
import math
import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from player import protocol as P
from player.protocol.poses import unpack_poses

from .log import SessionLog
from .pipeline import EventPipeline


def last_position(log: SessionLog, session: str) -> tuple[str | None, float | None]:
    """The film and media time a session was last logged at: its last event with a media time, or its last
    pose sample if later (poses are sampled many times a second; events come when something happens)."""
    row = log.db.execute(
        "SELECT film, media_t FROM events WHERE session=? AND film IS NOT NULL AND media_t IS NOT NULL"
        " ORDER BY seq DESC LIMIT 1",
        (session,),
    ).fetchone()
    film, media_t = (row[0], float(row[1])) if row else (None, None)
    pose = log.db.execute(
        "SELECT film, samples FROM poses WHERE session=? ORDER BY pos DESC LIMIT 1", (session,)
    ).fetchone()
    if pose is not None and pose[0]:
        samples = unpack_poses(pose[1])
        t = samples[-1][1] if samples else math.nan
        if math.isfinite(t) and (film is None or (pose[0] == film and t > (media_t or 0.0))):
            film, media_t = pose[0], float(t)
    return film, media_t


def resume_lookup(log: SessionLog, session: str) -> dict[str, Any]:
    """What `Sessions.resume` needs from the log (read by the log reader): the session's row (None if
    unknown), the session that resumed it already (if any), and where it was last logged."""
    row = next((r for r in log.sessions(1000) if r["id"] == session), None)
    if row is None:
        return {"row": None}
    marker = f'%"resumed":{{"session":"{session}"%'
    again = log.db.execute(
        "SELECT session FROM events WHERE type='session.started' AND json LIKE ? LIMIT 1", (marker,)
    ).fetchone()
    film, media_t = last_position(log, session)
    found = {"row": row, "resumed_as": again[0] if again else None, "film": film, "media_t": media_t}
    return {**found, "labels": _labels(log, session)}  # site and cohort: a resumed session keeps them


def new_session_id(now: float | None = None) -> str:
    t = datetime.fromtimestamp(time.time() if now is None else now, tz=UTC)
    return "s-" + t.strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3)


class Sessions:
    def __init__(self, events: EventPipeline, player_name: str, default_pause_on_lost: bool):
        self.events = events
        self.player_name = player_name
        self.player_key: str | None = None  # fingerprint, known once the identity is loaded
        self.default_pause_on_lost = default_pause_on_lost
        self.kind = "standby"
        self.info: dict[str, Any] = {}
        self.resumed: dict[str, str] = {}  # interrupted session -> the session that resumed it (this run)
        self.consent: dict | None = None
        self.participant_pattern: str | None = None  # a programme's rule (participant-codes.yaml), else P's
        self.keep_reading: Callable[[], None] = lambda: None  # set by the server: read the command socket

    def _hook(self, name: str) -> Callable[..., Any] | None:
        """The controller's lifecycle method ``name`` (a controller without one has no film to gate)."""
        hook = getattr(self.events.controller, name, None)
        return hook if callable(hook) else None

    @property
    def id(self) -> str:
        return self.events.session_id

    def recover_and_begin(self, log: SessionLog, retention_days: float | None) -> None:
        """End the sessions a crash left open (``interrupted``), prune old request ids, purge by retention,
        then begin a standby session."""
        previous = None
        for sid, last in log.unfinished_sessions():
            self.events.begin(sid, last)
            self.events.append(
                "session.ended",
                {"reason": "interrupted", "detail": "the player stopped without ending it"},
                drain=False,
                stamped=True,
            )
            previous = {"session": sid, "seq": self.events.seq}
        if previous is None:
            rows = log.sessions(1)
            if rows:
                previous = {"session": rows[0]["id"], "seq": rows[0]["last_seq"]}
        self.begin(None, None, previous, {})
        log.prune_requests(P.utc_now(time.time() - 7 * 86400.0))  # retries never come a week late
        if retention_days is not None:
            self.purge(log, retention_days, by="retention")
        self.events.commit_and_publish()

    def begin(
        self, participant: str | None, consent: dict | None, previous: dict | None, extra: dict[str, Any]
    ) -> None:
        """Start a session: facilitated with a participant code, else standby."""
        self.events.begin(new_session_id())
        self.events.last_published = 0
        self.events.poses.restart()
        self.kind = "facilitated" if participant else "standby"
        self.consent = consent if participant else None
        pose = bool(participant) and (consent or {}).get("pose_capture") is True
        self.events.poses.recording = pose
        hook = self._hook("open_session" if participant else "enter_lobby")
        if hook is not None:
            hook(pose) if participant else hook()
        self.info = {
            "id": self.id,
            "kind": self.kind,
            "participant": participant,
            "started_utc": P.utc_now(),
            "pause_on_lost": extra.get("pause_on_lost", self.default_pause_on_lost),
            **{k: v for k, v in extra.items() if k != "pause_on_lost"},
        }
        data: dict[str, Any] = {
            "participant": participant,
            "consent": consent,
            "standby": participant is None,
            "previous": previous,
            "player": self.player_name,
            "player_key": self.player_key,
        }
        data.update(extra)
        self.events.append("session.started", data, drain=False)  # always seq 1 of its session

    def end(self, reason: str, detail: str | None = None) -> dict[str, Any]:
        """Stop the film and show the calm scene, then log ``session.ended``; returns the ``previous``
        reference for the next session."""
        lobby = self._hook("enter_lobby")
        if lobby is not None and lobby():
            self._await_pause()  # the film's transport.paused is logged in the session it stopped
        self.events.poses.recording = False
        self.events.flush_poses()
        self.events.append("session.ended", {"reason": reason, **({"detail": detail} if detail else {})})
        return {"session": self.id, "seq": self.events.seq}

    def _await_pause(self, limit_s: float = 0.2) -> None:
        """Number the engine's ``transport.paused`` (it comes from the engine's event thread, usually within a
        millisecond) before ``session.ended``; never waits longer than ``limit_s``. The command socket is
        read meanwhile, so a welfare stop arriving now is carried out at once, not after the wait."""
        deadline = time.monotonic() + limit_s
        start = len(self.events.pending)
        while time.monotonic() < deadline:
            self.keep_reading()
            self.events.drain()
            if any(r.type == "transport.paused" for r in self.events.pending[start:]):
                return
            time.sleep(0.001)

    def resume(self, found: dict[str, Any], session: str, by: str) -> dict[str, Any]:
        """Resume an interrupted session (``found``: what `resume_lookup` read of it): a new facilitated
        session with its participant and consent (``session.started`` says ``resumed``), its film loaded and
        paused where it was last logged."""
        row = found.get("row")
        if row is None:
            raise P.ProtocolError(P.E_NOT_FOUND, f"args.session: no session {session!r} in this player's log")
        if row["kind"] != "facilitated" or row["end_reason"] != "interrupted":
            why = "it is still running" if row["ended_utc"] is None else f"it ended ({row['end_reason']})"
            raise P.ProtocolError(
                P.E_BAD_ARGS, f"args.session: {session} was not interrupted by a crash ({why}): start anew"
            )
        again = found.get("resumed_as") or self.resumed.get(session)  # the log's, or this run's
        if again is not None:
            why = f"args.session: {session} was resumed already (as {again})"
            raise P.ProtocolError(P.E_BAD_ARGS, why)
        where = {"session": session, "film": found.get("film"), "media_t": found.get("media_t")}
        previous = self.end("facilitated_session_started")
        extra = {"facilitator": by, "resumed": where, **found.get("labels", {})}
        self.begin(row["participant"], row["consent"], previous, extra)
        self.resumed[session] = self.id
        dispatch = getattr(self.events.controller, "dispatch", None)
        result: dict[str, Any] = {"participant": row["participant"], "resumed": where}
        if dispatch is not None and where["film"]:
            try:  # the session is open either way; the lead sees where the film is
                current = getattr(getattr(self.events.controller, "film", None), "id", None)
                if current != where["film"]:
                    dispatch("load", {"film": where["film"]})
                dispatch("seek", {"t": max(0.0, float(where["media_t"]))})
            except Exception as exc:
                result["position_error"] = str(getattr(exc, "message", exc))[:300]
        return result

    def purge(self, log: SessionLog, older_than_days: float, by: str) -> dict[str, Any]:
        """Delete sessions that ended more than ``older_than_days`` ago (never the current one); logged."""
        # purge sees every ended session; the command socket is read while the disk works (a stop now is
        # carried out at once: deleting hundreds of sessions takes seconds)
        self.events.commit_and_publish(between=self.keep_reading)
        cutoff = P.utc_now(time.time() - older_than_days * 86400.0)
        ids = log.purgeable(cutoff, keep=[self.id])
        # the log deletes the sessions log.purged names in the transaction that writes it, then erases them
        self.events.append(
            "log.purged",
            {
                "sessions": ids,
                "count": len(ids),
                "ended_before": cutoff,
                "older_than_days": older_than_days,
                "by": by,
            },
        )
        self.events.commit_and_publish(between=self.keep_reading)
        return {"purged": ids, "count": len(ids), "ended_before": cutoff}


def _labels(log: SessionLog, session: str) -> dict[str, Any]:
    """The programme's site and cohort labels a session started with (a resumed session keeps them)."""
    found = log.db.execute(
        "SELECT json FROM events WHERE session=? AND type='session.started' LIMIT 1", (session,)
    ).fetchone()
    data = (json.loads(found[0]).get("data") or {}) if found else {}
    return {k: data[k] for k in ("site", "cohort") if k in data}
