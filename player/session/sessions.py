"""Session lifecycle: the standby or facilitated session events belong to; recovery; retention purges.

There is always exactly one current session. ``session.started`` is seq 1 of its session and names the
previous one (``previous``), so a subscriber can follow the chain; ``session.ended`` is its last event.
"""

from __future__ import annotations

import secrets
import time
from datetime import UTC, datetime
from typing import Any

from player import protocol as P

from .log import SessionLog
from .pipeline import EventPipeline


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
        """Log ``session.ended``; returns the ``previous`` reference for the next session."""
        self.events.flush_poses()
        self.events.append("session.ended", {"reason": reason, **({"detail": detail} if detail else {})})
        return {"session": self.id, "seq": self.events.seq}

    def purge(self, log: SessionLog, older_than_days: float, by: str) -> dict[str, Any]:
        """Delete sessions that ended more than ``older_than_days`` ago (never the current one); logged."""
        self.events.commit_and_publish()  # purge sees every ended session
        cutoff = P.utc_now(time.time() - older_than_days * 86400.0)
        ids = log.purge_before(cutoff, keep=[self.id])
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
        return {"purged": ids, "count": len(ids), "ended_before": cutoff}
