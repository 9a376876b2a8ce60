"""Clone-pattern replies: the state snapshot and the catch-up reads of the log (events, poses).

Built after the turn's events were published, so the ``seq`` they carry matches what subscribers saw.
"""

from __future__ import annotations

import json
import time
from typing import Any

from player import protocol as P

from .log import SessionLog
from .peers import Peer


def snapshot(
    log: SessionLog,
    session_info: dict[str, Any],
    seq: int,
    controller_status: dict[str, Any],
    consoles: list[Peer],
) -> dict[str, Any]:
    """The current session's state, folded from its logged events, at ``seq``."""
    state = P.initial_state()
    for ev in log.session_events(session_info["id"]):
        P.apply_event(state, ev)
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
    texts, more = log.events_after(a.get("session"), a.get("after", 0), a.get("limit", 500))
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
    """The ``poses`` reply: logged samples of a session after ``pseq`` (NaN media times as null)."""
    a = cmd.args
    samples, first, more = log.poses_after(a["session"], a.get("after", 0), a.get("limit", 5000))
    rounded = [[round(v, 6) if v == v else None for v in smp] for smp in samples]
    return P.encode_ok(
        cmd.id, {"session": a["session"], "first_pseq": first, "samples": rounded, "more": more}
    )
