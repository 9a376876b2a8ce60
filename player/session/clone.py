"""Clone-pattern replies: the state snapshot and the catch-up reads of the log (events, poses).

Built when the command is handled (inside the session thread's per-turn budget), from what is published:
the current session's events after the last published ``seq`` are left out, so a reply never runs ahead of
what subscribers saw. Large reads are paged (`EVENTS_PAGE`, `POSES_PAGE`; ``more: true`` asks for the
next page) and the snapshot's fold is kept between calls, so no reply costs more than a page of work.
"""

from __future__ import annotations

import json
import time
from typing import Any

from player import protocol as P

from .log import SessionLog
from .peers import Peer

EVENTS_PAGE = 500  # events per reply at most (a client asking for more gets more: true)
POSES_PAGE = 2000  # pose samples per reply at most


class Folded:
    """The current session's state folded from its logged events, kept between snapshots: each snapshot
    folds only the events published since the last one."""

    def __init__(self) -> None:
        self.session = ""
        self.seq = 0
        self.state: dict[str, Any] = P.initial_state()

    def at(self, log: SessionLog, session: str, seq: int) -> dict[str, Any]:
        if session != self.session or seq < self.seq:
            self.session, self.seq, self.state = session, 0, P.initial_state()
        if seq > self.seq:
            for ev in log.session_events(session, self.seq, seq):
                P.apply_event(self.state, ev)
            self.seq = seq
        return json.loads(json.dumps(self.state))  # the caller adds to its copy


def snapshot(
    log: SessionLog,
    session_info: dict[str, Any],
    seq: int,
    controller_status: dict[str, Any],
    consoles: list[Peer],
    folded: Folded,
) -> dict[str, Any]:
    """The current session's state, folded from its logged events, at ``seq``."""
    state = folded.at(log, session_info["id"], seq)
    state["controller"] = controller_status
    state["consoles"] = [{"name": p.name, "role": p.role, "key": p.key} for p in consoles]
    return {
        "session": dict(session_info),
        "seq": seq,
        "state": state,
        "mono": time.monotonic(),
        "utc": P.utc_now(),
    }


def events_reply(log: SessionLog, cmd: P.Command, session: str, seq: int) -> bytes:
    """The ``events`` reply, spliced from the logged JSON (the exact bytes that were published)."""
    a = cmd.args
    limit = min(a.get("limit", EVENTS_PAGE), EVENTS_PAGE)
    texts, more = log.events_after(a.get("session"), a.get("after", 0), limit, (session, seq))
    return (
        '{"v":1,"id":'
        + json.dumps(cmd.id)
        + ',"ok":true,"result":{"events":['
        + ",".join(texts)
        + '],"more":'
        + ("true" if more else "false")
        + ',"session":'
        + json.dumps(session)
        + ',"seq":'
        + str(seq)
        + "}}"
    ).encode("utf-8")


def poses_reply(log: SessionLog, cmd: P.Command) -> bytes:
    """The ``poses`` reply: logged samples of a session after ``pseq`` (NaN media times as null), a page
    of at most `POSES_PAGE`."""
    a = cmd.args
    limit = min(a.get("limit", POSES_PAGE), POSES_PAGE)
    samples, first, more = log.poses_after(a["session"], a.get("after", 0), limit)
    rounded = [[round(v, 6) if v == v else None for v in smp] for smp in samples]
    return P.encode_ok(
        cmd.id, {"session": a["session"], "first_pseq": first, "samples": rounded, "more": more}
    )
