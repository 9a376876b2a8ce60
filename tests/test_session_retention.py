"""Retention at start: sessions that ended more than --retention-days ago are purged; the purge is logged."""

from __future__ import annotations

import time

from player.control import Controller
from player.protocol import utc_now
from player.session.log import SessionLog
from player.session.server import SessionServer
from tests.support import event_row


def test_retention_purges_old_sessions_at_start_and_logs_it(sample_library, tmp_path):
    old = utc_now(time.time() - 40 * 86400)
    recent = utc_now(time.time() - 2 * 86400)
    log = SessionLog(tmp_path / "log.sqlite")
    log.append(
        [
            event_row("s-old", 1, "session.started", {"participant": "P-1"}, old),
            event_row("s-old", 2, "session.ended", {"reason": "done"}, old),
            event_row("s-recent", 1, "session.started", {"participant": "P-2"}, recent),
            event_row("s-recent", 2, "session.ended", {"reason": "done"}, recent),
        ]
    )
    log.close()
    server = SessionServer(
        Controller(sample_library),
        "tcp://127.0.0.1:0",
        tmp_path / "keys",
        tmp_path / "log.sqlite",
        "p",
        retention_days=30,
        announce=False,
        pairing=False,
    )
    server.start()
    current = server.session_id
    server.stop()
    log = SessionLog(tmp_path / "log.sqlite")
    try:
        ids = {s["id"] for s in log.sessions()}
        assert "s-old" not in ids and "s-recent" in ids and current in ids
        events = log.session_events(current)
        purged = [e for e in events if e["type"] == "log.purged"]
        assert (
            purged and purged[0]["data"]["sessions"] == ["s-old"] and purged[0]["data"]["by"] == "retention"
        )
        assert (
            events[0]["type"] == "session.started" and events[0]["data"]["previous"]["session"] == "s-recent"
        )
        assert events[-1]["type"] == "session.ended"
    finally:
        log.close()
