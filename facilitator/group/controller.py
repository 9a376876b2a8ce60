"""The facilitator's group: one film on many players, in step.

Each member has its own worker thread that owns the member's command path: it probes the player's clock
(``clock.sync``, a burst at first, then every ``probe_period``), polls its sync figures (``group.status``) and
sends the group's commands. A group command is decided once, for one shared instant ``G`` on the facilitator's
clock (:func:`~facilitator.group.schedule.lead_time` ahead), and each worker converts ``G`` to its player's
clock
with the freshest estimate just before sending, so one slow player never delays the others' commands.

A group is whoever is there: commands go to the *present* members (answering, clock measured); the absent
ones are listed with the reason and caught up by their own worker when they answer again
(:mod:`facilitator.group.member`). A command succeeds when every present member accepted it.

``GroupController.state()`` is the console's view (docs/group.md lists the fields): per player, transport
state, sync error, clock offset ± uncertainty, round trip, connection health and welfare.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from facilitator.group.member import GroupError, GroupMember
from facilitator.group.schedule import AckedWithin, GroupTimeline, lead_time

__all__ = ["GroupController", "GroupError", "GroupMember", "JsonlRecorder"]

log = logging.getLogger(__name__)

Recorder = Callable[[str, dict], None]


class JsonlRecorder:
    """Appends the group's own record (commands, members, clock figures) to a JSON-lines file."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._f = self.path.open("a", encoding="utf-8")

    def __call__(self, kind: str, data: dict) -> None:
        line = json.dumps(
            {"mono": time.monotonic(), "utc": time.time(), "type": kind, "data": data}, default=str
        )
        with self._lock:
            if not self._f.closed:
                self._f.write(line + "\n")
                self._f.flush()

    def close(self) -> None:
        with self._lock:
            self._f.close()


class GroupController:
    """A named group of players playing one film together (see module doc)."""

    def __init__(
        self,
        name: str = "group",
        *,
        probe_period: float = 0.25,
        status_period: float = 1.0,
        record: Recorder | None = None,
        collect_samples: bool = False,
        preroll: float = 0.25,
        refresh_period: float = 2.0,
    ) -> None:
        self.name = name
        self.refresh_period = refresh_period
        self.probe_period = probe_period
        self.status_period = status_period
        self.record = record or (lambda kind, data: None)
        self.collect_samples = collect_samples
        self.preroll = preroll
        self.members: dict[str, GroupMember] = {}
        self.timeline = GroupTimeline(anchor=time.monotonic(), media_t=0.0, playing=False)
        self.film: str | None = None
        self.auto_catch_up = True  # members not with the group are caught up (off: a bench's reference)
        self.assigned: dict[str, str] = {}  # headset -> participant code (start_sessions), until end_sessions
        self.consent: dict[str, Any] = {}
        self.facilitator: str | None = None
        self._lock = threading.RLock()
        self.acked = AckedWithin()  # what the last commands took to reach every headset (self.lead)

    # -- membership ------------------------------------------------------------------------------------------

    def add(self, name: str, client: Any, subscribe: bool = True) -> GroupMember:
        """Add a player (a paired :class:`facilitator.client.PlayerClient`); starts its clock probes.

        ``subscribe``: start the client's event stream (for transport state and welfare) unless it runs
        already
        (a console that shows the player's own page has subscribed it)."""
        if subscribe and getattr(client, "_thread", None) is None:
            client.subscribe(since="now", wait=0)
        with self._lock:
            if name in self.members:
                raise GroupError(f"{name}: already in group {self.name}")
            m = GroupMember(name, client, self, self.probe_period, self.status_period, self.collect_samples)
            self.members[name] = m
        m.start()
        self.record(
            "group.member_added", {"group": self.name, "player": name, "endpoint": m.view()["endpoint"]}
        )
        return m

    def remove(self, name: str, leave: bool = True) -> None:
        with self._lock:
            m = self.members.pop(name, None)
        if m is None:
            raise GroupError(f"{name}: not in group {self.name}")
        if leave:
            try:
                m.submit(lambda: m.client.try_request("group.leave", {}, timeout=1.0)).result(3)
            except Exception as e:
                log.info("%s: group.leave failed: %s", name, e)
        m.stop()
        self.record("group.member_removed", {"group": self.name, "player": name})

    def wait_ready(self, timeout: float = 10.0, samples: int = 5, names: Any = None) -> bool:
        """Wait until every member (or those ``names``) is present with at least ``samples`` clock samples;
        False on timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ms = [m for m in list(self.members.values()) if names is None or m.name in names]
            if all(m.present and len(m.estimator.samples) >= samples for m in ms):
                return True
            time.sleep(0.02)
        return False

    def present(self) -> list[GroupMember]:
        with self._lock:
            return [m for m in self.members.values() if m.present]

    def absent(self) -> dict[str, str]:
        """{name: why} for the members that group commands skip now."""
        with self._lock:
            members = list(self.members.values())
        return {m.name: m.presence()[1] or "absent" for m in members if not m.present}

    def close(self) -> None:
        for name in list(self.members):
            m = self.members.pop(name)
            m.stop()

    # -- commands
    # ----------------------------------------------------------------------------------------------

    def _each(self, fn: Callable[[GroupMember], Any], timeout: float) -> dict[str, Any]:
        """Run ``fn(member)`` on every present member's worker at once; {name: result or {"error": ...}};
        an absent member gets {"absent": why} and nothing is sent to it. Waits at most ``timeout`` in all:
        a member that stalls meanwhile is answered {"error": ...} and never holds the others."""
        with self._lock:
            members = list(self.members.values())
        out: dict[str, Any] = {}
        futures = {}
        for m in members:
            if m.present:
                futures[m.name] = m.submit(lambda m=m: fn(m))
            else:
                out[m.name] = {"absent": m.presence()[1] or "absent"}
        deadline = time.monotonic() + timeout
        for name, fut in futures.items():
            try:
                out[name] = fut.result(max(0.0, deadline - time.monotonic()))
            except TimeoutError:
                out[name] = {"error": f"no answer within {timeout:.1f} s (it catches up when it answers)"}
            except Exception as e:
                out[name] = {"error": f"{type(e).__name__}: {e}"}
        return out

    def lead(self) -> float:
        """How far ahead a group command is scheduled: what the headsets' round trips need (``lead_time``),
        or what the last commands took to be acknowledged by every headset, whichever is longer."""
        return max(lead_time([m.estimator.estimate() for m in self.present()]), self.acked.lead())

    def load(self, film: str, timeout: float = 15.0) -> dict[str, Any]:
        """Load ``film`` on every player (paused at the start); the group timeline restarts at 0."""
        acks = self._each(
            lambda m: m.client.request("load", {"film": film}, timeout=timeout, retries=0), timeout + 1
        )
        with self._lock:
            self.film = film
            tl = self.timeline
            self.timeline = GroupTimeline(time.monotonic(), 0.0, False, tl.rate, tl.epoch + 1)
        self.record("group.load", {"group": self.name, "film": film, "acks": acks})
        self._raise_if_failed("load", acks)
        return {"film": film, "acks": acks}

    def start_sessions(
        self, participants: dict[str, str], consent: dict[str, Any], facilitator: str | None = None
    ) -> dict[str, Any]:
        """Start a facilitated session on each player for its participant (pseudonymous code), all tagged
        with this group's name, so each player's log and the report know the group and the participant."""
        unknown = sorted(set(participants) - set(self.members))
        if unknown:
            raise GroupError(f"start_sessions: not in group {self.name}: {', '.join(unknown)}")
        with self._lock:  # an absent headset's session starts when it answers (member.catch_up)
            self.assigned.update(participants)
            self.consent = dict(consent)
            self.facilitator = facilitator

        def start(m: GroupMember) -> Any:
            if m.name not in participants:
                return {"skipped": True}
            args = {"participant": participants[m.name], "consent": consent, "group": self.name}
            if facilitator:
                args["facilitator"] = facilitator
            return m.client.request("session.start", args, timeout=2.0)

        acks = self._each(start, 10.0)
        record = {"group": self.name, "participants": participants, "acks": acks}
        self.record("group.sessions_started", record)
        self._raise_if_failed("session.start", acks)
        return acks

    def end_sessions(self, reason: str = "group ended") -> dict[str, Any]:
        with self._lock:
            self.assigned.clear()
        acks = self._each(lambda m: m.client.request("session.end", {"reason": reason}, timeout=2.0), 10.0)
        self.record("group.sessions_ended", {"group": self.name, "reason": reason, "acks": acks})
        return acks

    def play(self) -> dict[str, Any]:
        return self._schedule("play", {}, lambda tl, g: tl.play(g))

    def pause(self) -> dict[str, Any]:
        return self._schedule("pause", {}, lambda tl, g: tl.pause(g))

    def seek(self, t: float) -> dict[str, Any]:
        if not isinstance(t, int | float) or t < 0:
            raise GroupError(f"seek: t must be media seconds >= 0, got {t!r}")
        return self._schedule("seek", {"t": float(t)}, lambda tl, g: tl.seek(g, float(t)), extra=0.1)

    def chapter(self, chapter_id: str) -> dict[str, Any]:
        """Jump to a chapter: each player looks up its start (they share the manifest), the first answer
        tells the group's timeline."""
        return self._schedule("chapter", {"id": chapter_id}, lambda tl, g: tl.seek(g, -1.0), extra=0.1)

    def rejoin(self, name: str) -> dict[str, Any]:
        """Bring one player (late, reconnected, back from a welfare stop) to where the group is."""
        m = self.members.get(name)
        if m is None:
            raise GroupError(f"{name}: not in group {self.name}")
        tl, cmd, args = self.rejoin_timeline(m)
        result = m.submit(lambda: self._send(m, tl, cmd, args)).result(tl.anchor - time.monotonic() + 5)
        self.record("group.rejoin", {"group": self.name, "player": name, "at": tl.anchor, "result": result})
        return result

    def rejoin_timeline(self, m: GroupMember) -> tuple[GroupTimeline, str | None, dict]:
        """Where the group will be a lead (plus the player's pre-roll) from now, for one player to join."""
        lead = lead_time([m.estimator.estimate()]) + self.preroll
        with self._lock:
            g = time.monotonic() + lead
            cur = self.timeline
            return GroupTimeline(g, cur.media_at(g), cur.playing, cur.rate, cur.epoch), None, {}

    def welfare(self, name: str, action: str, via: Any = None) -> dict[str, Any]:
        """One viewer's welfare action, at once (never scheduled): only that headset fades or resumes.

        After ``resume`` the player rejoins the group where the group is by then (its follower sees the
        gap). ``via``: another client to the same player to send it through (the console's urgent
        connection, so a stop never queues behind the member's clock probes)."""
        m = self.members.get(name)
        if m is None:
            raise GroupError(f"{name}: not in group {self.name}")
        m.welfare_hold = None if action == "resume" else action  # re-applied if the headset restarts
        result = (via or m.client).request("welfare", {"action": action}, timeout=1.0)
        self.record("group.welfare", {"group": self.name, "player": name, "action": action})
        if action == "resume" and self.timeline.playing and m.present:
            self.rejoin(name)
        return result

    def _send(self, m: GroupMember, tl: GroupTimeline, cmd: str | None, args: dict) -> dict[str, Any]:
        est = m.estimator.estimate(tl.anchor)  # the freshest estimate, just before sending
        if est is None:
            raise GroupError(f"{m.name}: no clock estimate yet (no clock.sync answer)")
        offset = est.offset
        payload = {"timeline": tl.for_player(offset, self.name), "args": args}
        if cmd is not None:
            payload["cmd"] = cmd
        sent = time.monotonic()
        result = m.client.request("group.sync", payload, timeout=2.0, retries=2)
        m.last_command = {
            "cmd": cmd or "sync",
            "epoch": tl.epoch,
            "at_player": payload["timeline"]["at"],
            "offset_ms": round(offset * 1000, 3),
            "uncertainty_ms": round(est.uncertainty * 1000, 3),
            "ack_ms": round((time.monotonic() - sent) * 1000, 3),
            "arrived_early_ms": round((tl.anchor - time.monotonic()) * 1000, 3),
            "accepted": result.get("accepted"),
        }
        return result

    def _schedule(
        self,
        cmd: str,
        args: dict,
        change: Callable[[GroupTimeline, float], GroupTimeline],
        extra: float = 0.0,
    ) -> dict[str, Any]:
        if not self.present():
            absent = "; ".join(f"{k}: {v}" for k, v in sorted(self.absent().items())) or "no players"
            raise GroupError(f"{cmd}: no headset of group {self.name} is there ({absent})")
        lead = self.lead() + extra
        with self._lock:
            g = time.monotonic() + lead
            tl = change(self.timeline, g)
            self.timeline = tl
        acks = self._each(lambda m: self._send(m, tl, cmd, args), lead + 2.0)
        self._observe_acks(cmd, tl.epoch, lead)
        if tl.media_t < 0:  # a chapter: the players said where it starts
            starts = [a.get("media_t") for a in acks.values() if isinstance(a, dict) and "media_t" in a]
            if starts:
                with self._lock:
                    if self.timeline is tl:
                        self.timeline = GroupTimeline(
                            tl.anchor, float(starts[0]), tl.playing, tl.rate, tl.epoch
                        )
        record = {
            "group": self.name, "cmd": cmd, "args": args, "at": g, "lead_s": round(lead, 4),
            "epoch": tl.epoch, "media_t": self.timeline.media_t, "playing": tl.playing, "acks": acks,
        }  # fmt: skip
        self.record("group.command", record)
        if not any(isinstance(a, dict) and a.get("accepted") for a in acks.values()):
            self._raise_if_failed(cmd, acks)  # the group moved if one headset did: the others catch up
        return record

    def _observe_acks(self, cmd: str, epoch: int, lead: float) -> None:
        """Teach ``self.acked`` how long this command took, from scheduling it (``lead`` before its instant)
        to the slowest headset's acknowledgement (each member's ``last_command`` for this epoch)."""
        taken = []
        for m in self.members.values():
            c = m.last_command
            if c and c.get("cmd") == cmd and c.get("epoch") == epoch:
                taken.append(lead - c["arrived_early_ms"] / 1000)
        if taken:
            self.acked.observe(max(taken))

    @staticmethod
    def _raise_if_failed(cmd: str, acks: dict[str, Any]) -> None:
        failed = {k: v["error"] for k, v in acks.items() if isinstance(v, dict) and "error" in v}
        if failed:
            there = sum(1 for v in acks.values() if not (isinstance(v, dict) and "absent" in v))
            detail = "; ".join(f"{k}: {v}" for k, v in sorted(failed.items()))
            raise GroupError(f"{cmd}: {len(failed)} of {there} headsets there failed ({detail})")

    # -- the console's view ----------------------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        """Everything the console shows for the group (see docs/group.md for the fields)."""
        now = time.monotonic()
        with self._lock:
            tl = self.timeline
            members = list(self.members.values())
        players = [m.view() for m in members]
        errors = [
            p["sync"]["error_ms"] for p in players if p["present"] and p["sync"].get("error_ms") is not None
        ]
        return {
            "group": self.name,
            "film": self.film,
            "timeline": {
                "playing": tl.playing,
                "media_t": round(tl.media_at(now), 4),
                "rate": tl.rate,
                "epoch": tl.epoch,
                "next_at_in_s": round(tl.anchor - now, 4) if tl.anchor > now else None,
            },
            "lead_s": round(self.lead(), 4) if members else None,
            "present": sum(1 for p in players if p["present"]),
            "absent": {p["name"]: p["absent_reason"] for p in players if not p["present"]},
            "sync": {
                "spread_ms": round(max(errors) - min(errors), 3) if len(errors) >= 2 else None,
                "worst_p99_ms": max((p["sync"].get("abs_p99_ms") or 0.0) for p in players)
                if players
                else None,
            },
            "players": players,
        }

    def record_clock_figures(self) -> None:
        """Write each member's clock estimate to the group record (call periodically, e.g. every 10 s)."""
        for m in list(self.members.values()):
            est = m.estimator.estimate()
            if est is not None:
                self.record("group.clock", {"group": self.name, "player": m.name, **est.as_dict()})
