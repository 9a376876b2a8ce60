"""What each command does: playback commands (now or scheduled) to the controller, session-level commands
(hello, snapshot, sessions, annotations, purge, ...) and extension handlers, on the session thread.

A handler returns the reply body, or a function building it after this turn's events were published.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from player import protocol as P
from player.protocol.keys import fingerprint

from . import clone
from .peers import Peer
from .pipeline import Reply
from .reader import ReadJob
from .schedule import MAX_SCHEDULE_AHEAD_S
from .sessions import resume_lookup

if TYPE_CHECKING:
    from .server import SessionServer

Handler = Callable[[dict[str, Any], dict[str, str]], dict[str, Any]]


class Commands:
    def __init__(self, server: SessionServer):
        self.server = server
        self.controller = server.controller
        self.events = server.events
        self.sessions = server.sessions
        self.peers = server.peers
        self.schedule = server.schedule
        self.extensions: dict[str, Handler] = {}
        self.folded = clone.Folded()  # the snapshot's fold, kept between snapshots
        self._session: dict[str, Callable[[P.Command, Peer, float], Reply]] = {
            "hello": self._hello,
            "ping": self._ping,
            "clock.sync": self._clock_sync,
            "bye": self._bye,
            # reads of the log: jobs for the log reader's thread, from what is published (see clone, reader)
            "snapshot": lambda cmd, peer, t: self._snapshot_job(cmd),
            "status": lambda cmd, peer, t: lambda: P.encode_ok(cmd.id, self.status()),
            "events": lambda cmd, peer, t: self._events_job(cmd),
            "poses": lambda cmd, peer, t: ReadJob(cmd.id, lambda log: clone.poses_reply(log, cmd)),
            "sessions": self._sessions,
            "session.start": self._session_start,
            "session.end": self._session_end,
            "session.resume": self._session_resume,
            "annotate": self._annotate,
            "answer": self._answer,
            "annotation.edit": self._annotation_change,
            "annotation.delete": self._annotation_change,
            "purge": lambda cmd, peer, t: P.encode_ok(
                cmd.id, self.sessions.purge(self.server.log, cmd.args["older_than_days"], by=peer.name)
            ),
        }

    # -- playback (target "controller")

    def playback(self, cmd: P.Command, peer: Peer, first: bool = False) -> bytes:
        """Log the command, then run it now, or at ``args.at`` (player monotonic time) if that is ahead.
        ``first`` (urgent commands): run it, then number the ``command`` event (still ahead of the events
        it causes, which wait in the inbox), so nothing comes before the action."""
        args = dict(cmd.args)
        logged = {"id": cmd.id, "cmd": cmd.cmd, "args": cmd.args, "by": peer.name, "key": peer.key}
        if first and args.get("at") is None:
            try:
                result = self._dispatch(cmd.cmd, args)
            finally:
                self.events.append("command", logged, drain=False)
            return P.encode_ok(cmd.id, result)
        at = args.pop("at", None)
        if at is not None:
            now = time.monotonic()
            if at - now > MAX_SCHEDULE_AHEAD_S:
                raise P.ProtocolError(P.E_BAD_ARGS, f"args.at: at most {MAX_SCHEDULE_AHEAD_S:.0f} s ahead")
            if at > now:
                self.events.append("command", {**logged, "scheduled": True})
                self.schedule.add(at, P.Command(cmd.id, cmd.cmd, args))
                return P.encode_ok(cmd.id, {"scheduled_at": at, "mono": time.monotonic()})
        self.events.append("command", logged)
        return P.encode_ok(cmd.id, self._dispatch(cmd.cmd, args))

    def _dispatch(self, name: str, args: dict[str, Any]) -> dict[str, Any]:
        """Hand a playback command to the controller."""
        return dict(self.controller.dispatch(name, args) or {})

    def run_scheduled(self, now: float) -> None:
        """Run the due scheduled commands: ``command.executed`` (with lateness) or ``command.failed``."""
        for at, cmd in self.schedule.due(now):
            late_ms = (time.monotonic() - at) * 1000
            try:
                play_scheduled = getattr(self.controller, "play_scheduled", None)
                if cmd.cmd == "play" and play_scheduled is not None:
                    play_scheduled()  # refused (command.failed, code "held") while the viewer is held out
                else:
                    self._dispatch(cmd.cmd, cmd.args)
                self.events.append(
                    "command.executed", {"id": cmd.id, "cmd": cmd.cmd, "at": at, "late_ms": round(late_ms, 3)}
                )
            except Exception as exc:
                self.events.append(
                    "command.failed",
                    {
                        "id": cmd.id,
                        "cmd": cmd.cmd,
                        "code": getattr(exc, "code", P.E_INTERNAL),
                        "message": str(getattr(exc, "message", exc))[:500],
                    },
                )

    # -- session level (target "session")

    def session(self, cmd: P.Command, peer: Peer, t_recv: float) -> Reply:
        handler = self._session.get(cmd.cmd)
        if handler is not None:
            return handler(cmd, peer, t_recv)
        extension = self.extensions.get(cmd.cmd)
        if extension is None:  # a group command on a player that is not in a group
            raise P.ProtocolError(P.E_UNAVAILABLE, f"{cmd.cmd}: this player does not take part in groups")
        if P.COMMANDS[cmd.cmd].logged:
            self.events.append(
                "command", {"id": cmd.id, "cmd": cmd.cmd, "args": cmd.args, "by": peer.name, "key": peer.key}
            )
        result = extension(dict(cmd.args), {"name": peer.name, "role": peer.role, "key": peer.key})
        return P.encode_ok(cmd.id, dict(result or {}))

    def _hello(self, cmd: P.Command, peer: Peer, t_recv: float) -> Reply:
        if not peer.announced:
            peer.announced = True
            self.events.append(
                "facilitator.connected",
                {"key": peer.key, "cid": peer.cid, "name": peer.name, "role": peer.role},
            )
        return lambda: P.encode_ok(cmd.id, self.hello(peer))

    def _ping(self, cmd: P.Command, peer: Peer, t_recv: float) -> Reply:
        return lambda: P.encode_ok(
            cmd.id,
            {
                "mono": time.monotonic(),
                "utc": P.utc_now(),
                "session": self.events.session_id,
                "seq": self.events.last_published,
            },
        )

    def _clock_sync(self, cmd: P.Command, peer: Peer, t_recv: float) -> Reply:
        return lambda: P.encode_ok(cmd.id, {"t1": t_recv, "seq": cmd.args.get("seq"), "t2": time.monotonic()})

    def _bye(self, cmd: P.Command, peer: Peer, t_recv: float) -> Reply:
        self.peers.remove(peer)
        if peer.announced:
            self.events.append(
                "facilitator.left", {"key": peer.key, "cid": peer.cid, "name": peer.name, "reason": "bye"}
            )
        return P.encode_ok(cmd.id, {})

    def _sessions(self, cmd: P.Command, peer: Peer, t_recv: float) -> ReadJob:
        current, limit = self.sessions.id, cmd.args.get("limit", 100)
        return ReadJob(
            cmd.id, lambda log: P.encode_ok(cmd.id, {"sessions": log.sessions(limit), "current": current})
        )

    def _events_job(self, cmd: P.Command) -> ReadJob:
        session, seq = self.events.session_id, self.events.last_published
        return ReadJob(cmd.id, lambda log: clone.events_reply(log, cmd, session, seq))

    def _snapshot_job(self, cmd: P.Command) -> ReadJob:
        """What only the session thread knows is taken now; the fold is the reader's (``self.folded``)."""
        info, seq = dict(self.sessions.info), self.events.last_published
        ctl, consoles = self.controller_status(), list(self.peers.announced())
        return ReadJob(
            cmd.id,
            lambda log: P.encode_ok(cmd.id, clone.snapshot(log, info, seq, ctl, consoles, self.folded)),
        )

    def _session_start(self, cmd: P.Command, peer: Peer, t_recv: float) -> Reply:
        a = cmd.args
        try:  # the programme's rule where it has one (the catalogue checked the shape every rule shares)
            P.check_participant(a["participant"], self.sessions.participant_pattern)
        except P.ParticipantCodeError as exc:
            raise P.ProtocolError(P.E_BAD_ARGS, f"args.participant: {exc}") from None
        reason = "replaced" if self.sessions.kind == "facilitated" else "facilitated_session_started"
        previous = self.sessions.end(reason)
        extra = {k: a[k] for k in ("facilitator", "group", "pause_on_lost", "site", "cohort") if k in a}
        extra.setdefault("facilitator", peer.name)
        self.sessions.begin(a["participant"], a["consent"], previous, extra)
        return P.encode_ok(cmd.id, {"session": self.sessions.id, "participant": a["participant"]})

    def _session_resume(self, cmd: P.Command, peer: Peer, t_recv: float) -> ReadJob:
        """The interrupted session is looked up by the log reader; it is resumed here once read."""
        session = cmd.args["session"]

        def resume(found: dict[str, Any]) -> Reply:
            resumed = self.sessions.resume(found, session, peer.name)
            return P.encode_ok(cmd.id, {"session": self.sessions.id, **resumed})

        return ReadJob(cmd.id, lambda log: resume_lookup(log, session), then=resume)

    def _session_end(self, cmd: P.Command, peer: Peer, t_recv: float) -> Reply:
        if self.sessions.kind != "facilitated":
            raise P.ProtocolError(P.E_NO_SESSION, "session.end: no facilitated session is running")
        ended = self.sessions.id
        previous = self.sessions.end(cmd.args.get("reason", "ended_by_facilitator"))
        self.sessions.begin(None, None, previous, {})
        return P.encode_ok(cmd.id, {"session": ended, "standby": self.sessions.id})

    def _annotate(self, cmd: P.Command, peer: Peer, t_recv: float) -> Reply:
        a = cmd.args
        _film, media_t = self.events.stamp()
        at = a.get("media_t", media_t)
        row = self.events.append(
            "annotation.added",
            {"text": a.get("text", ""), "tags": a.get("tags", []), "at": at, "by": peer.name},
        )
        return P.encode_ok(cmd.id, {"ref": row.seq, "session": row.session, "at": at})

    def _answer(self, cmd: P.Command, peer: Peer, t_recv: float) -> Reply:
        if self.sessions.kind != "facilitated":
            raise P.ProtocolError(P.E_NO_SESSION, "answer: no facilitated session is running")
        row = self.events.append("questionnaire.answered", {**cmd.args, "by": peer.name})
        return P.encode_ok(cmd.id, {"seq": row.seq, "session": row.session})

    def _annotation_change(self, cmd: P.Command, peer: Peer, t_recv: float) -> Reply | ReadJob:
        """The annotation is looked up in memory, else by the log reader (the session thread never reads
        the log); the edit or delete is logged once it is found."""
        ref, session = cmd.args["ref"], self.events.session_id
        held = self.events.held(ref)
        if held is not None or ref > self.events.seq:
            return self._change_annotation(cmd, peer, session, held)
        return ReadJob(
            cmd.id,
            lambda log: log.event(session, ref),
            then=lambda target: self._change_annotation(cmd, peer, session, target),
        )

    def _change_annotation(
        self, cmd: P.Command, peer: Peer, session: str, target: dict[str, Any] | None
    ) -> Reply:
        a = cmd.args
        ref = a["ref"]
        if session != self.events.session_id:
            raise P.ProtocolError(
                P.E_NOT_FOUND, f"args.ref: session {session} ended before the edit was made"
            )
        if target is None or target.get("type") != "annotation.added":
            raise P.ProtocolError(P.E_NOT_FOUND, f"args.ref: no annotation with seq {ref} in this session")
        if cmd.cmd == "annotation.edit":
            data = {"ref": ref, "by": peer.name}
            data.update({k: a[k] for k in ("text", "tags") if k in a})
            row = self.events.append("annotation.edited", data)
        else:
            row = self.events.append("annotation.deleted", {"ref": ref, "by": peer.name})
        return P.encode_ok(cmd.id, {"ref": ref, "seq": row.seq, "session": row.session})

    # -- replies built after the publish

    def hello(self, peer: Peer) -> dict[str, Any]:
        server = self.server
        assert server.endpoints is not None
        return {
            "player": server.player_name,
            "protocol": P.PROTOCOL_VERSION,
            "role": peer.role,
            "name": peer.name,
            "heartbeat_s": P.HEARTBEAT_S,
            "dead_after_s": P.DEAD_AFTER_S,
            "endpoints": {"command": server.endpoints.command, "events": server.endpoints.events},
            "session": self.events.session_id,
            "seq": self.events.last_published,
            "mono": time.monotonic(),
            "player_key": fingerprint(server.public_key) if server.public_key else None,
        }

    def controller_status(self) -> dict[str, Any]:
        try:
            st = self.controller.status()
            return dict(st) if isinstance(st, dict) else {}
        except Exception as exc:
            return {"error": f"{type(exc).__name__}: {exc}"}

    def status(self) -> dict[str, Any]:
        server = self.server
        now = time.monotonic()
        return {
            "player": server.player_name,
            "controller": self.controller_status(),
            "session": dict(self.sessions.info),
            "seq": self.events.last_published,
            "consoles": [
                {"name": p.name, "role": p.role, "key": p.key, "silent_s": round(now - p.last_seen, 3)}
                for p in self.peers.announced()
            ],
            "pairing": server.pairing_code is not None,
            "log": str(server.log_path),
            "log_health": self.log_health(),
            "stats": dict(server.stats),
            "mono": time.monotonic(),
            "utc": P.utc_now(),
        }

    def log_health(self) -> dict[str, Any]:
        """The log's health (``docs/protocol.md``, "Log health"): ``state`` ok or why nothing is recorded."""
        state, cause = self.events.health
        return {
            "state": state,
            "recording": state == "ok",
            "cause": cause,
            "since_s": round(time.monotonic() - self.events.health_since, 3),
            "waiting": self.events.unrecorded(),
        }
